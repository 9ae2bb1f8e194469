"""Figures (matplotlib). A leaf: nothing else in multiscale imports this package.

Every function takes data or a result Module and an optional ``ax``, draws on it, and
returns the ``Axes``; none calls ``plt.show()``.
"""
