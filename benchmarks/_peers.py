"""Peer implementations (Brian2, BrainPy) of the benchmark workloads.

Written from the model equations (``multiscale/synapse/_calcium/_graupner_brunel.py``,
``multiscale/circuit/_wong_wang.py``, reference_values 2a and 6a); used only by the
benchmark scripts, never by the package. Every function raises on failure; the scripts
catch the exception and print its reason in their tables.

Decision circuit (Wong & Wang 2006, appendix model, default parameters):
``dS_i/dt = -S_i/tau_S + (1 - S_i) gamma H(x_i)``, ``H(x) = (a x - b)/(1 - exp(-d(a x - b)))``,
``x_1 = J11 S_1 - J12 S_2 + I_0 + I_stim,1 + I_noise,1`` (and symmetrically), OU noise
``tau_AMPA dI/dt = -I + eta sqrt(tau_AMPA sigma^2)``, stimulus ``J_A mu0 (1 +- c)`` from
``t_on``; threshold readout: first time after ``t_on`` at which the 50 ms boxcar rate of
either population reaches 15 Hz.
"""

import statistics
import tempfile
import time

import numpy as np

# Wong & Wang 2006 appendix parameters (reference_values 6a), units s, Hz, nA.
WW = dict(a=270.0, b=108.0, d=0.154, J11=0.2609, J12=0.0497, JA=5.2e-4, I0=0.3255,
          sigma=0.02, tauA=0.002, gamma=0.641, tauS=0.1, mu0=30.0)  # fmt: skip


# --------------------------------------------------------------------------- Brian2 common
def _brian2_device(mode: str, directory: str | None, threads: int):
    """Activate a fresh Brian2 device: 'cpp_standalone' (no build on run), 'cython' (the
    runtime device with Cython code generation) or 'runtime' (Brian2's own choice)."""
    import brian2 as b2

    if mode == "cpp_standalone":
        b2.set_device("cpp_standalone", directory=directory, build_on_run=False)
        b2.device.reinit()
        b2.device.activate(directory=directory, build_on_run=False)
        b2.prefs.devices.cpp_standalone.openmp_threads = threads
    else:
        b2.set_device("runtime")
        b2.prefs.codegen.target = "cython" if mode == "cython" else "auto"
    b2.start_scope()
    return b2


def _brian2_reset():
    import brian2 as b2

    try:
        b2.device.reinit()
    except Exception:  # noqa: BLE001 - best effort
        pass
    b2.set_device("runtime")
    b2.prefs.codegen.target = "auto"


# --------------------------------------------------------------------------- GB2012 in Brian2
def brian2_stdp_curve(p, pre_trains, post_trains, t_ends, rho0, *, dt=1e-4, repeats=3,
                      mode="cpp_standalone", threads=1):  # fmt: skip
    """Graupner–Brunel (sigma = 0) on one Synapses object of len(t_ends) independent pairs.

    Pre spikes reach the synapse after the delay D (on_pre, Brian2's synaptic delay, rounded
    to dt), post spikes at once (on_post). Calcium and rho are integrated with RK4 at ``dt``;
    the threshold Heavisides are evaluated per step. Each synapse's rho is frozen after its
    own protocol end ``t_end`` (as in the reference). Returns (rho, median run time per curve
    in s, build time in s, mode used).
    """
    n = len(t_ends)
    directory = tempfile.mkdtemp(prefix="b2_stdp_") if mode == "cpp_standalone" else None
    b2 = _brian2_device(mode, directory, threads)
    try:
        b2.defaultclock.dt = dt * b2.second
        idx_pre = np.concatenate([np.full(len(tr), i) for i, tr in enumerate(pre_trains)])
        idx_post = np.concatenate([np.full(len(tr), i) for i, tr in enumerate(post_trains)])
        pre = b2.SpikeGeneratorGroup(n, idx_pre, np.concatenate(pre_trains) * b2.second)
        post = b2.SpikeGeneratorGroup(n, idx_post, np.concatenate(post_trains) * b2.second)
        ns = {k: p[k] for k in ("C_pre", "C_post", "theta_d", "theta_p", "gamma_d", "gamma_p",
                                "rho_star")}  # fmt: skip
        ns["tau_Ca"] = p["tau_Ca"] * b2.second
        ns["tau_rho"] = p["tau"] * b2.second
        model = """
        dc/dt = -c / tau_Ca : 1 (clock-driven)
        drho/dt = active * (-rho * (1 - rho) * (rho_star - rho)
                  + gamma_p * (1 - rho) * int(c > theta_p)
                  - gamma_d * rho * int(c > theta_d)) / tau_rho : 1 (clock-driven)
        active = int(t < t_end) : 1 (constant over dt)
        t_end : second (constant)
        """
        syn = b2.Synapses(pre, post, model, on_pre="c += C_pre", on_post="c += C_post",
                          method="rk4", namespace=ns)  # fmt: skip
        syn.connect(j="i")
        syn.delay = p["D"] * b2.second
        syn.t_end = np.asarray(t_ends) * b2.second
        syn.rho = rho0
        net = b2.Network(pre, post, syn)
        t0 = time.perf_counter()
        net.run((max(t_ends) + 2 * dt) * b2.second)
        runtime_s = time.perf_counter() - t0
        if mode == "cpp_standalone":
            t0 = time.perf_counter()
            b2.device.build(directory=directory, compile=True, run=False, with_output=False)
            build_s = time.perf_counter() - t0
            times = []
            for _ in range(repeats):
                t0 = time.perf_counter()
                b2.device.run(directory=directory, with_output=False)
                times.append(time.perf_counter() - t0)
            rho = np.asarray(syn.rho[:], np.float64)
            return rho, statistics.median(times), build_s, mode
        # runtime device: one run, including its code generation
        return np.asarray(syn.rho[:], np.float64), runtime_s, float("nan"), mode
    finally:
        _brian2_reset()


# --------------------------------------------------------------------------- WW2006 in Brian2
def brian2_circuit(coh, *, tau_S=None, J11=None, seed=0, t1=2.0, t_on=0.5, dt=5e-4,
                   theta=15.0, window=0.05, check_every=5, noise="xi", threads=2,
                   repeats=1, mode="cpp_standalone"):  # fmt: skip
    """B independent Wong–Wang units in one NeuronGroup (per-unit coherence, tau_S, J_N11).

    Integration: Brian2's Euler(-Maruyama) at ``dt`` for S (and, with ``noise="xi"``, for the
    OU noise written with ``xi``); ``noise="exact"`` instead updates the noise with its exact
    OU step in a ``run_regularly`` (``I <- I e^{-dt/tau} + sd randn()``), as multiscale does.
    Readout: the running integrals ``R_i = int r_i dt`` are state variables; every
    ``check_every`` steps (a ``run_regularly``) the 50 ms boxcar rate ``(R(t) - R(t - 50 ms))
    / 50 ms`` is formed from lagged copies of R (window / (check_every dt) of them) and the
    first crossing of ``theta`` after ``t_on`` is stored (choice, decision time). So the
    boxcar is exact, but a crossing is seen only on the check grid: up to
    ``(check_every - 1) dt`` late. Float64 (Brian2's default).

    Returns (choice (B,), decision time (B,) [s, NaN if undecided], median run time (s),
    build time (s), mode).
    """
    B = len(coh)
    coh = np.asarray(coh, np.float64)
    tau_S = np.full(B, WW["tauS"]) if tau_S is None else np.asarray(tau_S, np.float64)
    J11 = np.full(B, WW["J11"]) if J11 is None else np.asarray(J11, np.float64)
    n_win = round(window / dt)
    if n_win % check_every:
        raise ValueError("window / dt must be a multiple of check_every")
    K = n_win // check_every
    directory = tempfile.mkdtemp(prefix="b2_ww_") if mode == "cpp_standalone" else None
    b2 = _brian2_device(mode, directory, threads)
    try:
        b2.defaultclock.dt = dt * b2.second
        b2.seed(seed)
        ns = {k: WW[k] for k in ("a", "b", "d", "J12", "I0", "gamma", "sigma")}
        ns.update(tauA=WW["tauA"] * b2.second, t_on=t_on * b2.second, theta=theta,
                  win=window * b2.second, DT=dt * b2.second)  # fmt: skip
        if noise == "xi":
            noise_eqs = """
            dIn1/dt = -In1 / tauA + sigma * xi_1 / sqrt(tauA) : 1
            dIn2/dt = -In2 / tauA + sigma * xi_2 / sqrt(tauA) : 1
            """
        else:
            noise_eqs = "In1 : 1\nIn2 : 1\n"
        lags = "\n".join(f"L1_{j} : second\nL2_{j} : second" for j in range(K))
        eqs = f"""
        dS1/dt = -S1 / tauS + (1 - S1) * gamma * r1 / second : 1
        dS2/dt = -S2 / tauS + (1 - S2) * gamma * r2 / second : 1
        dR1/dt = r1 : second
        dR2/dt = r2 : second
        u1 = a * (J11 * S1 - J12 * S2 + I0 + In1 + Ist1 * int(t >= t_on)) - b : 1
        u2 = a * (J11 * S2 - J12 * S1 + I0 + In2 + Ist2 * int(t >= t_on)) - b : 1
        r1 = u1 / (1 - exp(-d * u1)) : 1
        r2 = u2 / (1 - exp(-d * u2)) : 1
        {noise_eqs}
        tauS : second (constant)
        J11 : 1 (constant)
        Ist1 : 1 (constant)
        Ist2 : 1 (constant)
        choice : 1
        dtime : second
        {lags}
        """
        G = b2.NeuronGroup(B, eqs, method="euler", namespace=ns)
        G.S1, G.S2 = 0.1, 0.1
        G.tauS = tau_S * b2.second
        G.J11 = J11
        G.Ist1 = WW["JA"] * WW["mu0"] * (1 + coh)
        G.Ist2 = WW["JA"] * WW["mu0"] * (1 - coh)
        G.choice = -1
        G.dtime = -1 * b2.second
        if noise != "xi":
            decay = float(np.exp(-dt / WW["tauA"]))
            sd = float(WW["sigma"] / np.sqrt(2) * np.sqrt(1 - np.exp(-2 * dt / WW["tauA"])))
            G.run_regularly(f"In1 = In1 * {decay!r} + {sd!r} * randn()\n"
                            f"In2 = In2 * {decay!r} + {sd!r} * randn()", when="end",
                            order=-1)  # fmt: skip
        shift = "\n".join(f"L1_{j} = L1_{j - 1}\nL2_{j} = L2_{j - 1}" for j in range(K - 1, 0, -1))
        code = f"""
        rb1 = (R1 - L1_{K - 1}) / win
        rb2 = (R2 - L2_{K - 1}) / win
        newd = int(choice < 0) * int(t + DT >= t_on) * int(rb1 >= theta or rb2 >= theta)
        dtime = dtime + newd * (t + DT - t_on - dtime)
        choice = choice + newd * (int(rb2 > rb1) - choice)
        {shift}
        L1_0 = R1
        L2_0 = R2
        """
        G.run_regularly(code, dt=check_every * dt * b2.second, when="end")
        net = b2.Network(G)
        build_s = float("nan")
        if mode == "cython":
            # A run of no time generates and compiles the code (cached on disk), so the
            # timed run below is the simulation, as for cpp_standalone's binary.
            t0 = time.perf_counter()
            net.run(0 * b2.second)
            build_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        net.run(t1 * b2.second)
        runtime_s = time.perf_counter() - t0
        if mode == "cpp_standalone":
            t0 = time.perf_counter()
            b2.device.build(directory=directory, compile=True, run=False, with_output=False)
            build_s = time.perf_counter() - t0
            times = []
            for _ in range(repeats):
                t0 = time.perf_counter()
                b2.device.run(directory=directory, with_output=False)
                times.append(time.perf_counter() - t0)
            run_s = statistics.median(times)
        else:  # one run; for 'runtime' including code generation
            run_s = runtime_s
        choice = np.asarray(G.choice[:]).round().astype(int)
        dtime = np.asarray(G.dtime[:], np.float64)
        dtime[choice < 0] = np.nan
        return choice, dtime, run_s, build_s, mode
    finally:
        _brian2_reset()


# --------------------------------------------------------------------------- WW2006 in BrainPy
def brainpy_circuit_fn(B, *, t1=2.0, t_on=0.5, dt=5e-4, theta=15.0, window=0.05):
    """A jitted BrainPy function ``f(coh, tau_S, J11, key) -> (choice, decision_time)``.

    S is integrated by BrainPy's ``bp.odeint`` Euler integrator; the OU noise by its exact
    step with ``bm.random.normal`` (one draw per block of ``window/dt`` steps); the steps run
    in ``bm.scan`` over blocks of ``window/dt`` steps, and the 50 ms boxcar is the
    difference of the running sum of r between consecutive blocks (exact, per step).
    float32 (BrainPy's default).
    """
    import brainpy as bp
    import brainpy.math as bm
    import jax
    import jax.numpy as jnp

    n_win = round(window / dt)
    n_steps = round(t1 / dt)
    n_blocks = n_steps // n_win
    w = {k: jnp.float32(v) for k, v in WW.items()}
    decay = jnp.float32(np.exp(-dt / WW["tauA"]))
    sd = jnp.float32(WW["sigma"] / np.sqrt(2) * np.sqrt(1 - np.exp(-2 * dt / WW["tauA"])))

    def dS(S, t, r, tau):
        return -S / tau + (1 - S) * w["gamma"] * r

    integ = bp.odeint(dS, method="euler", dt=dt)

    def run(coh, tau_S, J11, key):
        Ist = w["JA"] * w["mu0"] * jnp.stack([1 + coh, 1 - coh], -1)
        tau = tau_S[:, None]
        J = J11[:, None]

        def step(carry, xs):
            S, In, R = carry
            k, z = xs
            t = k * dt
            x = J * S - w["J12"] * S[:, ::-1] + w["I0"] + In + Ist * (t >= t_on)
            u = w["a"] * x - w["b"]
            small = jnp.abs(u) < 1e-3
            r = jnp.where(small, 1 / w["d"] + u / 2,
                          u / -jnp.expm1(-w["d"] * jnp.where(small, 1.0, u)))  # fmt: skip
            S = integ(S, t, r, tau)
            In = In * decay + sd * z
            R = R + r
            return (S, In, R), R

        def block(carry, b):
            S, In, R, key, R_prev, choice, dtime = carry
            key, sub = jax.random.split(key)
            z = bm.as_jax(bm.random.normal(size=(n_win, B, 2), key=sub))
            ks = b * n_win + jnp.arange(n_win)
            (S, In, R), Rb = bm.scan(step, (S, In, R), (ks, z))
            rbar = (Rb - R_prev) / n_win
            t_end = (ks + 1) * dt
            hit = (rbar.max(-1) >= theta) & (t_end >= t_on - 1e-9)[:, None]
            first = jnp.argmax(hit, 0)
            new = (choice < 0) & hit.any(0)
            at = rbar[first, jnp.arange(B)]
            choice = jnp.where(new, jnp.argmax(at, -1), choice)
            dtime = jnp.where(new, t_end[first] - t_on, dtime)
            return (S, In, R, key, Rb, choice, dtime), None

        init = (jnp.full((B, 2), 0.1, jnp.float32), jnp.zeros((B, 2), jnp.float32),
                jnp.zeros((B, 2), jnp.float32), key, jnp.zeros((n_win, B, 2), jnp.float32),
                jnp.full(B, -1), jnp.full(B, jnp.nan, jnp.float32))  # fmt: skip
        out, _ = bm.scan(block, init, jnp.arange(n_blocks))
        return out[5], out[6]

    return jax.jit(run)


def brainpy_circuit(coh, *, seed=0, repeats=1, **kw):
    """Run ``brainpy_circuit_fn`` on a batch; returns (choice, dtime, median s, compile s)."""
    import jax
    import jax.numpy as jnp

    B = len(coh)
    f = brainpy_circuit_fn(B, **kw)
    args = (jnp.asarray(coh, jnp.float32), jnp.full(B, WW["tauS"], jnp.float32),
            jnp.full(B, WW["J11"], jnp.float32))  # fmt: skip
    t0 = time.perf_counter()
    out = jax.block_until_ready(f(*args, jax.random.PRNGKey(seed)))
    compile_s = time.perf_counter() - t0
    times = []
    for i in range(repeats):
        t0 = time.perf_counter()
        out = jax.block_until_ready(f(*args, jax.random.PRNGKey(seed + 1 + i)))
        times.append(time.perf_counter() - t0)
    run_s = statistics.median(times)
    return np.asarray(out[0]), np.asarray(out[1], np.float64), run_s, compile_s - run_s


def brainpy_sweep(tau_S, J11, *, coherence, n_trials, num_parallel, seed=0, **kw):
    """``brainpy.running.jax_vectorize_map`` over parameter sets, ``n_trials`` trials each.

    Returns per-set (choice (n, n_trials), dtime (n, n_trials)) as NumPy arrays.
    """
    import brainpy as bp
    import jax
    import jax.numpy as jnp

    f = brainpy_circuit_fn(n_trials, **kw)
    coh = jnp.full(n_trials, coherence, jnp.float32)

    @jax.jit
    def one_set(tau, J, s):
        return f(coh, jnp.full(n_trials, tau), jnp.full(n_trials, J), jax.random.PRNGKey(s))

    out = bp.running.jax_vectorize_map(
        one_set,
        [
            jnp.asarray(tau_S, jnp.float32),
            jnp.asarray(J11, jnp.float32),
            jnp.arange(len(tau_S), dtype=jnp.uint32) + seed,
        ],  # fmt: skip
        num_parallel=num_parallel,
        clear_buffer=False,  # True deletes live arrays (the closure constants) after chunk 1
    )
    return np.asarray(out[0]), np.asarray(out[1], np.float64)


def summarize_sets(choice, dtime, non_decision=0.1):
    """Per-set accuracy (population 1 correct) and mean RT over decided trials."""
    decided = choice >= 0
    n_dec = decided.sum(1)
    with np.errstate(invalid="ignore", divide="ignore"):
        acc = np.where(n_dec > 0, (choice == 0).sum(1) / n_dec, np.nan)
        rt = np.where(n_dec > 0, np.where(decided, dtime, 0).sum(1) / n_dec + non_decision, np.nan)
    return acc, rt


def with_fallback(fn, *args, **kw):
    """Call a Brian2 peer in cpp_standalone; if that fails, on the runtime device.

    Returns the peer's result, or a string saying why both failed.
    """
    try:
        return fn(*args, mode="cpp_standalone", **kw)
    except Exception as e:  # noqa: BLE001 - reported, never fatal
        first = f"{type(e).__name__}: {str(e)[:100]}"
    try:
        return fn(*args, mode="runtime", **kw)
    except Exception as e:  # noqa: BLE001
        return f"failed: cpp_standalone ({first}); runtime ({type(e).__name__}: {str(e)[:100]})"
