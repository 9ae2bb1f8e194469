"""Recovery of a plasticity learning rate from simulated learning curves.

Three data sets, each 32 simulated subjects of the reduced Law & Gold 2009 learner
(:func:`~multiscale.population.run_session`, hazard readout, 200 trials at 20 %
coherence, blocks of 10 trials), generated with learning rates
$\\eta \\in \\{5, 10, 20\\} \\times 10^{-5}$. Each is fitted from a start 2.5 times off
(alternately too small and too large) with 32 other simulated subjects
(:func:`~multiscale.fit.fit_learning_rule`: Adam on the pathwise gradient, then a
golden-section search of the objective). Criterion of our own (no published number):
the fitted $\\eta$ within 30 % of the generating one.
"""

import functools

import jax
import jax.numpy as jnp
import jax.random as jr

from ..behavior import HazardReadout
from ..fit import fit_learning_rule, learning_curve
from ..population import Learner, reversal_task, run_session
from ..synapse import RewardModulatedHebb
from ._registry import target, within

TRUE_ETAS = (5e-5, 1e-4, 2e-4)
N_TRIALS, BLOCK, N_SUBJECTS = 200, 10, 32


def _learner(eta) -> Learner:
    return Learner(rule=RewardModulatedHebb(eta=jnp.asarray(eta, jnp.result_type(float))))


@functools.cache
def _recoveries():
    task = reversal_task(N_TRIALS, key=jr.key(1), coherence=0.2)
    out = []
    for i, eta in enumerate(TRUE_ETAS):
        keys = jr.split(jr.key(100 + i), N_SUBJECTS)
        res = jax.jit(
            jax.vmap(
                lambda k, e=eta: run_session(_learner(e), task, key=k, readout=HazardReadout())
            )
        )(keys)
        data = learning_curve(res.choice, res.reward, BLOCK)
        start = eta * (2.5 if i % 2 else 0.4)
        fit = fit_learning_rule(
            data,
            task,
            key=jr.key(200 + i),
            learner=_learner(start),
            n_subjects=N_SUBJECTS,
            n_subjects_eval=N_SUBJECTS,
            steps=40,
            learning_rate=0.1,
            patience=10,
        )
        out.append((eta, start, fit.parameters["eta"], fit.adam_parameters["eta"], fit.seconds))
    return out


@target(
    name="learning_rule_recovery",
    scale="fit",
    source=(
        "Law & Gold 2009 Nat Neurosci 12:655 (the learner); criterion of our own: "
        "learning rate recovered within 30 % from a learning curve of 32 subjects"
    ),
    slow=True,
)
def _learning_rule_recovery():
    return [
        within(f"eta fitted (true {eta:.0e}, start {start:.1e})", eta, fitted, rtol=0.3)
        for eta, start, fitted, _, _ in _recoveries()
    ]
