"""Validation: every published result the package reproduces, as registered targets.

``multiscale validate`` runs them; ``tests/test_validation.py`` runs the fast ones in CI.
This wing sits on top of the scales: it uses their public API and nothing imports it.
"""

from ._registry import (
    TARGET_MODULES as TARGET_MODULES,
    Check as Check,
    Comparison as Comparison,
    Target as Target,
    holds as holds,
    in_range as in_range,
    load_all as load_all,
    target as target,
    within as within,
)
