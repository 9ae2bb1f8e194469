"""BrainPy peer of the COBA benchmark (Brette et al. 2007, benchmark 1; see ``_coba.py``).

BrainPy 2.9 (Python >= 3.12) with brainevent's event-driven CSR kernels: four
``FullProjAlignPost`` projections (E->E, E->I, I->E, I->I), each an ``EventCSRLinear``
over Bernoulli connectivity (p = 0.02) into an exponential conductance (``Expon``) read by
a ``COBA`` output, onto ``LifRef`` neurons -- the structure of BrainPy's own E/I network
example, with benchmark 1's parameters. In BrainPy's units the membrane equation is
``tau_m dV/dt = (E_L - V) + g_e (E_e - V) + g_i (E_i - V)`` with the conductances in units
of g_L (jumps 0.6 and 6.7); ``exp_auto`` integration, spikes delivered after a 0.1 ms
delay. The 300 Hz kick from 1 to 51 ms adds 0.6 to ``g_e`` of the first 50 excitatory
neurons on each Poisson event. Float32, JAX on the CPU.

Timing: the jitted 10,000-step loop is called twice on the same network (state reset in
between); ``sim_s`` is the second call, ``build_s`` the network construction plus the
first call minus ``sim_s`` (tracing and XLA compilation). Peak memory is the process's
maximum RSS.

Run (the Python 3.12 peers venv, see benchmarks/README.md):
``python benchmarks/peers/coba_brainpy.py``; prints one JSON line.
"""

import argparse
import os
import pathlib
import sys
import time

import numpy as np

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import _coba as c  # noqa: E402


def _model(bp, bm):
    def proj(pre, post, w, tau, E):
        conn = bp.conn.FixedProb(c.P_CONN, pre=pre.num, post=post.num)
        return bp.dyn.FullProjAlignPost(
            pre=pre,
            delay=c.DT,
            comm=bp.dnn.EventCSRLinear(conn, w),
            syn=bp.dyn.Expon(size=post.num, tau=tau),
            out=bp.dyn.COBA(E=E),
            post=post,
        )

    lif = dict(
        V_rest=c.E_L,
        V_th=c.V_TH,
        V_reset=c.V_RESET,
        tau=C_TAU,
        tau_ref=c.T_REF,
        V_initializer=bp.init.Constant(c.E_L),
    )
    p_kick = c.KICK_RATE_HZ * c.DT * 1e-3

    class COBA(bp.DynSysGroup):
        def __init__(self):
            super().__init__()
            self.E = bp.dyn.LifRef(c.N_E, **lif)
            self.I = bp.dyn.LifRef(c.N_I, **lif)
            we, wi = c.W_E / c.G_L, c.W_I / c.G_L
            self.E2E = proj(self.E, self.E, we, c.TAU_E, c.E_E)
            self.E2I = proj(self.E, self.I, we, c.TAU_E, c.E_E)
            self.I2E = proj(self.I, self.E, wi, c.TAU_I, c.E_I)
            self.I2I = proj(self.I, self.I, wi, c.TAU_I, c.E_I)

        def update(self):
            t = bp.share["t"]
            on = (t >= c.KICK_START) & (t < c.KICK_STOP)
            kick = (bm.random.rand(c.N_KICK) < p_kick) & on
            g = self.E2E.syn.g
            g.value = g.value.at[: c.N_KICK].add(kick * (c.W_E / c.G_L))
            self.E2E()
            self.E2I()
            self.I2E()
            self.I2I()
            self.E()
            self.I()
            return self.E.spike.value, self.I.spike.value

    return COBA()


C_TAU = c.C_M / c.G_L  # tau_m = 20 ms


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seed", type=int, default=None)
    a = p.parse_args(argv)
    os.environ.setdefault("JAX_PLATFORMS", "cpu")
    t_start = time.perf_counter()
    import brainevent
    import brainpy as bp
    import brainpy.math as bm
    import jax

    t_import = time.perf_counter() - t_start
    seed = a.seed if a.seed is not None else int(np.random.SeedSequence().entropy % 2**30)
    bm.random.seed(seed)
    bm.set_dt(c.DT)
    n_steps = int(round(c.T_BIO_MS / c.DT))
    t0 = time.perf_counter()
    net = _model(bp, bm)
    indices = np.arange(n_steps)

    @bm.jit
    def run(ids):
        return bm.for_loop(net.step_run, ids)

    t_first = time.perf_counter()
    se, si = run(indices)
    jax.block_until_ready((se, si))
    first = time.perf_counter() - t_first
    construct = t_first - t0
    bp.reset_state(net)
    t1 = time.perf_counter()
    se, si = run(indices)
    jax.block_until_ready((se, si))
    sim = time.perf_counter() - t1
    spikes = np.concatenate([np.asarray(se), np.asarray(si)], axis=1)
    step, idx = np.nonzero(spikes)
    stats = c.spike_stats(step * c.DT, idx)
    n_syn = sum(int(pr.comm.indices.size) for pr in (net.E2E, net.E2I, net.I2E, net.I2I))
    out = {
        "engine": "brainpy",
        "mode": "brainevent EventCSRLinear",
        "threads": os.cpu_count(),
        "version": bp.__version__,
        "brainevent": brainevent.__version__,
        "jax": jax.__version__,
        "import_s": t_import,
        "build_s": construct + first - sim,
        "sim_s": sim,
        "per_bio_s": sim / (c.T_BIO_MS / 1000.0),
        "seed": seed,
        "n_synapses": n_syn,
        "peak_rss_mb": c.peak_rss_mb(),
        **stats,
    }
    c.emit(out)
    return out


if __name__ == "__main__":
    main()
