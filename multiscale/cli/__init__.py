"""The command line (``multiscale``): the only place where strings become objects.

``multiscale demo | validate | fit | sweep | bench``; run ``multiscale --help``.
This wing sits on top of the scales and the validation wing; nothing imports it.
"""

from ._main import main as main
