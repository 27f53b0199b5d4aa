"""Route handlers, one module per resource. Handlers are thin: they check who is asking,
call :class:`registry.service.Registry` and return its Structs."""

from __future__ import annotations

from litestar.datastructures import State

from ...service import Registry


def registry_of(state: State) -> Registry:
    return state.registry
