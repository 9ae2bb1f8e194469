"""Behavioral data in and out, and published data sets carried with the package."""

from ..behavior import Trials as Trials
from ._cavanagh import cavanagh_2011 as cavanagh_2011
from ._formulas import link_predictor as link_predictor, regression as regression
from ._rl_trials import load_rl_trials as load_rl_trials
from ._roitman_shadlen import roitman_shadlen_2002 as roitman_shadlen_2002
from ._roitman_trials import roitman_2002_trials as roitman_2002_trials
from ._trials import (
    HDDM as HDDM,
    HSSM as HSSM,
    PYDDM as PYDDM,
    Convention as Convention,
    LoadReport as LoadReport,
    load_trials as load_trials,
    read_csv as read_csv,
)
