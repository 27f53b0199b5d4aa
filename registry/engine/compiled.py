"""Compiled twins of the per-record fast paths (Cython, built by setup.py when a C
compiler is at hand). A twin only picks out records that are certainly fine; the Python
code decides the rest, so decisions are the same with or without it, only slower
without. ``REGISTRY_PURE_PYTHON=1`` leaves the twins unused (to rule them out, or to time
the difference)."""

from __future__ import annotations

import importlib
import os
from typing import Any


def twin(module: str) -> Any:
    """The compiled module ``module``, or None when it was not built or is turned off."""
    if os.environ.get("REGISTRY_PURE_PYTHON"):
        return None
    try:
        return importlib.import_module(module)
    except ImportError:
        return None
