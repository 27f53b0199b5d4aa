"""Printing for people (rich tables on a terminal, plain text in a pipe) and for programs."""

from __future__ import annotations

import datetime
import re
import sys
from collections.abc import Iterable, Sequence
from typing import Any

import click
import msgspec
from rich.console import Console
from rich.table import Table
from rich.text import Text

from ..schemas import Problem

FORMATS = click.Choice(["table", "json"])
# Control characters other than tab and newline. Files and requests are hostile input, and
# what they hold reaches the terminal in messages: an ESC sequence there could recolour,
# clear or rewrite what the reader sees. They are printed as \x1b and the like instead.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def printable(text: str) -> str:
    """``text`` with control characters shown as escapes, safe to print to a terminal."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m[0]):02x}", text)


class Output:
    _current: Output | None = None

    def __init__(self) -> None:
        self.console = Console(soft_wrap=False, width=None if sys.stdout.isatty() else 200)
        self.errors = Console(stderr=True, soft_wrap=True)

    @classmethod
    def current(cls) -> Output:
        if cls._current is None:
            cls._current = Output()
        return cls._current

    def json(self, value: Any) -> None:
        sys.stdout.write(msgspec.json.format(msgspec.json.encode(value).decode(), indent=2) + "\n")
        sys.stdout.flush()

    def line(self, text: str = "") -> None:
        self.console.print(printable(text), highlight=False, markup=False, soft_wrap=True)

    def error(self, message: str) -> None:
        self.errors.print(f"error: {printable(message)}", highlight=False, markup=False)

    def error_note(self, message: str) -> None:
        """A note for people on standard error, leaving standard output to the result."""
        self.errors.print(printable(message), highlight=False, markup=False)

    def table(
        self, title: str | None, columns: Sequence[str], rows: Iterable[Sequence[Any]]
    ) -> None:
        table = Table(title=title, show_lines=False, header_style="bold")
        for column in columns:
            table.add_column(column, overflow="fold")
        count = 0
        for row in rows:
            table.add_row(*(Text(_cell(v)) for v in row))
            count += 1
        if count == 0:
            self.line(f"{title}: none" if title else "none")
            return
        self.console.print(table)

    def problems(self, problems: Sequence[Problem], *, to_stderr: bool = False) -> None:
        """One problem a line, ``file:line: field: severity: message [rule]``, with hints.

        Lines are never wrapped, so editors and ``grep`` can read them."""
        stream = self.errors if to_stderr else self.console
        lines: list[str] = []
        for problem in problems:
            lines.append(
                printable(
                    f"{problem.location()}: {problem.severity}: {problem.message} [{problem.rule}]"
                )
            )
            if problem.hint:
                lines.append(printable(f"    hint: {problem.hint}"))
            if len(lines) >= _LINES_A_PRINT:
                _print_lines(stream, lines)
        _print_lines(stream, lines)


# Problems are printed this many lines at a time: rich spends about 0.3 ms on each call,
# which a file with a quarter of a million unknown keys made most of a minute and a half.
_LINES_A_PRINT = 1_000


def _print_lines(stream: Console, lines: list[str]) -> None:
    if lines:
        stream.print("\n".join(lines), highlight=False, markup=False, soft_wrap=True)
        lines.clear()


def summary(problems: Sequence[Problem], files: int | None = None) -> str:
    errors = sum(p.severity == "error" for p in problems)
    warnings = len(problems) - errors
    text = f"{errors} error{'s' * (errors != 1)}, {warnings} warning{'s' * (warnings != 1)}"
    return text + (f" in {files} file{'s' * (files != 1)}" if files is not None else "")


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, (tuple, list)):
        return printable(", ".join(map(str, value)))
    if isinstance(value, datetime.datetime):
        return value.strftime("%Y-%m-%d %H:%M:%SZ")
    return printable(str(value))


class DateType(click.ParamType):
    name = "DATE"

    def convert(self, value: Any, param: Any, ctx: Any) -> datetime.date:
        if isinstance(value, datetime.date):
            return value
        try:
            return datetime.date.fromisoformat(value)
        except ValueError:
            self.fail(f"{value!r} is not a date: expected YYYY-MM-DD", param, ctx)


DATE = DateType()
