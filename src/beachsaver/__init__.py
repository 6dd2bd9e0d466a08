"""Beach-Saver: marine litter clean-up operations platform."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("beachsaver")
except PackageNotFoundError:  # pragma: no cover - running from a source tree without install
    __version__ = "0.0.0"
