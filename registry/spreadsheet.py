"""CSV that a spreadsheet opens safely.

Agreement titles and other free text come from whoever registers an agreement; a cell that
starts with ``=``, ``+``, ``-`` or ``@`` (or a tab or carriage return) is read by Excel,
LibreOffice and Google Sheets as a formula, and ``=HYPERLINK(...)`` or ``=WEBSERVICE(...)``
in an export a reviewer opens would then run. Such a text gets a leading apostrophe, as
OWASP advises ("CSV injection"); numbers are left as they are.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence

_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def cell(value: object) -> object:
    """``value``, or a text that starts like a formula with an apostrophe before it."""
    if isinstance(value, str) and value.startswith(_FORMULA):
        return "'" + value
    return value


def to_csv(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """CSV with CRLF line ends (RFC 4180), every cell through :func:`cell`."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows([cell(value) for value in row] for row in rows)
    return out.getvalue()
