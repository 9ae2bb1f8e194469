"""Peer for W5: the session a user would write without multiscale, a NumPy loop.

The same per-step model as the benchmark's circuit (Wong & Wang 2006 reduced circuit,
appendix parameters, recurrent NMDA weights as a 2 x 2 matrix; Euler gating, exact OU
noise, dt = 1 ms, 1.1 s trials with the stimulus from 0.1 s) and the same online rule
(Hebb on the recurrent matrix every 50 steps of the stimulus epoch on the block's mean
rates), looped in Python over subjects, trials and steps. The per-trial parts are
simplified and cost nothing next to the 1100 steps: a 50-ms boxcar and 15-Hz threshold
instead of the hazard readout, and a reward-modulated Hebbian change of the sensory
weights (dW = eta * d0 * x y * T). Time per step is what the extrapolation uses.

References:
    Wong KF, Wang XJ (2006) J Neurosci 26:1314.
"""

import numpy as np

A, B, D = 270.0, 108.0, 0.154
J11, J12, J_EXT, I0 = 0.2609, 0.0497, 5.2e-4, 0.3255
SIGMA, TAU_AMPA, TAU_S, GAMMA = 0.02, 0.002, 0.1, 0.641
DT, T_ON, T1 = 1e-3, 0.1, 1.1


def transfer(x):
    """Abbott-Chance transfer H(x) (Hz) of currents x (nA)."""
    u = A * x - B
    du = D * u
    small = np.abs(du) < 1e-6
    return np.where(small, 1.0 / D + 0.5 * u, u / np.where(small, 1.0, -np.expm1(-du)))


def step(W_rec, S, I_noise, drive, xi):
    """One Euler step of the circuit: (S, I_noise, rates at the start of the step, Hz)."""
    decay = np.exp(-DT / TAU_AMPA)
    sd = SIGMA / np.sqrt(2.0) * np.sqrt(1.0 - decay**2)
    r = transfer(W_rec @ S + I0 + drive + I_noise)
    S = S + DT * (-S / TAU_S + (1.0 - S) * GAMMA * r)
    return S, I_noise * decay + sd * xi, r


def rates(W_rec, mu0, c, normals):
    """Rates (steps, 2), Hz, of one trial without learning (to check against the circuit)."""
    n_on = round(T_ON / DT)
    drive = J_EXT * mu0 * np.array([1.0 + c, 1.0 - c])
    S, I_noise, out = np.full(2, 0.1), np.zeros(2), []
    for k, xi in enumerate(normals):
        S, I_noise, r = step(W_rec, S, I_noise, drive if k >= n_on else 0.0, xi)
        out.append(r)
    return np.array(out)


def trial(W_rec, mu0, c, normals, eta_rec, every=50):
    """One trial with online Hebb on ``W_rec`` (post x pre, nA). Returns (choice, rates
    at the end, W_rec). ``normals`` (steps, 2) are the OU noise's standard normals."""
    n_steps, n_on = round(T1 / DT), round(T_ON / DT)
    drive = J_EXT * mu0 * np.array([1.0 + c, 1.0 - c])
    S = np.full(2, 0.1)
    I_noise = np.zeros(2)
    acc, n, box, choice = np.zeros(2), 0, [], -1
    for k in range(n_steps):
        on = k >= n_on
        S, I_noise, r = step(W_rec, S, I_noise, drive if on else 0.0, normals[k])
        box.append(r)
        if len(box) > 50:
            box.pop(0)
        if choice < 0 and on:
            m = np.mean(box, axis=0)
            if m.max() > 15.0:
                choice = int(np.argmax(m))
        if on:
            acc, n = acc + r, n + 1
            if n == every or k == n_steps - 1:
                m = acc / n
                W_rec = np.clip(W_rec + eta_rec * np.outer(m, m) * n * DT, -1.0, 1.0)
                acc, n = np.zeros(2), 0
    return choice, r, W_rec


def session(n_trials, rng, eta_rec=1e-7, eta_ff=2e-4, coherence=0.2):
    """One subject's session: 4 sensory units, plastic sensory weights, the circuit with
    online Hebb, a Rescorla-Wagner critic; a reversal at half the trials."""
    pref = np.array([1.0, -1.0, 1.0, -1.0])
    W = np.full((4, 2), 0.5)
    W_rec = np.array([[J11, -J12], [-J12, J11]])
    V, rewards = 0.5, []
    for t in range(n_trials):
        direction = rng.choice([-1.0, 1.0])
        mapping = 1.0 if t < n_trials // 2 else -1.0
        x = np.maximum(15.0 + 15.0 * coherence * direction * pref + 2.0 * rng.normal(size=4), 0)
        u = W.T @ x
        c = (u[0] - u[1]) / max(u.sum(), 1e-9)
        swap = c < 0
        normals = rng.normal(size=(round(T1 / DT), 2))
        choice, r, W_rec = trial(W_rec, 0.5 * u.sum(), abs(c), normals, eta_rec)
        if swap and choice >= 0:
            choice = 1 - choice
        target = 0 if direction * mapping > 0 else 1
        reward = float(choice == target)
        rpe = reward - V
        V += 0.1 * rpe
        d0 = 50.0 * max(rpe, 0.0) - 50.0 * max(-rpe, 0.0)
        y = r[::-1] if swap else r
        W = np.clip(W + eta_ff * d0 * np.outer(x, y) * (T1 - T_ON) * 1e-3, 0.0, 1.0)
        rewards.append(reward)
    return np.array(rewards), W_rec
