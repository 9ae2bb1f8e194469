"""Sleep replay protects an old task from a new one and enhances the new one (González et al. 2020).

:func:`~multiscale.population.simulate_sleep_replay` in 128 simulated subjects (each its
own random task codes, training, night and 128 test trials per task and stage, decided
by the Wong–Wang circuit with a threshold readout). All targets are ordinal: González et
al. 2020 state directions (new training interferes with an old memory; NREM replay
after the new learning restores the old and enhances both), not numbers for this
reduced model. A statement holds when the 95 % confidence interval (mean ± 1.96 SE over
subjects) of the per-subject difference excludes 0 on the stated side. Reaction times
are reported with each check.

The night is replay followed by downscaling (de Vivo et al. 2017: mean weight -18 %,
the largest 20 % spared), each decision population scaled towards one set point
(Turrigiano et al. 1998). Besides the quiet-wake control (no replay, no downscaling),
the night without replay (downscaling only) isolates what replay itself adds: replay
strengthens each task's synapses in its own code, downscaling removes the difference in
total input between the two decision populations that training and replay at the weight
bounds build up (a stimulus-independent bias).
"""

import functools

import jax
import jax.random as jr
import numpy as np

from ..behavior import ThresholdReadout
from ..population import simulate_sleep_replay
from ._behavior_learning import mean_ci
from ._registry import holds, target

N_SUBJECTS, N_TEST = 128, 128
AFTER_A, AFTER_B, SLEEP, WAKE, DOWNSCALE_ONLY = 0, 1, 2, 3, 4

_SOURCE = (
    "González, Sokolov, Krishnan, Delanois & Bazhenov 2020 eLife 9:e51005 (new training "
    "interferes with an old memory; NREM sleep replay after it reverses the damage and "
    "enhances both; sleep plasticity factor 0.75 from the authors' code); de Vivo et al. "
    "2017 Science 355:507 (-18 % after sleep, largest synapses spared). Ordinal; the "
    "model's numbers are ours"
)


@functools.cache
def _runs():
    keys = jr.split(jr.key(2020), N_SUBJECTS)
    res = jax.jit(
        jax.vmap(lambda k: simulate_sleep_replay(key=k, readout=ThresholdReadout(), n_test=N_TEST))
    )(keys)
    return jax.tree.map(np.asarray, res)


def _fmt(ci, digits=3):
    m, lo, hi = ci
    return f"{m:+.{digits}f} (95% CI {lo:+.{digits}f} to {hi:+.{digits}f})"


def _rt(res, stage, task):
    return f"RT {np.nanmean(res.rt[:, stage, task]):.3f} s"


def _diff(label, res, task, stage_a, stage_b, above):
    acc = res.accuracy[:, :, task]
    ci = mean_ci(acc[:, stage_a] - acc[:, stage_b])
    side = "> 0" if above else "< 0"
    return holds(
        label,
        f"accuracy difference {side} (95% CI)",
        f"{_fmt(ci)}; accuracy {acc[:, stage_b].mean():.3f} -> {acc[:, stage_a].mean():.3f}, "
        f"{_rt(res, stage_b, task)} -> {_rt(res, stage_a, task)}",
        ci[1] > 0 if above else ci[2] < 0,
    )


@target(
    name="sleep_replay_rescues_interference_gonzalez", scale="population", source=_SOURCE, slow=True
)
def _interference():
    res = _runs()
    shrink = 1.0 - res.weights[:, SLEEP].mean(axis=(1, 2)) / res.replayed.mean(axis=(1, 2))
    return [
        _diff(
            "training B lowers recall of A (after B minus after A)", res, 0, AFTER_B, AFTER_A, False
        ),
        _diff(
            f"sleep (replay, then downscaling by {100 * shrink.mean():.0f} %) restores A "
            "(after sleep minus quiet wake)",
            res,
            0,
            SLEEP,
            WAKE,
            True,
        ),
        _diff(
            "replay adds to downscaling for A (after sleep minus downscaling only)",
            res,
            0,
            SLEEP,
            DOWNSCALE_ONLY,
            True,
        ),
    ]


@target(
    name="sleep_replay_enhances_new_task_gonzalez", scale="population", source=_SOURCE, slow=True
)
def _new_task():
    res = _runs()
    return [
        _diff("sleep enhances B (after sleep minus quiet wake)", res, 1, SLEEP, WAKE, True),
        _diff(
            "replay adds to downscaling for B (after sleep minus downscaling only)",
            res,
            1,
            SLEEP,
            DOWNSCALE_ONLY,
            True,
        ),
    ]
