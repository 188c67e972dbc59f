"""gmopt: multi-objective analog sizing on gm/ID look-up tables, ngspice and NSGA-II."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("gmopt")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0"
