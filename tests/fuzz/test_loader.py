"""Hostile agreement and party files: whatever the bytes, reading and linting them gives a
valid document or problems naming the file and a line or field, quickly, and nothing else."""

from __future__ import annotations

import time
import tomllib
import tracemalloc
from datetime import timedelta
from pathlib import Path
from typing import Any

import msgspec
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from registry.cli import main
from registry.documents import MAX_FILE_BYTES, SourceDocument, parse, read
from registry.engine.plugins import Plugins
from registry.errors import InvalidInput
from registry.locate import render
from tests.fuzz.mutations import at, leaves, mutated, serialized, spliced
from tests.fuzz.outcomes import AGREEMENT, PARTIES, load

# Reproducible in CI: the same examples every run, no example database.
SETTINGS = settings(
    max_examples=300,
    deadline=timedelta(seconds=2),
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
FORMATS = ["toml", "yaml", "json"]
BASE: dict[str, Any] = tomllib.loads(AGREEMENT.read_text())
BASE_PARTIES: dict[str, Any] = tomllib.loads(PARTIES.read_text())
BASE_BYTES = {fmt: serialized(BASE, fmt)[0] for fmt in FORMATS}
TOML_BASE = AGREEMENT.read_text()  # with its comments, as people write it
# A bound for a busy machine: alone, the slowest case (4 MB of YAML text) takes about 3 s.
FAST = 10.0


def _same_as_base(doc: SourceDocument) -> bool:
    return doc.value == parse(BASE_BYTES["toml"], SourceDocument("base.toml", "toml")).value


# --- properties ---------------------------------------------------------------------------


@SETTINGS
@given(raw=st.binary(max_size=3000), fmt=st.sampled_from(FORMATS))
def test_any_bytes_give_a_document_or_located_problems(
    plugins: Plugins, raw: bytes, fmt: str
) -> None:
    load(raw, fmt, plugins)


@SETTINGS
@given(data=st.data(), fmt=st.sampled_from(FORMATS))
def test_a_real_agreement_with_bytes_broken_gives_located_problems(
    plugins: Plugins, data: st.DataObject, fmt: str
) -> None:
    load(data.draw(spliced(BASE_BYTES[fmt])), fmt, plugins)


@SETTINGS
@given(data=st.data(), fmt=st.sampled_from(FORMATS))
def test_a_real_agreement_with_keys_values_and_types_changed_gives_located_problems(
    plugins: Plugins, data: st.DataObject, fmt: str
) -> None:
    raw, fmt = serialized(data.draw(mutated(BASE)), fmt)
    load(raw, fmt, plugins)


@SETTINGS
@given(data=st.data(), fmt=st.sampled_from(FORMATS))
def test_a_parties_file_with_keys_values_and_types_changed_gives_located_problems(
    plugins: Plugins, data: st.DataObject, fmt: str
) -> None:
    raw, fmt = serialized(data.draw(mutated(BASE_PARTIES)), fmt)
    load(raw, fmt, plugins)


def _wrong_type(value: Any) -> Any:
    return "text" if isinstance(value, int) else 12345  # bool is an int too


@settings(SETTINGS, max_examples=100)
@given(data=st.data(), fmt=st.sampled_from(["toml", "yaml"]))
def test_a_value_of_the_wrong_type_is_named_with_its_field_and_line(
    plugins: Plugins, data: st.DataObject, fmt: str
) -> None:
    changed = msgspec.json.decode(msgspec.json.encode(BASE))  # dates as text: one kind less
    path = data.draw(st.sampled_from(leaves(changed)))
    at(changed, path[:-1])[path[-1]] = _wrong_type(at(changed, path))
    _, problems = load(serialized(changed, fmt)[0], fmt, plugins)
    named = [p for p in problems if p.field == render(path) and p.severity == "error"]
    assert named, (render(path), problems)
    assert all(p.line is not None for p in named)


# --- explicit hostile cases -----------------------------------------------------------------


def _agreement_with(fmt: str, **changes: Any) -> bytes:
    data = {**BASE, **changes}
    return serialized(data, fmt)[0]


NESTED = 100_000
HOSTILE: dict[str, tuple[str, bytes, str]] = {
    # name: (format, bytes, text the first error must contain)
    "toml arrays 100k deep": ("toml", b"x = " + b"[" * NESTED + b"]" * NESTED, "nested too deeply"),
    "toml inline tables 100k deep": ("toml", b"x = " + b"{a=" * NESTED, "nested too deeply"),
    # Reading time grew with the square of the parts (30,000: 25 s), and so did the
    # locator's memory (100,000 exhausted it); 2,000 show the limit without that risk.
    "toml dotted key of 2,000 parts": ("toml", b"a" + b".a" * 2000 + b" = 1", "more than 100"),
    "toml table header of 2,000 parts": ("toml", b"[a" + b".a" * 2000 + b"]", "more than 100"),
    "json arrays 100k deep": ("json", b"[" * NESTED + b"]" * NESTED, "nested too deeply"),
    "json objects 100k deep": ("json", b'{"a":' * NESTED + b"1" + b"}" * NESTED, "too deeply"),
    "yaml flow 100k deep": ("yaml", b"a: " + b"[" * NESTED + b"]" * NESTED, "nested too deeply"),
    "yaml blocks 1000 deep": (
        "yaml",
        "".join(" " * i + "a:\n" for i in range(1000)).encode(),
        "nested too deeply",
    ),
    "a 10 MB string": (
        "toml",
        b'title = "' + b"x" * 10_000_000 + b'"',
        f"over {MAX_FILE_BYTES} bytes",
    ),
    "toml integer of 5,000 digits": (
        "toml",
        TOML_BASE.replace("review_notice_days = 90", f"review_notice_days = {'9' * 5000}").encode(),
        "more than 4,300 digits",
    ),
    "toml integer of 5,000 digits with underscores": (
        "toml",
        b"x = 1" + b"_0" * 5000,
        "more than 4,300 digits",
    ),
    "yaml integer of 5,000 digits": (
        "yaml",
        b"id: x\nreview_notice_days: " + b"9" * 5000,
        "more than 4,300 digits",
    ),
    "json integer of 5,000 digits": (
        "json",
        b'{"review_notice_days": ' + b"9" * 5000 + b"}",
        "out of range",
    ),
    "json 1e999": ("json", b'{"review_notice_days": 1e999}', "out of range"),
    "json NaN": ("json", b'{"review_notice_days": NaN}', "malformed"),
    "toml nan": ("toml", TOML_BASE.replace("= 90", "= nan").encode(), "NaN and infinity"),
    "toml inf in a plugin table": (
        "toml",
        (TOML_BASE + "x = -inf\n").encode(),
        "NaN and infinity",
    ),
    "yaml .nan": ("yaml", b"review_notice_days: .nan\n", "NaN and infinity"),
    "yaml .inf": ("yaml", b"review_notice_days: .inf\n", "NaN and infinity"),
    "a NUL byte": ("toml", TOML_BASE.replace("mou", "m\x00ou", 1).encode(), "NUL"),
    "toml NUL escape": (
        "toml",
        TOML_BASE.replace('title = "', 'title = "\\u0000', 1).encode(),
        "NUL",
    ),
    "yaml NUL escape": ("yaml", b'title: "a\\0b"\n', "NUL"),
    "json NUL escape": ("json", b'{"title": "a\\u0000b"}', "NUL"),
    "toml NUL escape in a key": ("toml", b'"a\\u0000" = 1\n', "NUL"),
    "yaml surrogate escape": ("yaml", b'title: "\\ud800"\n', "unpaired surrogate"),
    "toml surrogate escape": ("toml", b'title = "\\ud800"\n', "Unicode scalar"),
    "yaml escape past U+10FFFF": ("yaml", b'title: "\\UFFFFFFFF"\n', "cannot read"),
    "invalid UTF-8": ("toml", b'title = "\xff"\n', "not UTF-8"),
    "an overlong NUL": ("yaml", b"title: \xc0\x80\n", "not UTF-8"),
    "a UTF-8 encoded surrogate": ("json", b'{"title": "\xed\xa0\x80"}', "not UTF-8"),
    "a UTF-16 byte order mark": ("toml", b"\xff\xfet\x00", "not UTF-8"),
    "yaml alias bomb": (
        "yaml",
        b'a: &a ["x","x","x","x","x","x","x","x","x"]\n'
        + b"".join(
            f"{chr(98 + i)}: &{chr(98 + i)} [{','.join(['*' + chr(97 + i)] * 9)}]\n".encode()
            for i in range(9)
        ),
        "aliases",
    ),
    "yaml merge of an anchor": ("yaml", b"base: &b {id: x}\nother:\n  <<: *b\n", "aliases"),
    "yaml python tag": ("yaml", b"id: !!python/object/apply:os.system ['true']\n", "constructor"),
    "yaml date that does not exist": ("yaml", b"effective: 2025-13-45\n", "month must be"),
    "yaml !!int of text": ("yaml", b"review_notice_days: !!int abc\n", "cannot read 'abc' as int"),
    "yaml !!timestamp of text": ("yaml", b"effective: !!timestamp abc\n", "as timestamp"),
    "yaml !!float of nothing": ("yaml", b"x: !!float ''\n", "as float"),
    "yaml integer key": ("yaml", b"id: x\n1: y\n", "a key must be text"),
    "yaml null key": ("yaml", b"id: x\nnull: y\n", "a key must be text"),
    "yaml null key in a plugin table": (
        "yaml",
        b"checkers:\n  irc6103:\n    null: 1\n",
        "a key must be text",
    ),
    "yaml date key": ("yaml", b"checkers:\n  2025-01-01: 1\n", "a key must be text"),
    "yaml duplicate key": ("yaml", b"id: x\ntitle: a\nid: y\n", "duplicate key 'id'"),
    "yaml two documents": ("yaml", b"id: x\n---\nid: y\n", "another document"),
    "toml duplicate key": ("toml", b'id = "x"\nid = "y"\n', "Cannot overwrite"),
    "toml duplicate table": ("toml", b"[fields]\n[fields]\n", "Cannot declare"),
    "json top level array": ("json", b"[]", "at its top"),
    "yaml top level text": ("yaml", b"just text", "at its top"),
    "empty toml": ("toml", b"", "required field 'id' is missing"),
    "json truncated": ("json", b'{"id": "x",\n"title": "', "truncated"),
}


@pytest.mark.parametrize("name", HOSTILE)
def test_a_hostile_file_gets_a_clear_error_fast(plugins: Plugins, name: str) -> None:
    fmt, raw, expected = HOSTILE[name]
    started = time.perf_counter()
    doc, _ = load(raw, fmt, plugins)
    assert time.perf_counter() - started < FAST
    assert doc.value is None
    assert expected in doc.problems[0].message, doc.problems[:3]


@pytest.mark.parametrize(
    ("fmt", "line", "raw"),
    [
        ("toml", 2, b'id = "x"\nx = ' + b"9" * 5000 + b"\n"),
        ("yaml", 3, b"id: x\ntitle: y\nreview_notice_days: !!int abc\n"),
        ("yaml", 4, b"id: x\ntitle: y\nkind: mou\n1: y\n"),
        ("json", 2, b'{"id": "x",\n "title": NaN}'),
        ("json", 3, b'{"id": "x",\n "title": "y",\n "kind": "'),
    ],
    ids=["toml giant integer", "yaml bad tag", "yaml integer key", "json NaN", "json cut"],
)
def test_a_syntax_error_names_its_line(plugins: Plugins, fmt: str, line: int, raw: bytes) -> None:
    doc, _ = load(raw, fmt, plugins)
    (problem,) = doc.problems
    assert problem.line == line, problem


def test_a_line_separator_in_a_toml_comment_leaves_later_lines_right(plugins: Plugins) -> None:
    """tomllib ends lines at LF only; the locator also ended them at U+2028 and NEL."""
    raw = b'id = "x"\n# one \xe2\x80\xa8 two \xc2\x85 three\nkind = 5\n'
    doc, _ = load(raw, "toml", plugins)
    assert [p.line for p in doc.problems if p.field == "kind"] == [3]


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_huge_string_within_the_size_limit_is_a_located_error_fast(
    plugins: Plugins, fmt: str
) -> None:
    raw = _agreement_with(fmt, title="x" * (MAX_FILE_BYTES - 10_000))
    started = time.perf_counter()
    doc, _ = load(raw, fmt, plugins)
    assert time.perf_counter() - started < FAST
    (problem,) = doc.problems
    assert problem.field == "title" and "length <= 10000" in problem.message


@pytest.mark.parametrize("fmt", FORMATS)
def test_an_escaped_nul_in_text_is_refused_at_its_field(plugins: Plugins, fmt: str) -> None:
    """It used to load, and then PostgreSQL refused the title with a DataError."""
    doc, _ = load(_agreement_with(fmt, title="Memorandum\x00"), fmt, plugins)
    assert doc.value is None
    assert [p.field for p in doc.problems] == ["title"]
    assert doc.problems[0].line is not None


@pytest.mark.parametrize("fmt", ["toml", "yaml"])
def test_nan_in_a_plugin_table_is_refused_not_turned_into_null(plugins: Plugins, fmt: str) -> None:
    checkers = {"irc6103": {**BASE["checkers"]["irc6103"], "address_field": float("nan")}}
    doc, _ = load(_agreement_with(fmt, checkers=checkers), fmt, plugins)
    assert doc.value is None
    assert "checkers.irc6103.address_field" in [p.field for p in doc.problems]


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_byte_order_mark_is_passed_over(plugins: Plugins, fmt: str) -> None:
    assert _same_as_base(load(b"\xef\xbb\xbf" + BASE_BYTES[fmt], fmt, plugins)[0])


@pytest.mark.parametrize("fmt", FORMATS)
def test_windows_line_ends_read_the_same(plugins: Plugins, fmt: str) -> None:
    raw = BASE_BYTES[fmt].replace(b"\n", b"\r\n")
    assert _same_as_base(load(raw, fmt, plugins)[0])


def test_a_yaml_anchor_without_an_alias_is_harmless(plugins: Plugins) -> None:
    raw = BASE_BYTES["yaml"].replace(b"kind: mou", b"kind: &k mou")
    assert _same_as_base(load(raw, "yaml", plugins)[0])


def test_a_file_much_larger_than_the_limit_is_not_read_whole(tmp_path: Path) -> None:
    path = tmp_path / "huge.toml"
    with path.open("wb") as handle:  # sparse: 256 MiB on the disk's books, nothing written
        handle.truncate(256 * 1024**2)
    tracemalloc.start()
    try:
        doc = read(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert [p.rule for p in doc.problems] == ["file.too_large"]
    assert peak < 4 * MAX_FILE_BYTES


def test_a_folder_with_a_hostile_file_loads_nothing(registry_at: Any, tmp_path: Path) -> None:
    folder = tmp_path / "agreements"
    folder.mkdir()
    (folder / "parties.toml").write_bytes(PARTIES.read_bytes())
    (folder / "good.toml").write_bytes(AGREEMENT.read_bytes())
    (folder / "bad.yaml").write_bytes(b'id: x\ntitle: "a\\0b"\n' + b"x: " + b"[" * NESTED)
    with pytest.raises(InvalidInput) as raised:
        registry_at.load([folder])
    assert any(p.file and p.file.endswith("bad.yaml") for p in raised.value.problems)
    assert registry_at.list_agreements() == []


def test_an_agreement_with_an_escaped_nul_never_reaches_the_database(
    registry_at: Any, tmp_path: Path
) -> None:
    """On PostgreSQL this was a DataError (text cannot hold NUL), on SQLite a stored NUL."""
    folder = tmp_path / "agreements"
    folder.mkdir()
    (folder / "parties.toml").write_bytes(PARTIES.read_bytes())
    (folder / "a.toml").write_text(TOML_BASE.replace('title = "', 'title = "\\u0000', 1))
    with pytest.raises(InvalidInput) as raised:
        registry_at.load([folder])
    assert [p.field for p in raised.value.problems if p.severity == "error"] == ["title"]
    assert registry_at.list_agreements() == []


def test_terminal_escapes_in_a_file_do_not_reach_the_terminal(tmp_path: Path) -> None:
    """Lint quotes unknown keys and values back: an ESC sequence in one could clear or
    rewrite the screen of whoever runs it."""
    path = tmp_path / "a.yaml"
    path.write_bytes(b'id: x\n"\\e[2J\\e[31mkey\\x9b": 1\n')
    result = CliRunner().invoke(
        main, ["--database", f"sqlite:///{tmp_path / 'r.db'}", "agreements", "lint", str(path)]
    )
    assert result.exit_code == 2, result.output
    assert "\\x1b[2J\\x1b[31mkey\\x9b" in result.output
    assert "\x1b" not in result.output and "\x9b" not in result.output


@pytest.mark.parametrize("fmt", FORMATS)
def test_the_documents_broken_above_are_valid_to_begin_with(plugins: Plugins, fmt: str) -> None:
    """So that every problem above comes from the change made."""
    assert _same_as_base(load(BASE_BYTES[fmt], fmt, plugins)[0])
    assert load(serialized(BASE_PARTIES, fmt)[0], fmt, plugins)[0].value is not None


@pytest.mark.parametrize(
    "raw",
    [
        b'"\\uD800":\n- id: irs\n  name: Internal Revenue Service\n',  # a key, top level
        b'party:\n- id: irs\n  "\\uDC00": x\n',  # a key, inside
    ],
)
def test_a_parties_file_with_a_surrogate_key_is_refused_not_a_crash(
    plugins: Plugins, raw: bytes
) -> None:
    """Found by the property above in CI (its examples depend on the hash seed): msgspec
    cannot encode such a key to name it, so the document goes no further."""
    doc, _ = load(raw, "yaml", plugins)
    assert doc.value is None and any("surrogate" in p.message for p in doc.problems)
