"""The sweep command line (``multiscale sweep CONFIG.toml``), the circuit's sweep readout, the
heatmap figure."""

import pathlib
import textwrap

import jax.numpy as jnp
import jax.random as jr
import numpy as np

from multiscale.cli._sweep import MODELS, run_config, sweep_command
from multiscale.sweep import STATUS_OK, Grid, Halton, sweep
from multiscale.sweep._decision import STATUS_UNDECIDED
from multiscale.synapse import SaturatingNMDA


def _write_config(tmp_path, body):
    path = tmp_path / "sweep.toml"
    path.write_text(textwrap.dedent(body))
    return path


def test_command(tmp_path, capsys):
    path = _write_config(
        tmp_path,
        """
        model = "saturating_nmda"
        readouts = ["steady_gating_40hz", "gamma"]
        output = "out"
        memory_budget = "64 MiB"
        [design]
        kind = "latin_hypercube"
        n = 12
        [parameters]
        tau_decay = { low = 0.05, high = 0.2 }
        alpha = { low = 100.0, high = 1000.0 }
        """,
    )
    assert sweep_command(str(path)) == 0
    assert "12 parameter sets, 0 failed" in capsys.readouterr().out
    assert sweep_command(str(path)) == 0  # rerunning resumes (here: nothing left to do)
    capsys.readouterr()
    ds, out = run_config(path, progress=False)
    assert out == pathlib.Path(tmp_path / "out")
    g = ds["gamma"].values
    np.testing.assert_allclose(g, 0.641 * ds["alpha"].values * 0.002, rtol=1e-6)
    assert set(MODELS) >= {"saturating_nmda", "tsodyks_markram", "mg_block"}
    bad = _write_config(
        tmp_path, 'model = "saturating_nmda"\noutput = "o"\n[parameters]\nfoo = {}\n'
    )
    assert sweep_command(str(bad)) == 2
    err = capsys.readouterr().err
    assert "unknown key 'foo' in [parameters] of 'saturating_nmda'" in err
    assert err.count("\n") == 1 and "tau_decay" in err


def test_command_decision_circuit(tmp_path):
    """The circuit's readout through the CLI: a too-short NMDA decay decides nothing."""
    path = _write_config(
        tmp_path,
        """
        model = "wong_wang_2006"
        readouts = ["coh_51.2"]
        output = "circuit"
        [parameters]
        "nmda.tau_decay" = { values = [0.05, 0.1] }
        """,
    )
    ds, _ = run_config(path, progress=False)
    assert ds["coh_51.2_accuracy"].dims == ("nmda.tau_decay",)
    np.testing.assert_array_equal(ds["status"].values, [STATUS_UNDECIDED, STATUS_OK])
    assert np.isnan(ds["coh_51.2_accuracy"].values[0]) and ds["coh_51.2_p_decided"][0] == 0
    # At 51.2 % coherence and the default circuit nearly every trial is decided correctly
    # (Wong & Wang 2006 Fig. 3: ~100 %); 64 trials.
    assert ds["coh_51.2_accuracy"].values[1] > 0.9 and ds["coh_51.2_p_decided"][1] == 1
    assert 0.2 < ds["coh_51.2_mean_rt"].values[1] < 1.0


TAU = lambda m: m.tau_decay  # noqa: E731
ALPHA = lambda m: m.alpha  # noqa: E731


def test_heatmap(tmp_path):
    import matplotlib.pyplot as plt

    from multiscale.plot import sweep_heatmap

    def fragile(model, key):
        del key
        return jnp.sqrt(model.tau_decay - 0.06) * model.steady_gating(40.0)

    grid = sweep(
        fragile,
        SaturatingNMDA(),
        Grid({TAU: np.linspace(0.05, 0.2, 4), ALPHA: np.linspace(250.0, 1000.0, 3)}),
        key=jr.key(0),
        progress=False,
    )
    members = sweep(
        fragile,
        SaturatingNMDA(),
        Halton({TAU: (0.05, 0.2), ALPHA: (100.0, 1000.0)}, 20),
        key=jr.key(0),
        progress=False,
    )
    fig, (a, b) = plt.subplots(1, 2)
    assert sweep_heatmap(grid, "output", ax=a) is a
    assert a.get_xlabel() == "tau_decay" and a.get_ylabel() == "alpha"
    mesh = a.collections[0].get_array()
    assert mesh.mask.reshape(3, 4)[:, 0].all() and not mesh.mask.reshape(3, 4)[:, 1:].any()
    assert sweep_heatmap(members, "output", ax=b) is b
    plt.close(fig)
