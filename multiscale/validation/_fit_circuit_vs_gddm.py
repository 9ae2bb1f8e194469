r"""Validation target: the circuit against a generalised DDM on monkey N's trials.

Data: the 3533 trials of monkey N of Roitman & Shadlen (2002) carried in the package
(:func:`~multiscale.data.roitman_2002_trials`; 0.1 s < RT < 1.65 s, coded by accuracy:
choice = correct, condition = unsigned coherence). Both models are symmetric in the two
directions and fitted by maximum likelihood to the same trials; they are compared by AIC
(and BIC, n = 3533).

1. The diffusion model (:class:`~multiscale.behavior.GDDM`, 7 parameters): drift
   $k c$ proportional to coherence, leak $\lambda$, an exponentially collapsing bound
   $B e^{-t/\tau}$, non-decision time uniform on $t_0 \pm s_t/2$, contaminant weight
   $p_o$ (uniform RT on [0, 2.5] s); start at 1/2, $\sigma = 1$. Fokker-Planck
   likelihood on a 100-interval grid with 5 ms steps (PyDDM's default); 150 L-BFGS steps
   from one start.
2. The circuit (:class:`~multiscale.behavior.CircuitBehavior`: Wong & Wang's 2006
   appendix circuit, hazard readout; 8 parameters): stimulus gain $J_{A,\mathrm{ext}}$,
   noise amplitude $\sigma_\mathrm{noise}$, background current $I_0$, self-excitation
   $J_{N11}$, readout threshold $\theta$, non-decision time mean $t_\mathrm{nd}$ and SD,
   lapse (uniform RT on [0, 2.5] s); trials of 1.7 s of stimulus (every RT of the data
   is below 1.65 s); :func:`~multiscale.fit.fit_circuit_trials` with 1024 fitting paths
   per coherence (the same paths in both calls), 30 Adam + 8 L-BFGS steps from two starts,
   then 10 Adam (learning rate 0.02) + 20 L-BFGS steps from the first call's optimum;
   NLL on 5000 fresh paths.

Measured (2026-12-07, two CPU cores shared with other jobs at load 18-28):

- GDDM: NLL 340.1 nats, AIC 694.2, BIC 737.4; $k$ = 23.2 per unit coherence, leak
  28.5 /s (an integration time constant of 35 ms), $B$ = 0.444 collapsing with
  $\tau$ = 1.39 s, $t_0$ = 0.353 s, $s_t$ = 0.363 s (SD 0.105 s), $p_o$ ~ 0; 150
  L-BFGS steps, the step cap (the optimum check did not pass, so the GDDM's NLL is an
  upper bound).
- Circuit, after the first call: NLL 751.7 on fresh paths (760.8 on the fitting paths),
  AIC 1519.4, BIC 1568.7; $J_{A,\mathrm{ext}}$ 6.59e-4 nA/Hz, $\sigma_\mathrm{noise}$
  0.0321 nA, $I_0$ 0.3290 nA, $J_{N11}$ 0.2296 nA, $\theta$ 13.7 Hz, $t_\mathrm{nd}$
  0.216 s, its SD 0.107 s, lapse 0.0143; from 3672 nats at the start, and still
  gaining ~10 nats per L-BFGS step when the step budget ended. After the second
  call (10 Adam steps that found no lower point, then 20 L-BFGS steps, the cap): NLL
  732.7 on fresh paths (737.9 on the fitting paths), AIC 1481.4, BIC 1530.8;
  $J_{A,\mathrm{ext}}$ 6.49e-4 nA/Hz, $\sigma_\mathrm{noise}$ 0.0335 nA, $I_0$ 0.3301
  nA, $J_{N11}$ 0.2260 nA, $\theta$ 13.4 Hz, $t_\mathrm{nd}$ 0.224 s, its SD 0.108 s,
  lapse 0.0142.

So the circuit loses by about 390 nats (ΔAIC = AIC(GDDM) - AIC(circuit) = -787): a
known gap. The best-fitting DDM is strongly leaky with a slowly collapsing bound and a
wide non-decision time; the circuit matched the non-decision spread (SD 0.108 s against
0.105 s) but not the shapes of the RT distributions within the optimiser budget that
two loaded cores allowed. Not tried yet: more paths (>= 2000), many more optimiser
steps, freeing $J_{N12}$ and the readout temperature, and an urgency signal in the
circuit.

References:
    Roitman JD, Shadlen MN (2002) Response of neurons in the lateral intraparietal area
    during a combined visual discrimination reaction time task. J Neurosci 22:9475-9489.
    Wong KF, Wang X-J (2006) A recurrent network mechanism of time integration in
    perceptual decisions. J Neurosci 26:1314-1328.
    Hawkins GE, Forstmann BU, Wagenmakers E-J, Ratcliff R, Brown SD (2015) Revisiting the
    evidence for collapsing boundaries and urgency signals in perceptual decision-making.
    J Neurosci 35:2476-2484.
    Shinn M, Lam NH, Murray JD (2020) A flexible framework for simulating and fitting
    generalized drift-diffusion models. eLife 9:e56938.
"""

import functools

import equinox as eqx
import jax.numpy as jnp
import jax.random as jr
import numpy as np

from ..behavior import (
    GDDM,
    CircuitBehavior,
    CircuitTrials,
    ExponentialCollapse,
    FokkerPlanck,
    Trials,
)
from ..circuit import TrialProtocol
from ..data import roitman_2002_trials
from ..fit import (
    Free,
    aic,
    bic,
    circuit_free_parameters,
    default_circuit_behavior,
    fit,
    fit_circuit_trials,
    lbfgs,
)
from ._registry import holds, target

_SOURCE = (
    "Roitman & Shadlen 2002 J Neurosci 22:9475 (monkey N's trials, PyDDM's copy); "
    "leaky collapsing-bound DDM as in Hawkins et al. 2015 J Neurosci 35:2476 and Shinn "
    "et al. 2020 eLife 9:e56938; circuit of Wong & Wang 2006 J Neurosci 26:1314"
)


_GAP = (
    "monkey N, 3533 trials: the circuit (8 parameters, 1024 paths, 68 optimiser steps in "
    "two calls) reaches NLL 732.7 on 5000 fresh paths against the leaky collapsing-bound "
    "GDDM's 340.1 (7 parameters): AIC 1481.4 against 694.2 (ΔAIC -787); the circuit was "
    "still improving when its step budget ended"
)


def _f(x):
    return jnp.asarray(x, jnp.result_type(float))


@functools.lru_cache(maxsize=1)
def _data():
    df = roitman_2002_trials()
    levels, index = np.unique(df["coh"].to_numpy(), return_inverse=True)
    correct = df["correct"].to_numpy() == 1
    rt = df["rt"].to_numpy()
    ddm = Trials(rt=rt, choice=correct.astype(np.int32), condition=df["coh"].to_numpy())
    return ddm, CircuitTrials(levels, index.astype(np.int32), correct, rt)


def fit_gddm(trials: Trials):
    """The leaky collapsing-bound DDM's maximum-likelihood fit: (model, NLL, parameters)."""
    model = GDDM(v=0.0, k=_f(10.0), leak=_f(0.5),
                 bound=ExponentialCollapse(B=_f(1.0), tau=_f(1.0)), t0=_f(0.3), st0=_f(0.1),
                 p_outlier=_f(0.02), rt_max=2.5,
                 solver=FokkerPlanck(dt=0.005, n_x=100, t_max=2.0, max_conditions=6))  # fmt: skip
    free = [
        Free(lambda m: m.k, name="k"),
        Free(lambda m: m.leak, name="leak"),
        Free(lambda m: m.bound.B, name="B"),
        Free(lambda m: m.bound.tau, name="tau"),
        Free(lambda m: m.t0, name="t0"),
        Free(lambda m: m.st0, name="st0"),
        Free(lambda m: m.p_outlier, name="p_outlier"),
    ]
    loss = lambda m, t: -jnp.sum(m.log_density(t))
    fitted, _ = fit(model, loss, trials, optimizer=lbfgs(), steps=150, key=jr.key(1),
                    free=free, n_starts=1, start_scale=0.2, patience=20, tol=1e-4,
                    progress=False)  # fmt: skip
    nll = float(eqx.filter_jit(loss)(fitted, trials))
    return fitted, nll, {p.name: float(p.where(fitted)) for p in free}


def circuit_start() -> tuple[CircuitBehavior, object]:
    """The circuit's start and its free set (the 8 parameters of the module docstring)."""
    model = default_circuit_behavior()
    model = eqx.tree_at(
        lambda m: (m.circuit.sigma_noise, m.circuit.I_0, m.circuit.J_N11, m.ndt_sd, m.lapse,
                   m.protocol),
        model,
        (_f(0.02), _f(0.3255), _f(0.2609), _f(0.05), _f(0.01),
         TrialProtocol(dt=1e-3, t_on=0.1, t1=1.8, segment=100)),
    )  # fmt: skip
    spec = circuit_free_parameters(model, extra=("sigma_noise", "I_0", "J_N11"))
    spec = eqx.tree_at(lambda m: (m.ndt_sd, m.lapse), spec, (True, True))
    return model, spec


def fit_circuit(trials: CircuitTrials):
    """The circuit's fit with the settings of the module docstring (two calls, same paths)."""
    model, spec = circuit_start()
    first = fit_circuit_trials(trials, key=jr.key(0), model=model, filter_spec=spec,
                               n_paths=1024, n_paths_eval=5000, steps=30, lbfgs_steps=8,
                               n_starts=2)  # fmt: skip
    return fit_circuit_trials(trials, key=jr.key(0), model=first.model, filter_spec=spec,
                              n_paths=1024, n_paths_eval=5000, steps=10, lbfgs_steps=20,
                              n_starts=1, learning_rate=0.02)  # fmt: skip


@target(name="circuit_vs_gddm_monkey_n", scale="fit", source=_SOURCE, slow=True,
        known_gap=_GAP)  # fmt: skip
def _circuit_vs_gddm():
    ddm_trials, circuit_trials = _data()
    _, nll_ddm, p_ddm = fit_gddm(ddm_trials)
    r = fit_circuit(circuit_trials)
    n = circuit_trials.n_trials
    aic_ddm, bic_ddm = float(aic(nll_ddm, len(p_ddm))), float(bic(nll_ddm, len(p_ddm), n))
    fitted = ", ".join(f"{k} {v:.4g}" for k, v in r.parameters.items())
    return [
        holds(
            "AIC: GDDM - circuit (circuit NLL on fresh paths)",
            ">= 0 (the circuit fits monkey N as well as the diffusion model)",
            f"{aic_ddm - r.aic:.1f} (NLL circuit {r.nll:.1f}, GDDM {nll_ddm:.1f}; "
            f"circuit {fitted})",
            aic_ddm - r.aic >= 0,
        ),
        holds(
            "BIC: GDDM - circuit",
            ">= 0",
            f"{bic_ddm - r.bic:.1f}",
            bic_ddm - r.bic >= 0,
        ),
    ]
