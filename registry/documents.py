"""Read agreement and party files (TOML or YAML) into Structs, reporting every problem.

msgspec stops at the first structural error of a document; a person fixing a file wants
them all at once. So the raw data is walked field by field against the Struct definitions
(unknown and missing fields, then each value converted on its own), and only a document
with no problem is converted whole.
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import math
import re
import tomllib
import types
import typing
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import msgspec
import yaml

from .locate import Locator, render
from .schemas import Agreement, PartiesFile, Problem

SUFFIXES = {".toml": "toml", ".yaml": "yaml", ".yml": "yaml"}
MAX_FILE_BYTES = 4 * 1024 * 1024

_TOML_POSITION = re.compile(r"\((?:at line (\d+), column \d+|at end of document)\)")
_JSON_POSITION = re.compile(r"\(byte (\d+)\)")
_AT_PATH = re.compile(r" - at `\$(.*)`$")
# tomllib reads a dotted key in time quadratic in its parts: a 4 MB "a.a.a...= 1" would
# take hours. No agreement nests anywhere near this deep.
MAX_KEY_PARTS = 100
_DEEP_KEY = re.compile(
    rf"""(?:\.[ \t]*(?:[A-Za-z0-9_-]+|"[^"\n]*"|'[^'\n]*')[ \t]*){{{MAX_KEY_PARTS}}}"""
)
# Python refuses to read an integer of more than 4,300 digits (sys.int_max_str_digits).
_LONG_NUMBER = re.compile(r"[0-9][0-9_]{4000,}")


@dataclasses.dataclass
class SourceDocument:
    """One file: its text, decoded data, line locator, and the Struct once valid."""

    path: str
    format: str
    data: dict[str, Any] | None = None
    text: str | None = None
    value: Agreement | PartiesFile | None = None
    problems: list[Problem] = dataclasses.field(default_factory=list)

    @functools.cached_property
    def locator(self) -> Locator:
        """Line numbers of the file's paths, worked out only when a problem needs one."""
        if self.text is None:
            return Locator.empty()
        return Locator.for_toml(self.text) if self.format == "toml" else Locator.for_yaml(self.text)

    @property
    def is_parties(self) -> bool:
        return isinstance(self.data, dict) and "party" in self.data

    def problem(
        self,
        severity: str,
        rule: str,
        message: str,
        path: Sequence[str | int] = (),
        hint: str | None = None,
    ) -> Problem:
        """A problem located in this file at ``path``."""
        return Problem(
            severity=severity,  # type: ignore[arg-type]
            rule=rule,
            message=message,
            file=self.path,
            line=self.locator.line(path) if path else None,
            field=render(path) or None,
            hint=hint,
        )


def collect(paths: Iterable[str | Path]) -> tuple[list[Path], list[Problem]]:
    """Expand files and folders into agreement files, in a stable order."""
    found: list[Path] = []
    problems: list[Problem] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found.extend(sorted(p for p in path.rglob("*") if _is_agreement_file(p, path)))
        elif path.is_file():
            if path.suffix not in SUFFIXES:
                problems.append(
                    Problem(
                        severity="error",
                        rule="file.format",
                        message=f"not an agreement file: expected {', '.join(SUFFIXES)}",
                        file=str(path),
                    )
                )
            else:
                found.append(path)
        else:
            problems.append(
                Problem(
                    severity="error",
                    rule="file.missing",
                    message="no such file or folder",
                    file=str(path),
                )
            )
    unique = list(dict.fromkeys(found))
    return unique, problems


def _is_agreement_file(path: Path, folder: Path) -> bool:
    """A TOML or YAML file in ``folder``, not hidden nor inside a hidden folder."""
    hidden = any(part.startswith(".") for part in path.relative_to(folder).parts)
    return path.suffix in SUFFIXES and not hidden and path.is_file()


def read(path: Path) -> SourceDocument:
    """Parse one file and validate its structure."""
    doc = SourceDocument(path=str(path), format=SUFFIXES.get(path.suffix, "toml"))
    try:
        with path.open("rb") as handle:  # a byte past the limit is enough to refuse the file
            raw = handle.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        doc.problems.append(doc.problem("error", "file.unreadable", str(exc.strerror or exc)))
        return doc
    return parse(raw, doc)


def parse(raw: bytes, doc: SourceDocument) -> SourceDocument:
    """Decode ``raw`` as the document's format, then validate it."""
    if len(raw) > MAX_FILE_BYTES:
        doc.problems.append(
            doc.problem("error", "file.too_large", f"file is over {MAX_FILE_BYTES} bytes")
        )
        return doc
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        doc.problems.append(
            doc.problem("error", "file.encoding", f"not UTF-8 text (byte {exc.start})")
        )
        return doc
    if "\x00" in text:
        doc.problems.append(doc.problem("error", "file.encoding", "file contains NUL bytes"))
        return doc
    text = text.removeprefix("\ufeff")  # the byte order mark some Windows editors write
    data = _decode_text(text, doc)
    if data is None:
        return doc
    doc.data = data
    doc.text = text
    unstorable = list(_unstorable(data))
    for path, message in unstorable:
        doc.problems.append(doc.problem("error", "schema", message, path))
    if unstorable:  # text that is not Unicode goes no further: msgspec cannot encode it
        return doc
    target: type = PartiesFile if doc.is_parties else Agreement
    try:
        value: Agreement | PartiesFile = msgspec.convert(data, target)
    except msgspec.ValidationError:
        # msgspec names the first error only; walk the data to name them all.
        errors = list(structure_errors(data, target, ()))
        for path, message, hint in errors:
            doc.problems.append(doc.problem("error", "schema", message, path, hint))
        if not errors:  # the walk should find what msgspec found; never pass silently
            doc.problems.append(doc.problem("error", "schema", "invalid document"))
        return doc
    # Through JSON once, so the value equals what the database gives back
    # (plugin tables hold JSON values: a TOML date in them becomes a string).
    doc.value = msgspec.json.decode(msgspec.json.encode(value), type=target)
    return doc


def _decode_text(text: str, doc: SourceDocument) -> dict[str, Any] | None:
    try:
        if doc.format == "toml":
            deep = _DEEP_KEY.search(text)
            if deep:
                doc.problems.append(
                    _syntax_error(
                        doc,
                        f"TOML syntax error: a dotted key has more than {MAX_KEY_PARTS} parts",
                        text.count("\n", 0, deep.start()) + 1,
                    )
                )
                return None
            data = tomllib.loads(text)
        elif doc.format == "json":
            data = msgspec.json.decode(text)
        else:
            data = yaml.load(text, Loader=StrictBoolLoader)
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        match = _TOML_POSITION.search(message)
        line = None
        if match:
            line = int(match.group(1)) if match.group(1) else text.count("\n") + 1
        message = f"TOML syntax error: {_TOML_POSITION.sub('', message).strip()}"
        doc.problems.append(_syntax_error(doc, message, line))
        return None
    except yaml.reader.ReaderError as exc:  # a character YAML refuses: it has no mark
        where = text.count("\n", 0, exc.position) + 1
        message = f"YAML syntax error: character #x{exc.character:04x}: {exc.reason}"
        doc.problems.append(_syntax_error(doc, message, where))
        return None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        doc.problems.append(
            _syntax_error(
                doc,
                f"YAML syntax error: {getattr(exc, 'problem', None) or exc}",
                mark.line + 1 if mark is not None else None,
            )
        )
        return None
    except msgspec.DecodeError as exc:
        # Untyped, msgspec can only say `$[...]` for where; the byte offset gives the line.
        message = _AT_PATH.sub("", str(exc))
        byte = _JSON_POSITION.search(message)
        line = None
        if byte:
            line = text.encode()[: int(byte.group(1))].count(b"\n") + 1
        elif "truncated" in message:  # the text ended inside a value
            line = text.count("\n") + 1
        doc.problems.append(_syntax_error(doc, f"JSON syntax error: {message}", line))
        return None
    except RecursionError:
        doc.problems.append(doc.problem("error", "file.syntax", "document is nested too deeply"))
        return None
    except ValueError as exc:  # tomllib reads integers with int(), which stops at 4,300 digits
        long = _LONG_NUMBER.search(text)
        line = text.count("\n", 0, long.start()) + 1 if long else None
        message = f"{doc.format.upper()} syntax error: {_reason(exc)}"
        doc.problems.append(_syntax_error(doc, message, line))
        return None
    if not isinstance(data, dict):
        doc.problems.append(
            doc.problem("error", "file.syntax", "a file must hold one table (mapping) at its top")
        )
        return None
    return data


def _syntax_error(doc: SourceDocument, message: str, line: int | None) -> Problem:
    return Problem(severity="error", rule="file.syntax", message=message, file=doc.path, line=line)


def _unstorable(data: Any) -> Iterator[tuple[tuple[str | int, ...], str]]:
    """Values that no store keeps as they are: text with a NUL character (PostgreSQL
    text refuses it) or an unpaired surrogate (not Unicode; only escapes such as
    ``\\u0000`` or ``\\ud800`` make either), and NaN or infinity (JSON has neither: they
    would come back as null). Walked with a stack: documents nest up to the parsers' limit."""
    stack: list[tuple[tuple[str | int, ...], Any]] = [((), data)]
    while stack:
        path, value = stack.pop()
        if isinstance(value, str):
            problem = _bad_text(value)
            if problem:
                yield path, problem
        elif isinstance(value, float) and not math.isfinite(value):
            yield path, "NaN and infinity are not allowed: give a finite number"
        elif isinstance(value, dict):
            for key in value:
                problem = _bad_text(key) if isinstance(key, str) else None
                if problem:
                    yield (*path, key), f"the key: {problem}"
            stack.extend(((*path, k), v) for k, v in reversed(value.items()))
        elif isinstance(value, (list, tuple)):
            stack.extend(((*path, i), v) for i, v in reversed(list(enumerate(value))))


def _bad_text(text: str) -> str | None:
    if "\x00" in text:
        return "text contains a NUL character (\\u0000)"
    if not text.isascii():
        try:
            text.encode()
        except UnicodeEncodeError:
            return "text contains an unpaired surrogate (\\ud800-\\udfff), which is not Unicode"
    return None


def _shown(text: str) -> str:
    """``text`` quoted for a message, cut short: a hostile file may hold megabytes."""
    return repr(text if len(text) <= 40 else text[:40] + "...")


def _reason(exc: Exception) -> str:
    if "integer string conversion" in str(exc):
        return "a number has more than 4,300 digits"
    return str(exc)


class StrictBoolLoader(yaml.SafeLoader):
    """SafeLoader with YAML 1.2 booleans: only true/false. In YAML 1.1 a bare ``on``
    (the key of a status change) or ``no`` would silently become a boolean.

    Aliases (``*name``) are refused: an agreement has no use for them, and nested ones
    expand exponentially (a 2 KB document can take minutes to walk). Keys are text and
    unique, as in TOML. PyYAML lets Python's own errors out of some values (``2025-13-45``,
    ``!!int abc``, a 5,000-digit integer, ``"\\UFFFFFFFF"``); they become YAML errors
    with their line."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise yaml.composer.ComposerError(
                None, None, "aliases (*name) are not allowed in agreement files", event.start_mark
            )
        return super().compose_node(parent, index)

    def fetch_more_tokens(self) -> Any:
        try:
            return super().fetch_more_tokens()
        except (ValueError, OverflowError) as exc:
            raise yaml.scanner.ScannerError(
                None, None, f"cannot read this: {_reason(exc)}", self.get_mark()
            ) from exc

    def construct_object(self, node: Any, deep: bool = False) -> Any:
        try:
            return super().construct_object(node, deep)
        except (ValueError, TypeError, KeyError, IndexError, AttributeError, OverflowError) as exc:
            kind = str(node.tag).rpartition(":")[2]
            what = _shown(node.value) if isinstance(node, yaml.ScalarNode) else "this"
            why = f": {_reason(exc)}" if isinstance(exc, (ValueError, OverflowError)) else ""
            raise yaml.constructor.ConstructorError(
                None, None, f"cannot read {what} as {kind}{why}", node.start_mark
            ) from exc

    def construct_mapping(self, node: Any, deep: bool = False) -> Any:
        mapping = super().construct_mapping(node, deep)
        seen: set[str] = set()
        for key_node, _ in node.value:
            problem = None
            if key_node.tag != "tag:yaml.org,2002:str":
                problem = f"a key must be text: quote {_shown(str(key_node.value))}"
            elif key_node.value in seen:  # PyYAML would keep the last one silently
                problem = f"duplicate key {_shown(key_node.value)}"
            if problem:
                raise yaml.constructor.ConstructorError(None, None, problem, key_node.start_mark)
            seen.add(key_node.value)
        return mapping


StrictBoolLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
StrictBoolLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool",
    re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
    list("tTfF"),
)


# --- structural walk -------------------------------------------------------------------

StructError = tuple[tuple[str | int, ...], str, str | None]


def structure_errors(
    value: Any, annotation: Any, path: tuple[str | int, ...]
) -> Iterator[StructError]:
    """Every structural error of ``value`` against ``annotation``, with paths."""
    inner, hint = _unwrap(annotation)
    origin = typing.get_origin(inner)
    if isinstance(inner, type) and issubclass(inner, msgspec.Struct):
        yield from _struct_errors(value, inner, path)
    elif origin in (typing.Union, types.UnionType) and value is not None:
        members = [a for a in typing.get_args(inner) if a is not type(None)]
        if len(members) == 1:
            yield from structure_errors(value, members[0], path)
        else:
            yield from _leaf_errors(value, inner, path, hint)
    elif origin in (tuple, list) and isinstance(value, list):
        args = typing.get_args(inner)
        item = args[0] if args else Any
        for index, element in enumerate(value):
            yield from structure_errors(element, item, (*path, index))
    elif origin is dict and isinstance(value, dict):
        key_type, value_type = typing.get_args(inner)
        for key, element in value.items():
            yield from _leaf_errors(key, key_type, (*path, key), None, what="key")
            yield from structure_errors(element, value_type, (*path, key))
    else:
        yield from _leaf_errors(value, annotation, path, hint)


_CLOSE_MATCHES = 100  # unknown keys of one table offered a "did you mean"


def _struct_errors(value: Any, struct: type, path: tuple[str | int, ...]) -> Iterator[StructError]:
    if not isinstance(value, dict):
        yield path, f"expected a table, got {_type_name(value)}", None
        return
    fields = _fields(struct)
    unknown = 0
    for key in value:
        if key not in fields:
            # A near miss is looked for among the first few unknown keys of a table only:
            # at about 0.3 ms each, a file of nothing but unknown keys took minutes.
            unknown += 1
            close = (
                difflib.get_close_matches(str(key), list(fields), n=1)
                if unknown <= _CLOSE_MATCHES
                else None
            )
            hint = f"did you mean '{close[0]}'?" if close else None
            valid = ", ".join(fields)
            yield (*path, key), f"unknown field '{key}'", hint or f"valid fields here: {valid}"
    for name, field in fields.items():
        if name not in value:
            if field.required:
                yield (*path, name), f"required field '{name}' is missing", None
            continue
        yield from structure_errors(value[name], field.type, (*path, name))


@functools.cache
def _fields(struct: type) -> dict[str, msgspec.structs.FieldInfo]:
    return {f.encode_name: f for f in msgspec.structs.fields(struct)}


def _leaf_errors(
    value: Any,
    annotation: Any,
    path: tuple[str | int, ...],
    hint: str | None,
    what: str = "value",
) -> Iterator[StructError]:
    try:
        msgspec.convert(value, annotation)
    except msgspec.ValidationError as exc:
        sub, message = _split_error(str(exc))
        yield (*path, *sub), f"invalid {what}: {message}", _hint_for(annotation) or hint


def _split_error(message: str) -> tuple[tuple[str | int, ...], str]:
    """msgspec's ``... - at `$.a[0]``` → (('a', 0), '...')."""
    match = _AT_PATH.search(message)
    if not match:
        return (), _humanize(message)
    parts: list[str | int] = []
    for name, index in re.findall(r"\.([^.\[]+)|\[(\d+)\]", match.group(1)):
        parts.append(int(index) if index else name)
    return tuple(parts), _humanize(message[: match.start()])


def _humanize(message: str) -> str:
    return message.replace("`", "'").replace("Expected", "expected").replace("Invalid", "invalid")


def _unwrap(annotation: Any) -> tuple[Any, str | None]:
    """Strip ``Annotated`` layers, keeping their Meta description and example as a hint."""
    description = example = None
    while typing.get_origin(annotation) is typing.Annotated:
        args = typing.get_args(annotation)
        for meta in args[1:]:
            if isinstance(meta, msgspec.Meta):
                description = description or meta.description
                example = example or (meta.examples[0] if meta.examples else None)
        annotation = args[0]
    hint = description
    if example is not None:
        hint = f"{description or ''} For example: {example!r}".strip()
    return annotation, hint


def _hint_for(annotation: Any) -> str | None:
    """The valid values of a Literal, else the type's description and example."""
    inner, hint = _unwrap(annotation)
    if typing.get_origin(inner) is typing.Literal:
        return "one of: " + ", ".join(repr(a) for a in typing.get_args(inner))
    return hint


def _type_name(value: Any) -> str:
    names: dict[type, str] = {dict: "a table", list: "a list", str: "a string"}
    return names.get(type(value), type(value).__name__)
