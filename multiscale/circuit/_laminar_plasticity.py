r"""Layer-specific plasticity of a laminar column, as configuration.

Each projection of a :class:`~multiscale.circuit.LaminarColumn` has a ``rule`` slot; here
the projections onto superficial (L2/3) populations receive one rule and those onto deep
(L5/6) populations another, each with its own learning rate (the rule's ``eta``). By
default only projections from excitatory populations carry a rule. Between trials,
:func:`update_layer_weights` applies every rule to its projection's weights from the
trial's mean rates.

**"Fast superficial, stable deep" is a choice, not a finding.** Developmental data show
that plasticity windows close layer by layer (layer-4 thalamocortical LTP is lost by
P8–9 in rat barrel cortex, Isaac et al. 1997; L2/3 maps are shaped later, P12–14, Stern
et al. 2001), and adult plasticity is smaller and slower than juvenile (Sato & Stryker
2008); but no source we found shows that adult deep layers are less plastic than
superficial ones, and L5 neurons show robust experience-dependent structural plasticity
in adult barrel cortex (Wilbrecht et al. 2010). Give the deep rule a smaller ``eta`` only
as a modelling hypothesis.

**Developmental windows are an age-dependent gate, not a mechanism.**
:class:`PlasticityWindow` multiplies a rule's learning rate by a smooth window of
postnatal age, $g(a) = \sigma((a - a_\mathrm{open})/w)\,[g_\infty + (1 - g_\infty)\,
\sigma((a_\mathrm{close} - a)/w)]$, with $\sigma$ the logistic function: closed before
the window opens, 1 inside it, $g_\infty$ after it.
:data:`RAT_BARREL_WINDOWS` sets the windows from the data where they exist (L4
thalamocortical LTP present at P2–5 and lost by P8–9; L2/3 inputs strengthened by
experience only in the second and third postnatal weeks, with L2/3 → L2/3 inputs later and
longer than L4 → L2/3, Wen & Barth 2011; adult L2/3 and L5 plasticity non-zero). The
adult floors and the exact close of the L2/3 windows are choices. The gate reproduces the
ordering of the windows because it is built from it; what closes the windows (the loss
of silent synapses, shortening NMDA currents, maturing PV inhibition) is not modelled.

References:
    Isaac JTR, Crair MC, Nicoll RA, Malenka RC (1997) Silent synapses during development
    of thalamocortical inputs. Neuron 18:269-280.

    Stern EA, Maravall M, Svoboda K (2001) Rapid development and plasticity of layer 2/3
    maps in rat barrel cortex in vivo. Neuron 31:305-315.

    Wen JA, Barth AL (2011) Input-specific critical periods for experience-dependent
    plasticity in layer 2/3 pyramidal neurons. J Neurosci 31:4456-4465.

    Sato M, Stryker MP (2008) Distinctive features of adult ocular dominance plasticity.
    J Neurosci 28:10278-10286.

    Wilbrecht L, Holtmaat A, Wright N, Fox K, Svoboda K (2010) Structural plasticity
    underlies experience-dependent functional plasticity of cortical circuits. J Neurosci
    30:4927-4932.
"""

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, ArrayLike, Float

from .._checks import Constraints, check_fields
from ._laminar import LaminarColumn
from ._projections import Dense

Param = Float[ArrayLike, ""]
_SUPERFICIAL = (0, 1)  # L2/3 E, L2/3 I
_EXCITATORY = (0, 2)  # L2/3 E, L5/6 E


def with_layer_rules(
    column: LaminarColumn,
    *,
    superficial: eqx.Module | None = None,
    deep: eqx.Module | None = None,
    excitatory_only: bool = True,
) -> LaminarColumn:
    """The column with each projection's ``rule`` set by the layer of its target.

    Args:
        column: the column.
        superficial: the rule (e.g. ``ms.synapse.Hebb(eta=...)``) of projections onto
            L2/3 populations, or ``None`` (no plasticity there).
        deep: the rule of projections onto L5/6 populations, or ``None``.
        excitatory_only: give rules only to projections from excitatory populations
            (True); inhibitory weights are negative, which most rules' bounds exclude.

    Returns:
        The column with the rules in its projections' ``rule`` slots.
    """
    projs = []
    for p in column.circuit.projections:
        if excitatory_only and p.pre not in _EXCITATORY:
            rule = None
        else:
            rule = superficial if p.post in _SUPERFICIAL else deep
        projs.append(eqx.tree_at(lambda q: q.rule, p, rule, is_leaf=lambda x: x is None))
    return eqx.tree_at(lambda c: c.circuit.projections, column, tuple(projs))


def update_layer_weights(
    column: LaminarColumn, rates: Float[ArrayLike, " units"], duration: Param
) -> LaminarColumn:
    """Apply every projection's rule once, from a trial's mean rates.

    Each rule is stepped from ``rule.init(W.T)`` (weights as (pre, post)) with the mean
    presynaptic and postsynaptic rates held for ``duration`` (s); projections without a
    rule keep their weights.

    Args:
        column: a column whose projections carry rules (:func:`with_layer_rules`).
        rates: mean rate of every unit over the trial, Hz (units,).
        duration: how long the rates were held, s.

    Returns:
        The column with updated weights.
    """
    rates = jnp.asarray(rates)
    if rates.shape != (column.n_units,):
        raise ValueError(f"`rates` must have shape ({column.n_units},), got {rates.shape}")
    units = [column.units(name) for name in ("L23E", "L23I", "L56E", "L56I")]
    projs = []
    for p in column.circuit.projections:
        if p.rule is None:
            projs.append(p)
            continue
        if not isinstance(p.weight, Dense):
            raise TypeError("update_layer_weights needs Dense weights on plastic projections")
        W = jnp.asarray(p.weight.W)
        state = p.rule.step(p.rule.init(W.T), rates[units[p.pre]], rates[units[p.post]], duration)
        projs.append(eqx.tree_at(lambda q: q.weight.W, p, state.weights.T))
    return eqx.tree_at(lambda c: c.circuit.projections, column, tuple(projs))


class PlasticityWindow(eqx.Module):
    r"""An age-dependent gate on a learning rate (see the module docstring).

    $g(a) = \sigma((a - a_\mathrm{open})/w)\,[g_\infty + (1 - g_\infty)\,
    \sigma((a_\mathrm{close} - a)/w)]$, dimensionless, in $[0, 1]$.

    Attributes:
        open_age: $a_\mathrm{open}$, postnatal days (half-open age).
        close_age: $a_\mathrm{close}$, postnatal days (half-closed age).
        width: $w$, days (0.5).
        adult: $g_\infty$, the gate after the window (0: closed for good).
    """

    open_age: Param
    close_age: Param
    width: Param = 0.5
    adult: Param = 0.0
    constraints = Constraints(
        finite=("open_age", "close_age"), positive=("width",), fraction=("adult",)
    )

    def __check_init__(self):
        check_fields("PlasticityWindow", self, self.constraints)

    def __call__(self, age: Float[ArrayLike, "..."]) -> Array:
        """The gate at postnatal ``age`` (days)."""
        a, w = jnp.asarray(age), jnp.asarray(self.width)
        rise = jax.nn.sigmoid((a - jnp.asarray(self.open_age)) / w)
        fall = jax.nn.sigmoid((jnp.asarray(self.close_age) - a) / w)
        g = jnp.asarray(self.adult)
        return rise * (g + (1.0 - g) * fall)


RAT_BARREL_WINDOWS: dict[str, PlasticityWindow] = {
    # Silent TC synapses and their LTP at P2-5, lost by P8-9 (Isaac et al. 1997).
    "L4 thalamocortical": PlasticityWindow(open_age=0.0, close_age=8.5),
    # L2/3 responses mature at P12-14 (Stern et al. 2001); experience strengthens L4 ->
    # L2/3 inputs in the second and third weeks (Wen & Barth 2011). Adult floor: a choice.
    "L4 -> L2/3": PlasticityWindow(open_age=11.0, close_age=21.0, width=1.0, adult=0.2),
    # Delayed and prolonged relative to L4 -> L2/3 (Wen & Barth 2011); the close is a choice.
    "L2/3 -> L2/3": PlasticityWindow(open_age=13.0, close_age=28.0, width=1.0, adult=0.2),
    # Adult L5 structural and functional plasticity (Wilbrecht et al. 2010): never closed.
    "L5": PlasticityWindow(open_age=7.0, close_age=28.0, width=1.0, adult=0.5),
}
"""Developmental plasticity gates for rat/mouse barrel cortex, by pathway (see above)."""


def gate_rule(rule: eqx.Module, window: PlasticityWindow, age: Param) -> eqx.Module:
    """``rule`` with its learning rate ``eta`` multiplied by ``window(age)``."""
    if not hasattr(rule, "eta"):
        raise TypeError(f"`rule` must have a learning rate `eta`; {type(rule).__name__} has none")
    return eqx.tree_at(lambda r: r.eta, rule, jnp.asarray(rule.eta) * window(age))
