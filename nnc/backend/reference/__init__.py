"""Reference backend: every kernel in plain Python, written the way the math reads.

Step through any of these in a debugger; `nnc.use("reference")` routes all layers here."""
from .dense import *  # noqa: F401,F403
from . import dense as _dense

__all__ = list(_dense.__all__)
