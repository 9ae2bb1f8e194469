"""Validation targets: the circuit's trial-level likelihood on synthetic trials.

~1000 trials (three coherences x 333) are drawn from the circuit's own generative model
(:func:`~multiscale.fit.sample_circuit_trials`: Wong & Wang's appendix circuit, the hazard
readout at 15 Hz, non-decision time 0.35 s with SD 54 ms (``ndt_sd`` 50 ms and the
20 ms floor), lapse 1e-3) and fitted back
with :func:`~multiscale.fit.fit_circuit_trials`. Sizes are set for about a minute per
target on two CPU cores (trials of 1.1 s of stimulus, 256 fitting paths per condition,
2048 fresh paths for the reported NLL), below the >= 2000 fitting paths recommended for
real data; the roughness of the loss at 256 paths is what the tolerances absorb.

1. Recovery of the stimulus gain $J_{A,\\mathrm{ext}}$ and the non-decision time, the
   threshold fixed. With ~1000 trials the threshold and the non-decision time trade off
   along a flat valley (measured with a generating threshold of 17 Hz: 18.5 Hz with
   $t_\\mathrm{nd}$ 20 ms shorter has its NLL within 1 nat on 4096 fresh paths), so
   recovering all three is not a test the data can pass. Measured here (key 0):
   $J_{A,\\mathrm{ext}}$ 4.93e-4 (-5.2 %), $t_\\mathrm{nd}$ 0.324 s (-26 ms); fresh-path
   NLL -930.9 against -931.5 for the generating parameters on the same 2048 paths. With
   data keys 100-102 and an NDT SD of 50 ms the errors were -6, -2, -2 % and -25, -11,
   -9 ms: low every time, which points to a bias of fitting on 256 paths (the log of a
   path average penalises parameters whose density estimate is noisier) rather than to
   noise alone; not measured at >= 2000 paths, which this budget does not allow.
2. The circuit (three parameters) against Palmer's proportional-rate DDM (three
   parameters, $k$, $a$, $t_0$; start point 1/2, the same contaminant, and a uniform
   non-decision-time spread of the same SD as the circuit's), both fitted to the same
   trials by maximum likelihood: the generating model should win on AIC. Measured:
   ΔAIC = AIC(DDM) - AIC(circuit) = +329 (NLL -929.3 on fresh paths against -764.8; the
   DDM needs $t_0$ = 0.54 s for the narrow, little-skewed RT distributions of the
   attractor and still misses the 6.4 % mean RT by 0.11 s; freeing its $s_v$ and
   $s_t$ gains 0.7 nats).
"""

import functools

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np

from ..behavior import (
    NDT_SD_MIN,
    CircuitBehavior,
    HazardReadout,
    ProportionalRateDDM,
    Trials,
    ddm_log_likelihood,
    sample_circuit_trials,
    trial_log_likelihood,
)
from ..circuit import TrialProtocol, WongWang2006
from ..fit import aic, fit, fit_circuit_trials, newton
from ._registry import holds, target, within

_SOURCE = (
    "Wong & Wang 2006 J Neurosci 26:1314 (circuit; RT = DT + non-decision time); "
    "Palmer, Huk & Shadlen 2005 J Vis 5:376 (proportional-rate DDM); parameter recovery "
    "on the model's own synthetic trials (no published number)"
)
_COHERENCE = (0.064, 0.256, 0.512)
_TRUTH = dict(J_A_ext=5.2e-4, threshold=15.0, non_decision_time=0.35)


def _model(J_A_ext, threshold, non_decision_time) -> CircuitBehavior:
    f = lambda x: jnp.asarray(x, jnp.float32)
    return CircuitBehavior(
        circuit=WongWang2006(J_A_ext=f(J_A_ext)),
        readout=HazardReadout(threshold=f(threshold), non_decision_time=f(non_decision_time)),
        ndt_sd=0.05,
        protocol=TrialProtocol(dt=1e-3, t_on=0.1, t1=1.2),
        rt_max=1.6,
    )


@functools.lru_cache(maxsize=1)
def _fresh():
    """Fresh noise paths shared by the reported NLLs (2048 per condition)."""
    return jr.split(jr.key(999), 2048)


@functools.lru_cache(maxsize=1)
def _data():
    return sample_circuit_trials(_model(**_TRUTH), jnp.asarray(_COHERENCE), 333, key=jr.key(100))


def _spec(start: CircuitBehavior, where):
    false = jax.tree.map(lambda _: False, start)
    return eqx.tree_at(where, false, tuple(True for _ in where(start)))


def _fit(start: CircuitBehavior, where, key, n_starts):
    return fit_circuit_trials(
        _data(), key=key, model=start, filter_spec=_spec(start, where), n_paths=256,
        paths_eval=_fresh(), steps=10, lbfgs_steps=10, n_starts=n_starts,
    )  # fmt: skip


def _truth_nll() -> float:
    """The generating parameters' NLL on the fits' fresh paths."""
    nll = eqx.filter_jit(lambda m, t, k: -jnp.sum(trial_log_likelihood(m, t, k, chunk=256)))
    return float(nll(_model(**_TRUTH), _data(), _fresh()))


@target(name="circuit_trial_likelihood_recovery", scale="fit", source=_SOURCE, slow=True)
def _recovery():
    start = _model(J_A_ext=4.6e-4, threshold=15.0, non_decision_time=0.30)
    where = lambda m: (m.circuit.J_A_ext, m.readout.non_decision_time)
    r = _fit(start, where, jr.key(0), n_starts=2)
    nll_fit, nll_truth = r.nll, _truth_nll()  # on the same fresh paths
    return [
        within("J_A_ext (nA/Hz)", _TRUTH["J_A_ext"], r.parameters["J_A_ext"], rtol=0.1),
        within(
            "non-decision time (s)",
            _TRUTH["non_decision_time"],
            r.parameters["non_decision_time"],
            atol=0.04,
        ),
        holds(
            "fresh-path NLL: fit vs generating parameters (nats)",
            "fit <= truth + 2",
            f"{nll_fit:.1f} vs {nll_truth:.1f}",
            nll_fit <= nll_truth + 2.0,
        ),
    ]


def _fit_ddm(trials):
    sd = float(np.hypot(0.05, NDT_SD_MIN))  # the circuit's NDT SD
    model = ProportionalRateDDM(k=10.0, a=1.5, t0=0.3, st0=float(np.sqrt(12) * sd),
                                p_outlier=1e-3, rt_max=1.6)  # fmt: skip
    spec = eqx.tree_at(
        lambda m: (m.k, m.a, m.t0), jax.tree.map(lambda _: False, model), (True, True, True)
    )
    coherence = np.asarray(trials.coherence)[np.asarray(trials.condition)]
    data = Trials(rt=trials.rt, choice=np.asarray(trials.correct, int), condition=coherence)
    loss = lambda m, d: -ddm_log_likelihood(m, d)
    fitted, _ = fit(model, loss, data, optimizer=newton(), steps=40, key=jr.key(0),
                    filter_spec=spec, patience=5, tol=1e-6, chunk=5, progress=False)  # fmt: skip
    return fitted, float(loss(fitted, data))


@target(name="circuit_trial_likelihood_vs_ddm", scale="fit", source=_SOURCE, slow=True)
def _versus_ddm():
    start = _model(J_A_ext=4.6e-4, threshold=14.0, non_decision_time=0.30)
    where = lambda m: (m.circuit.J_A_ext, m.readout.threshold, m.readout.non_decision_time)
    # One start: the comparison needs the maximum, not its precise location.
    r = _fit(start, where, jr.key(1), n_starts=1)
    _, nll_ddm = _fit_ddm(_data())
    delta = float(aic(nll_ddm, 3)) - r.aic
    fitted = ", ".join(f"{k} {v:.4g}" for k, v in r.parameters.items())
    return [
        holds(
            "AIC: DDM - circuit (circuit NLL on fresh paths)",
            "> 0 (the generating model preferred)",
            f"{delta:.1f} (NLL {r.nll:.1f} vs {nll_ddm:.1f}; circuit {fitted})",
            delta > 0,
        )
    ]
