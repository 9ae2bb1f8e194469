"""Roitman & Shadlen (2002) reaction-time task: the trials of monkey N, carried in the package.

Provenance: PyDDM's documentation copy of the trials (``mwshinn/PyDDM``,
``doc/downloads/roitman_rts.csv``, MIT license), built by PyDDM's ``extract_roitman.py``
from the Shadlen lab's RoitmanDataCode release; monkey N only (3533 trials), restricted to
0.1 s < RT < 1.65 s (the filter of Huk & Shadlen 2005, used by PyDDM's tutorial), carried
unchanged otherwise. RT = saccade time - motion onset.
"""

import importlib.resources

import pandas as pd

from ._roitman_shadlen import CITATION

PROVENANCE = (
    "roitman_rts.csv of the PyDDM documentation (mwshinn/PyDDM, MIT license), from the "
    "Shadlen lab's RoitmanDataCode; monkey N, 0.1 s < RT < 1.65 s (Huk & Shadlen 2005)."
)


def roitman_2002_trials() -> pd.DataFrame:
    r"""Trial-level choices and RTs of monkey N (Roitman & Shadlen 2002).

    Columns: ``monkey`` (2 = monkey N), ``rt`` (s, saccade time from motion onset),
    ``coh`` (unsigned coherence as a fraction: 0, .032, .064, .128, .256, .512),
    ``correct`` (1 correct, 0 error; at 0 % the randomly rewarded target), ``trgchoice``
    (1 = the target in the recorded neuron's response field, 2 = the other: not a fixed
    left/right). ``df.attrs`` holds ``citation``, ``provenance`` and ``license``.

    The trials are coded by accuracy, so a model symmetric in the two directions is fitted
    with the choice = ``correct`` and the condition = ``coh`` (for the circuit,
    :class:`~multiscale.behavior.CircuitTrials` with these columns).

    Example:
        >>> import multiscale as ms
        >>> df = ms.data.roitman_2002_trials()
        >>> len(df), df["coh"].nunique(), float(df["coh"].max())
        (3533, 6, 0.512)
    """
    path = importlib.resources.files("multiscale.data") / "roitman2002_monkey_n.csv"
    with importlib.resources.as_file(path) as p:
        df = pd.read_csv(p)
    df.attrs.update(citation=CITATION, provenance=PROVENANCE, license="MIT (PyDDM)")
    return df
