r"""Fitting the Wong–Wang circuit to per-condition behavioral summaries.

The free parameters are chosen by a filter (a pytree of bools shaped like
:class:`~multiscale.fit.CircuitBehavior`; default :func:`circuit_free_parameters`: the
stimulus gain $J_{A,\mathrm{ext}}$, the readout threshold $\theta$ and the non-decision
time $t_\mathrm{nd}$). They are all positive and of very different magnitudes (5e-4 nA/Hz,
15 Hz, 0.3 s), so the optimiser works on $u = \log(x / x_\mathrm{init})$: a relative change
of each parameter has a comparable effect on the loss, and one learning rate serves all.

The loss is :func:`~multiscale.fit.circuit_summary_negative_log_likelihood` on a fixed set
of noise paths (common random numbers), minimised by Adam from ``n_starts`` starting points
run in parallel with ``vmap`` (:func:`~multiscale.fit.fit`, with early stopping), then by
a few damped Newton steps (:func:`~multiscale.fit.newton`) from the best start.
Uncertainty is the inverse **expected** (Fisher) information of the summary likelihood,
$I = \sum_c \tfrac{n_c}{P_c(1-P_c)}\nabla P_c\nabla P_c^\top
 + \tfrac{n_c}{\sigma_c^2}\nabla\mu_c\nabla\mu_c^\top
 + \tfrac{1}{2\sigma_c^4}\nabla\sigma^2_c\nabla\sigma^{2\top}_c$, with the Jacobians of
$(P_c, \mu_c, \sigma^2_c)$ by central differences of $\pm 5\,\%$ in each parameter on
the fresh evaluation paths. Autodiff Jacobians would miss the accuracy: over fixed paths
$P_c$ is a staircase whose derivative is zero almost everywhere (see the likelihood
module), while a step of a few per cent spans many path flips and measures the slope.
The fit's NLL is re-evaluated on **fresh** noise paths (more of them) for model comparison.
"""

import dataclasses
import time
from typing import NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
from jax.flatten_util import ravel_pytree
from jaxtyping import Array, Key, PRNGKeyArray

from ..behavior import (
    CircuitBehavior,
    CircuitSummary,
    HazardReadout,
    circuit_summary,
    circuit_summary_negative_log_likelihood,
    summary_nll,
)
from ..circuit import WongWang2006
from ._fit import FitHistory, fit
from ._newton import newton
from ._scaling import LogScaled, float_count_adam, free_parameter_names, log_scaled
from ._uncertainty import aic, bic


class SummaryData(NamedTuple):
    """Per-condition behavioral summary (arrays of shape ``(conditions,)``).

    Attributes:
        coherence: fraction in [0, 1]; n: trials; n_correct: correct trials;
        mean_rt: mean RT of all trials, s.
    """

    coherence: np.ndarray
    n: np.ndarray
    n_correct: np.ndarray
    mean_rt: np.ndarray


def default_circuit_behavior() -> CircuitBehavior:
    """Wong & Wang's appendix circuit with a hazard readout, free leaves as float arrays.

    Starting values: $J_{A,\\mathrm{ext}}$ = 5.2e-4 nA/Hz and $\\theta$ = 15 Hz (Wong &
    Wang 2006), $t_\\mathrm{nd}$ = 0.25 s (monkey RTs are ~0.2 s longer than the circuit's
    decision times at Wong & Wang's 100 ms).
    """
    f32 = lambda x: jnp.asarray(x, jnp.result_type(float))
    return CircuitBehavior(
        circuit=WongWang2006(J_A_ext=f32(5.2e-4)),
        readout=HazardReadout(threshold=f32(15.0), non_decision_time=f32(0.25)),
    )


def circuit_free_parameters(model: CircuitBehavior, extra: tuple[str, ...] = ()):
    r"""Filter (pytree of bools) freeing ``J_A_ext``, ``threshold``, ``non_decision_time``.

    Args:
        model: the :class:`CircuitBehavior` the filter is shaped like.
        extra: names of further fields to free, of ``model.circuit``
            (:class:`~multiscale.circuit.WongWang2006`, e.g. ``"sigma_noise"``, the noise
            amplitude in nA, or ``"I_0"``, the background current in nA) or of
            ``model.readout`` (e.g. ``"temperature"``).

    The fits optimise $\log x$, so every freed field must hold a positive float array; the
    circuit's defaults are Python floats, so make them arrays first. Freeing the noise
    amplitude and the background current as well (then pass ``model=model,
    filter_spec=spec`` to :func:`~multiscale.fit.fit_circuit_trials`):

    Example:
        >>> import equinox as eqx, jax.numpy as jnp, multiscale as ms
        >>> model = ms.fit.default_circuit_behavior()
        >>> model = eqx.tree_at(lambda m: (m.circuit.sigma_noise, m.circuit.I_0), model,
        ...                     (jnp.asarray(0.02), jnp.asarray(0.3255)))
        >>> spec = ms.fit.circuit_free_parameters(model, extra=("sigma_noise", "I_0"))
        >>> spec.circuit.sigma_noise, spec.circuit.I_0, spec.circuit.J_N11
        (True, True, False)

    Raises:
        ValueError: a name in ``extra`` is not a field of the circuit or the readout, or
            its value is not a float array.
    """
    spec = jax.tree.map(lambda _: False, model)
    spec = eqx.tree_at(
        lambda m: (m.circuit.J_A_ext, m.readout.threshold, m.readout.non_decision_time),
        spec,
        (True, True, True),
    )
    for name in extra:
        if name in {f.name for f in dataclasses.fields(model.circuit)}:
            part = "circuit"
        elif name in {f.name for f in dataclasses.fields(model.readout)}:
            part = "readout"
        else:
            raise ValueError(
                f"circuit_free_parameters: {name!r} is not a field of model.circuit "
                f"({type(model.circuit).__name__}) or model.readout "
                f"({type(model.readout).__name__})"
            )
        value = getattr(getattr(model, part), name)
        if not eqx.is_inexact_array(value):
            raise ValueError(
                f"circuit_free_parameters: model.{part}.{name} must be a float array to be "
                f"freed, got {value!r}; set it with eqx.tree_at(lambda m: m.{part}.{name}, "
                f"model, jnp.asarray({value!r}))"
            )
        spec = eqx.tree_at(lambda m, p=part, n=name: getattr(getattr(m, p), n), spec, True)
    return spec


_NEWTON = newton()


def _loss(scaled: LogScaled, data) -> jax.Array:
    return circuit_summary_negative_log_likelihood(scaled.model(), *data)


@eqx.filter_jit
def _summary(model, coherence, keys):
    return circuit_summary(model, coherence, keys)


def _fisher_se(scaled: LogScaled, data, h: float = 0.05):
    """SEs of the free parameters (their own units) from the expected information."""
    coh, n, _, _, keys = data
    flat, unravel = ravel_pytree(scaled.u)

    def stats(x):
        m = eqx.tree_at(lambda s: s.u, scaled, unravel(x)).model()
        s = _summary(m, coh, keys)
        return jnp.stack([s.p_correct, s.mean_rt, s.rt_var])

    base = stats(flat)
    eye = jnp.eye(flat.shape[0], dtype=flat.dtype)
    jac = jnp.stack([(stats(flat + h * e) - stats(flat - h * e)) / (2 * h) for e in eye], -1)
    (p, _, var), (Jp, Jmu, Jvar) = base, jac
    info = (
        jnp.einsum("c,ci,cj->ij", n / (p * (1 - p)), Jp, Jp)
        + jnp.einsum("c,ci,cj->ij", n / var, Jmu, Jmu)
        + jnp.einsum("c,ci,cj->ij", 0.5 / var**2, Jvar, Jvar)
    )
    eig = jnp.linalg.eigvalsh(info)
    se_u = jnp.sqrt(jnp.diag(jnp.linalg.inv(info)))
    x, _ = ravel_pytree(scaled.model_free())
    # Delta method for x = x_ref e^u: SE(x) = x SE(u) (exact for the Fisher information).
    return x * se_u, jnp.min(eig)


class CircuitFit(NamedTuple):
    """Result of :func:`fit_circuit_summary`.

    Attributes:
        model: fitted :class:`CircuitBehavior` (circuit + readout).
        se: standard errors of the free parameters in their units, a dict name -> float
            (NaN if the information matrix is not positive definite; see ``se_note``).
        se_note: why SEs are NaN, or "" when they are usable.
        nll: NLL (nats) on fresh noise paths (``n_paths_eval`` of them).
        nll_fit: NLL on the fitting paths.
        n_parameters, aic, bic: for model comparison (BIC's n = total trials).
        summary: :class:`CircuitSummary` on the fresh paths.
        history: the :class:`FitHistory` of the multi-start Adam run.
        seconds: wall time of the optimisation (compile included), s.
    """

    model: CircuitBehavior
    se: dict
    se_note: str
    nll: float
    nll_fit: float
    n_parameters: int
    aic: float
    bic: float
    summary: CircuitSummary
    history: FitHistory
    seconds: float


def fit_circuit_summary(
    data: SummaryData,
    *,
    key: PRNGKeyArray,
    n_paths: int = 64,
    steps: int = 150,
    n_starts: int = 4,
    model: CircuitBehavior | None = None,
    filter_spec=None,
    learning_rate: float = 0.04,
    n_paths_eval: int = 256,
    start_scale: float = 0.2,
    newton_steps: int = 10,
    paths: Key[Array, " paths"] | None = None,
) -> CircuitFit:
    r"""Fit the circuit's free parameters to per-condition choice counts and mean RTs.

    Args:
        data: :class:`SummaryData` (coherence as a fraction, RT in s).
        key: PRNG key: fitting paths, start perturbations and fresh evaluation paths.
        n_paths: noise paths per coherence for fitting (common random numbers).
        steps: maximum Adam steps (early stopping: 30 steps without a 1e-3 nat gain).
        n_starts: starting points run in parallel (``vmap``); start 0 is ``model``.
        model: initial :class:`CircuitBehavior` (default :func:`default_circuit_behavior`).
        filter_spec: free leaves (default :func:`circuit_free_parameters`).
        learning_rate: Adam step on $u = \log(x/x_\mathrm{init})$.
        n_paths_eval: fresh paths per coherence for the reported NLL and summary.
        start_scale: SD of the starts' perturbation of $u$ (0.2: about ±20 %).
        newton_steps: damped Newton steps after Adam, from the best start (0: none).
        paths: keys of the fitting paths (default: ``n_paths`` keys drawn from ``key``).

    Returns:
        A :class:`CircuitFit`.
    """
    model = default_circuit_behavior() if model is None else model
    filter_spec = circuit_free_parameters(model) if filter_spec is None else filter_spec
    scaled, spec = log_scaled(model, filter_spec)
    k_fit, k_start, k_eval = jr.split(key, 3)
    dtype = jnp.result_type(float)
    arrays = tuple(jnp.asarray(a, dtype) for a in data)
    fit_data = (*arrays, jr.split(k_fit, n_paths) if paths is None else paths)
    optimizer = float_count_adam(learning_rate)
    t0 = time.perf_counter()
    fitted, hist = fit(
        scaled,
        _loss,
        fit_data,
        optimizer=optimizer,
        steps=steps,
        key=k_start,
        filter_spec=spec,
        n_starts=n_starts,
        start_scale=start_scale,
        patience=30,
        tol=1e-3,
        chunk=10,
        progress=False,
    )
    nll_fit = float(hist.start_losses[hist.best_start])
    # Damped Newton from the best start: on fixed paths the loss is smooth in the RT
    # directions, where Adam crawls along the threshold / non-decision-time valley.
    if newton_steps:
        fitted, hist_n = fit(
            fitted,
            _loss,
            fit_data,
            optimizer=_NEWTON,
            steps=newton_steps,
            key=k_start,
            filter_spec=spec,
            patience=3,
            tol=1e-2,
            chunk=1,
            progress=False,
        )
        hist = FitHistory(
            loss=jnp.concatenate([hist.loss, hist_n.loss]),
            start_losses=hist.start_losses,
            best_start=hist.best_start,
            steps_taken=hist.steps_taken + hist_n.steps_taken,
            converged=hist_n.converged,
        )
        nll_fit = float(hist_n.start_losses[0])
    jax.block_until_ready(fitted)
    seconds = time.perf_counter() - t0
    out = fitted.model()
    eval_data = (*arrays, jr.split(k_eval, n_paths_eval))
    se_flat, min_eig = _fisher_se(fitted, eval_data)
    names = free_parameter_names(model, filter_spec)
    note = ""
    if not float(min_eig) > 0 or not bool(jnp.all(jnp.isfinite(se_flat))):
        note = (
            "expected information not positive definite (a parameter is not identified "
            "by these summaries, or the fit is on a boundary)"
        )
        se_flat = jnp.full_like(se_flat, jnp.nan)
    se = {name: float(s) for name, s in zip(names, se_flat, strict=True)}
    summary = _summary(out, arrays[0], eval_data[-1])
    nll = float(summary_nll(summary, *arrays[1:]))
    k = len(names)
    n_total = int(np.sum(np.asarray(data.n)))
    return CircuitFit(
        model=out,
        se=se,
        se_note=note,
        nll=nll,
        nll_fit=nll_fit,
        n_parameters=k,
        aic=float(aic(nll, k)),
        bic=float(bic(nll, k, n_total)),
        summary=summary,
        history=hist,
        seconds=seconds,
    )


def summarize_trials(trials) -> SummaryData:
    """Per-condition summary of :class:`~multiscale.behavior.Trials` for the circuit fit.

    The condition is the coherence as a fraction; a negative value means the other
    direction. The circuit is symmetric, so trials are pooled by $|c|$ and a trial is
    correct when its choice (1 = upper) matches the sign of $c$ (at $c = 0$, upper counts
    as "correct"; the model predicts 1/2 there).

    Raises:
        ValueError: a condition outside [-1, 1] (coherence must be a fraction).
    """
    c = np.asarray(trials.condition, float)
    if np.any(np.abs(c) > 1.0):
        raise ValueError(
            f"the condition must be the coherence as a fraction in [-1, 1] for the circuit "
            f"(51.2 % is 0.512); got values up to {np.max(np.abs(c)):g}"
        )
    choice = np.asarray(trials.choice) == 1
    correct = np.where(c >= 0, choice, ~choice)
    rt = np.asarray(trials.rt, float)
    levels = np.unique(np.abs(c))
    rows = [(np.abs(c) == lv) for lv in levels]
    return SummaryData(
        coherence=levels,
        n=np.array([m.sum() for m in rows], float),
        n_correct=np.array([correct[m].sum() for m in rows], float),
        mean_rt=np.array([rt[m].mean() for m in rows]),
    )
