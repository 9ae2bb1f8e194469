"""Behavioral targets of dopamine-gated learning across trials (Law & Gold 2009; Clarke et
al. 2011).

The sessions run in the population scale; the targets live here because they are read
out with the behavior scale's readouts (population may not import behavior).

No numeric benchmark of reversal under dopamine depletion has been published in a form a
model can be fitted to, so the targets are ordinal: errors after a reversal rise when the
dopamine signal is reduced, while initial acquisition changes little (Clarke et al.
2011). Measured from 8 simulated subjects per condition; nothing is read back from the
parameters.
"""

import functools

import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np

from ..behavior import ThresholdReadout, fit_weibull
from ..population import Learner, RewardPrediction, Task, reversal_task, run_session
from ._registry import holds, target

N_TRIALS, REVERSAL = 160, 80


@functools.cache
def _sessions():
    """8 subjects with intact dopamine (burst/dip gain 50) and blunted (x 0.25), shared."""
    task = reversal_task(N_TRIALS, key=jr.key(1), coherence=0.2, reversal_at=REVERSAL)
    keys = jr.split(jr.key(2), 8)

    @jax.jit
    def run(gain):
        learner = Learner(critic=RewardPrediction(burst_gain=gain, dip_gain=gain))
        return jax.vmap(lambda k: run_session(learner, task, key=k, readout=ThresholdReadout()))(
            keys
        )

    return run(jnp.asarray(50.0)), run(jnp.asarray(12.5))


@target(
    name="session_practice_and_reversal",
    scale="behavior",
    source=(
        "Law & Gold 2009 Nat Neurosci 12:655 (practice); Clarke et al. 2011 J Neurosci "
        "31:4290 (DA depletion impairs reversal); ordinal"
    ),
    slow=True,
    known_gap=(
        "the intact learner's accuracy over the last 40 trials after the reversal is 0.74 "
        "for these 8 subjects and 0.75 +/- 0.03 for 32: the model's recovery sits at the "
        "0.75 criterion, not above it"
    ),
)
def _session():
    intact, blunted = _sessions()
    acc, acc_b = np.asarray(intact.reward), np.asarray(blunted.reward)
    rt = np.asarray(intact.rt)
    early, late = acc[:, :20].mean(), acc[:, REVERSAL - 20 : REVERSAL].mean()
    rt_early, rt_late = np.nanmean(rt[:, :20]), np.nanmean(rt[:, REVERSAL - 20 : REVERSAL])
    after = acc[:, REVERSAL : REVERSAL + 10].mean()
    rec, rec_b = acc[:, REVERSAL + 40 :].mean(), acc_b[:, REVERSAL + 40 :].mean()
    return [
        holds(
            "practice raises accuracy (trials 1-20 -> 61-80)",
            "late > early + 0.15",
            f"{early:.2f} -> {late:.2f}",
            bool(late > early + 0.15),
        ),
        holds(
            "practice shortens mean RT (s)",
            "late < early",
            f"{rt_early:.3f} -> {rt_late:.3f}",
            bool(rt_late < rt_early),
        ),
        holds("reversal: accuracy drops below chance", "< 0.5", f"{after:.2f}", bool(after < 0.5)),
        holds(
            "reversal: accuracy recovers (last 40 trials)", "> 0.75", f"{rec:.2f}", bool(rec > 0.75)
        ),
        holds(
            "dopamine blunted x 0.25: slower recovery after reversal",
            "blunted < intact",
            f"{rec_b:.2f} vs {rec:.2f}",
            bool(rec_b < rec - 0.15),
        ),
    ]


@target(
    name="session_dopamine_spares_acquisition",
    scale="behavior",
    source=(
        "Clarke et al. 2011 J Neurosci 31:4290 (DA depletion leaves initial discrimination "
        "learning largely intact); ordinal"
    ),
    slow=True,
    known_gap=(
        "with dopamine blunted x 0.25 the reduced Law & Gold learner also acquires the "
        "first discrimination more slowly (about 0.86 vs 0.97 correct before the reversal), "
        "so only the reversal half of Clarke et al.'s dissociation is reproduced"
    ),
)
def _acquisition():
    intact, blunted = _sessions()
    acc, acc_b = np.asarray(intact.reward), np.asarray(blunted.reward)
    late, late_b = (
        acc[:, REVERSAL - 20 : REVERSAL].mean(),
        acc_b[:, REVERSAL - 20 : REVERSAL].mean(),
    )
    return [
        holds(
            "dopamine blunted x 0.25: acquisition (trials 61-80 correct) changes little",
            "|blunted - intact| < 0.05",
            f"{late_b:.2f} vs {late:.2f}",
            bool(abs(late_b - late) < 0.05),
        )
    ]


LG_COHERENCES = (0.032, 0.064, 0.128, 0.256, 0.512)
LG_TRIALS, LG_BLOCK, LG_SUBJECTS = 600, 150, 16


def _weibull_thresholds():
    """Weibull threshold (fraction) per block of 150 trials, 16 subjects pooled."""
    k_dir, k_coh = jr.split(jr.key(3))
    direction = jnp.where(jr.bernoulli(k_dir, 0.5, (LG_TRIALS,)), 1.0, -1.0)
    levels = jnp.asarray(LG_COHERENCES)
    coherence = levels[jr.randint(k_coh, (LG_TRIALS,), 0, levels.shape[0])]
    task = Task(direction, coherence)
    res = jax.jit(
        jax.vmap(lambda k: run_session(Learner(), task, key=k, readout=ThresholdReadout()))
    )(jr.split(jr.key(4), LG_SUBJECTS))
    reward, decided = np.asarray(res.reward), np.asarray(res.choice) >= 0
    c = np.asarray(coherence)
    alphas, acc = [], []
    for start in range(0, LG_TRIALS, LG_BLOCK):
        block = slice(start, start + LG_BLOCK)
        at = [np.isclose(c[block], x) for x in LG_COHERENCES]
        k = np.array([(reward[:, block] * m).sum() for m in at], np.float32)
        n = np.array([(decided[:, block] * m).sum() for m in at], np.float32)
        alphas.append(float(fit_weibull(levels, jnp.asarray(k), jnp.asarray(n)).alpha))
        acc.append(k / n)
    return alphas, acc


@target(
    name="law_gold_threshold_falls_with_training",
    scale="behavior",
    source=(
        "Law & Gold 2009 Nat Neurosci 12:655 (psychometric thresholds fall with training, "
        "monkeys and model); ordinal, the 20 % criterion is ours"
    ),
)
def _law_gold_threshold():
    alphas, acc = _weibull_thresholds()
    first, last = alphas[0], alphas[-1]
    i64 = LG_COHERENCES.index(0.064)
    return [
        holds(
            "Weibull threshold, trials 451-600 vs 1-150 (fraction)",
            "last < 0.8 x first",
            f"{first:.3f} -> {last:.3f}",
            bool(last < 0.8 * first),
        ),
        holds(
            "accuracy at 6.4 % rises with training",
            "last > first + 0.05",
            f"{acc[0][i64]:.2f} -> {acc[-1][i64]:.2f}",
            bool(acc[-1][i64] > acc[0][i64] + 0.05),
        ),
    ]
