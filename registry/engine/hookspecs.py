# mypy: disable-error-code="empty-body"
"""The hooks a checker plugin may implement. These docstrings are the plugin authors' contract.

Implement a hook with ``@registry.hookimpl`` on a function of the same name in your plugin
module. An implementation may take fewer arguments than the spec lists; hooks are always
called with keyword arguments, and specs grow only by adding arguments.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:  # only for annotations; this module is never read by litestar
    from ..schemas import Agreement, Problem
    from .checker import Checker, LintContext

hookspec = pluggy.HookspecMarker("registry")


@hookspec
def register_checkers() -> Sequence[Checker]:
    """Return the checkers this plugin contributes.

    Each checker is an object with a stable ``name`` (lowercase, ``[a-z][a-z0-9_]*``),
    usually a subclass of ``registry.Checker``. The name is what agreements list in
    ``required_checkers``, the key of the agreement's ``[checkers.NAME]`` table, and the
    prefix of the checker's reason codes (``NAME.code``). A checker declares the schema of
    its table as a msgspec Struct in ``config`` and may add lint rules in ``lint()``.
    Two checkers with the same name are an error at start-up.
    """


@hookspec
def lint_agreement(agreement: Agreement, context: LintContext) -> Iterable[Problem]:
    """Return extra lint problems for one agreement that decoded without structural errors.

    For house rules that belong to no checker (an agency's naming policy, say). Rules that
    belong to a checker go in its ``lint()`` method instead. Return ``registry.Problem``
    values with ``severity`` "error" or "warning", a ``rule`` prefixed by your plugin's
    name, a ``message``, the ``field`` path (``"limits.period_days"``) so the problem can be
    placed on its line, and a ``hint`` saying what would be valid.
    """
