"""Figures (matplotlib). A leaf: nothing else in multiscale imports this package.

Every function takes data or a result Module and an optional ``ax``, draws on it, and
returns the ``Axes``; none calls ``plt.show()``.
"""

from ._cascade import plot_cascade_memory as plot_cascade_memory
from ._ddm import (
    ddm_chronometric as ddm_chronometric,
    ddm_psychometric as ddm_psychometric,
    ddm_rt_density as ddm_rt_density,
)
from ._decision import (
    chronometric_curve as chronometric_curve,
    decision_trajectories as decision_trajectories,
    phase_plane as phase_plane,
    psychometric_curve as psychometric_curve,
    quantile_probability as quantile_probability,
    rt_distributions as rt_distributions,
)
from ._foraging import foraging_session as foraging_session, matching_law as matching_law
from ._kinetics import (
    mg_block_curve as mg_block_curve,
    receptor_response as receptor_response,
    short_term_efficacies as short_term_efficacies,
    spine_calcium_trace as spine_calcium_trace,
)
from ._learning import (
    learning_curve as learning_curve,
    tagging_protocol as tagging_protocol,
    weight_trajectory as weight_trajectory,
)
from ._plasticity import (
    frequency_dependence as frequency_dependence,
    stdp_curve as stdp_curve,
)
from ._rules import (
    bcm_curve as bcm_curve,
    stdp_frequency as stdp_frequency,
    stdp_trajectory as stdp_trajectory,
    stdp_window as stdp_window,
)
from ._sweep import sweep_heatmap as sweep_heatmap
