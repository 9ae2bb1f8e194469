"""The COBA benchmark network shared by the peer scripts: parameters, statistics, output.

Benchmark 1 of Brette et al. (2007, J Comput Neurosci 23:349), the network of Vogels &
Abbott (2005, J Neurosci 25:10786): 3200 excitatory and 800 inhibitory leaky
integrate-and-fire neurons, ``C_m dV/dt = g_L (E_L - V) + g_e (E_e - V) + g_i (E_i - V)``
with ``C_m`` = 200 pF, ``g_L`` = 10 nS (tau_m = 20 ms), ``E_L`` = reset = -60 mV,
threshold -50 mV, refractory 5 ms; every spike of an excitatory (inhibitory) neuron
raises the conductance ``g_e`` (``g_i``) of each of its targets by 6 nS (67 nS), which
decays with tau_e = 5 ms (tau_i = 10 ms) towards zero; ``E_e`` = 0 mV, ``E_i`` = -80 mV;
connection probability 0.02 from every neuron to every neuron. All neurons start at
``E_L`` with closed synapses. The paper's kick: "the neurons must be randomly stimulated
during the first 50 ms" -- as in NEST's example of the benchmark, each of the first 50
excitatory neurons receives an independent 300 Hz Poisson train from 1 to 51 ms through
an excitatory synapse. 1 s of biological time at dt = 0.1 ms.

Only the standard library and NumPy are imported here, so every peer's interpreter
can use it.
"""

import json
import platform
import resource
import sys

import numpy as np

# Units: ms, mV, nS, pF (the peers' own conventions), converted where an engine needs it.
N_E, N_I = 3200, 800
N = N_E + N_I
P_CONN = 0.02
C_M, G_L = 200.0, 10.0
E_L, V_TH, V_RESET, T_REF = -60.0, -50.0, -60.0, 5.0
E_E, E_I = 0.0, -80.0
TAU_E, TAU_I = 5.0, 10.0
W_E, W_I = 6.0, 67.0
KICK_RATE_HZ, KICK_START, KICK_STOP, N_KICK = 300.0, 1.0, 51.0, 50
DT = 0.1
T_BIO_MS = 1000.0


def spike_stats(times_ms: np.ndarray, idx: np.ndarray, t_ms: float = T_BIO_MS) -> dict:
    """Mean rate (all, E, I; Hz) and the mean ISI CV over neurons with >= 2 ISIs.

    ``times_ms`` and ``idx`` list every spike of the network (neuron index 0..N-1, the
    first ``N_E`` excitatory) over the whole run, kick included.
    """
    times_ms = np.asarray(times_ms, float)
    idx = np.asarray(idx, int)
    counts = np.bincount(idx, minlength=N)
    order = np.lexsort((times_ms, idx))
    t_sorted, i_sorted = times_ms[order], idx[order]
    same = i_sorted[1:] == i_sorted[:-1]
    isi = np.diff(t_sorted)[same]
    owner = i_sorted[1:][same]
    n_isi = np.bincount(owner, minlength=N)
    s1 = np.bincount(owner, weights=isi, minlength=N)
    s2 = np.bincount(owner, weights=isi**2, minlength=N)
    ok = n_isi >= 2
    mean = s1[ok] / n_isi[ok]
    var = np.maximum(s2[ok] / n_isi[ok] - mean**2, 0.0)
    cv = np.sqrt(var) / mean
    sec = t_ms / 1000.0
    return {
        "rate_hz": float(counts.sum() / N / sec),
        "rate_e_hz": float(counts[:N_E].sum() / N_E / sec),
        "rate_i_hz": float(counts[N_E:].sum() / N_I / sec),
        "cv_isi": float(cv.mean()) if cv.size else float("nan"),
        "n_cv_neurons": int(ok.sum()),
        "n_spikes": int(counts.sum()),
    }


def peak_rss_mb(children: bool = False) -> float:
    """Peak resident memory of this process (or of its largest waited-for child), MB."""
    who = resource.RUSAGE_CHILDREN if children else resource.RUSAGE_SELF
    return resource.getrusage(who).ru_maxrss / 1024.0


def emit(result: dict) -> None:
    """Print the result as one JSON line, last on stdout (engines print banners before)."""
    result.setdefault("python", platform.python_version())
    sys.stdout.flush()
    print(json.dumps(result), flush=True)
