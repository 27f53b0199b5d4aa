"""Reading agreement and party files: every structural problem at once, each on its line."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

import msgspec
import pytest
import yaml

from registry.documents import MAX_FILE_BYTES, SourceDocument, collect, parse, read
from registry.schemas import Agreement, PartiesFile, Problem
from registry.schemas.types import SLUG_PATTERN
from tests.conftest import BASE_AGREEMENT, PARTIES

Write = Callable[[str, str], SourceDocument]


@pytest.fixture
def write(tmp_path: Path) -> Write:
    """Write ``text`` (dedented) to ``name`` in tmp_path and read it back."""

    def write(name: str, text: str) -> SourceDocument:
        path = tmp_path / name
        path.write_text(textwrap.dedent(text), encoding="utf-8")
        return read(path)

    return write


def by_field(doc: SourceDocument) -> dict[str | None, Problem]:
    found = {p.field: p for p in doc.problems}
    assert len(found) == len(doc.problems), "one problem per field expected"
    return found


# A file with one problem of each kind; the YAML twin below has the same problems.
BROKEN_TOML = """\
    id = "Bad_Slug"
    title = "Broken agreement"
    kind = "memo"
    status = "active"
    effective = 2025-01-01
    expires = "soon"
    discloser = "irs"
    recipients = "dhs-ice"
    source_systems = ["irs-itin-address"]
    legal_authority = ["26 U.S.C. 6103(i)(2)"]
    titel = "typo"

    [[purposes]]
    code = "ok"
    descripton = "typo"

    [[purposes]]
    description = "no code"

    [fields]
    permitted = ["taxpayer..name", "taxpayer.address"]
    prohibited = ["return.*", "bad pattern"]

    [limits]
    max_records_per_request = "ten"
    """

BROKEN_YAML = """\
    id: Bad_Slug
    title: Broken agreement
    kind: memo
    status: active
    effective: 2025-01-01
    expires: soon
    discloser: irs
    recipients: dhs-ice
    source_systems: [irs-itin-address]
    legal_authority:
      - 26 U.S.C. 6103(i)(2)
    titel: typo
    purposes:
      - code: ok
        descripton: typo
      - description: no code
    fields:
      permitted:
        - taxpayer..name
        - taxpayer.address
      prohibited: ["return.*", "bad pattern"]
    limits:
      max_records_per_request: ten
    """

BROKEN_LINES = {
    "toml": {
        "id": 1, "kind": 3, "expires": 6, "recipients": 8, "titel": 11,
        "purposes[0].descripton": 15, "purposes[1].code": 17,
        "fields.permitted[0]": 21, "fields.prohibited[1]": 22,
        "limits.max_records_per_request": 25,
    },
    "yaml": {
        "id": 1, "kind": 3, "expires": 6, "recipients": 8, "titel": 12,
        "purposes[0].descripton": 15, "purposes[1].code": 16,
        "fields.permitted[0]": 19, "fields.prohibited[1]": 21,
        "limits.max_records_per_request": 23,
    },
}


@pytest.fixture(params=["toml", "yaml"])
def broken(request: pytest.FixtureRequest, write: Write) -> tuple[str, SourceDocument]:
    text = BROKEN_TOML if request.param == "toml" else BROKEN_YAML
    return request.param, write(f"broken.{request.param}", text)


def test_every_structural_problem_is_reported_at_once(broken: tuple[str, SourceDocument]) -> None:
    fmt, doc = broken
    assert set(by_field(doc)) == set(BROKEN_LINES[fmt])
    assert {(p.severity, p.rule) for p in doc.problems} == {("error", "schema")}
    assert doc.value is None


def test_each_structural_problem_names_its_line(broken: tuple[str, SourceDocument]) -> None:
    fmt, doc = broken
    assert {p.field: p.line for p in doc.problems} == BROKEN_LINES[fmt]


def test_each_structural_problem_names_its_file(broken: tuple[str, SourceDocument]) -> None:
    fmt, doc = broken
    assert {p.file for p in doc.problems} == {doc.path}
    assert doc.path.endswith(f"broken.{fmt}")


def test_an_unknown_field_suggests_the_closest_name(broken: tuple[str, SourceDocument]) -> None:
    problems = by_field(broken[1])
    assert problems["titel"].message == "unknown field 'titel'"
    assert problems["titel"].hint == "did you mean 'title'?"
    assert problems["purposes[0].descripton"].hint == "did you mean 'description'?"


def test_a_missing_required_field_in_a_table_is_named(broken: tuple[str, SourceDocument]) -> None:
    assert by_field(broken[1])["purposes[1].code"].message == "required field 'code' is missing"


def test_a_wrong_type_names_expected_and_actual(broken: tuple[str, SourceDocument]) -> None:
    problems = by_field(broken[1])
    assert "expected 'int', got 'str'" in problems["limits.max_records_per_request"].message
    assert "expected 'array', got 'str'" in problems["recipients"].message


def test_a_bad_enum_value_is_named(broken: tuple[str, SourceDocument]) -> None:
    problem = by_field(broken[1])["kind"]
    assert "'memo'" in problem.message
    assert problem.hint is not None
    for kind in ("mou", "isa", "cma", "dua", "other"):
        assert kind in problem.hint


def test_a_bad_slug_gives_the_pattern_and_an_example(broken: tuple[str, SourceDocument]) -> None:
    problem = by_field(broken[1])["id"]
    assert repr(SLUG_PATTERN)[1:-1] in problem.message  # as msgspec writes it: ...(?!\\n)$
    assert problem.hint is not None and "irs-ice-2025-mou" in problem.hint


def test_a_bad_field_path_and_pattern_are_reported_per_element(
    broken: tuple[str, SourceDocument],
) -> None:
    problems = by_field(broken[1])
    assert "regex" in problems["fields.permitted[0]"].message
    assert "regex" in problems["fields.prohibited[1]"].message
    assert "fields.permitted[1]" not in problems
    assert "fields.prohibited[0]" not in problems


def test_a_bad_date_is_reported(broken: tuple[str, SourceDocument]) -> None:
    assert "date" in by_field(broken[1])["expires"].message


# --- single problems -----------------------------------------------------------------------

VALID_HEAD = """\
    id = "test-mou"
    title = "Test"
    kind = "mou"
    status = "active"
    effective = 2025-01-01
    expires = 2026-12-31
    discloser = "irs"
    recipients = ["dhs-ice"]
    source_systems = ["irs-itin-address"]
    legal_authority = ["26 U.S.C. 6103(i)(2)"]
    purposes = [{ code = "p" }]
    """


def with_tail(tail: str) -> str:
    return VALID_HEAD + textwrap.indent(textwrap.dedent(tail), "    ")


def test_the_valid_head_has_no_problem_but_a_missing_fields_table(write: Write) -> None:
    doc = write("a.toml", VALID_HEAD)
    assert [(p.field, p.message) for p in doc.problems] == [
        ("fields", "required field 'fields' is missing")
    ]


def test_every_missing_required_field_is_named(write: Write) -> None:
    doc = write("a.toml", 'id = "x"\n')
    assert {p.field for p in doc.problems} == {
        "title", "kind", "status", "effective", "expires", "discloser", "recipients",
        "source_systems", "legal_authority", "purposes", "fields",
    }
    assert all(p.message == f"required field '{p.field}' is missing" for p in doc.problems)


def test_an_unknown_field_without_a_close_name_lists_the_valid_ones(write: Write) -> None:
    doc = write("a.toml", with_tail("""\
        [fields]
        permitted = ["taxpayer.name"]
        zzzz = 1
        """))
    (problem,) = doc.problems
    assert problem.field == "fields.zzzz"
    assert problem.line == 14
    assert problem.hint == "valid fields here: permitted, prohibited"


@pytest.mark.parametrize(
    ("text", "field", "valid"),
    [
        (
            VALID_HEAD.replace('status = "active"', 'status = "live"')
            + '    fields = { permitted = ["a"] }\n',
            "status",
            ("draft", "active", "suspended", "terminated"),
        ),
        (
            VALID_HEAD.replace('kind = "mou"', 'kind = "memo"')
            + '    fields = { permitted = ["a"] }\n',
            "kind",
            ("mou", "isa", "cma", "dua", "other"),
        ),
        (
            VALID_HEAD + '    fields = { permitted = ["a"] }\n'
            '    obligations = { redisclosure = "never" }\n',
            "obligations.redisclosure",
            ("prohibited", "permitted", "as-required-by-law"),
        ),
    ],
    ids=["status", "kind", "redisclosure"],
)
def test_a_bad_enum_value_lists_the_valid_values(
    write: Write, text: str, field: str, valid: tuple[str, ...]
) -> None:
    (problem,) = write("a.toml", text).problems
    assert problem.field == field
    shown = f"{problem.message} {problem.hint}"
    for value in valid:
        assert value in shown


def test_a_boolean_is_not_a_number(write: Write) -> None:
    doc = write("a.toml", with_tail("""\
        fields = { permitted = ["a"] }
        [obligations]
        retention_days = true
        """))
    (problem,) = doc.problems
    assert problem.field == "obligations.retention_days"
    assert problem.line == 14
    assert "expected 'int', got 'bool'" in problem.message


def test_a_negative_count_is_rejected(write: Write) -> None:
    doc = write("a.toml", with_tail("""\
        fields = { permitted = ["a"] }
        [limits]
        max_records_per_request = -1
        """))
    (problem,) = doc.problems
    assert problem.field == "limits.max_records_per_request"
    assert ">= 0" in problem.message


def test_a_date_time_is_not_a_date(write: Write) -> None:
    text = VALID_HEAD.replace("effective = 2025-01-01", "effective = 2025-01-01T09:00:00")
    doc = write("a.toml", text + '    fields = { permitted = ["a"] }\n')
    (problem,) = doc.problems
    assert problem.field == "effective"
    assert problem.line == 5


def test_a_list_where_a_table_is_expected_is_reported(write: Write) -> None:
    doc = write("a.toml", VALID_HEAD + '    fields = ["a"]\n')
    (problem,) = doc.problems
    assert problem.field == "fields"
    assert problem.message == "expected a table, got a list"
    assert problem.line == 12


def test_a_bad_checker_name_is_an_invalid_key(write: Write) -> None:
    doc = write("a.toml", with_tail("""\
        fields = { permitted = ["a"] }
        [checkers.Bad-Name]
        x = 1
        """))
    (problem,) = doc.problems
    assert problem.field == "checkers.Bad-Name"
    assert problem.message.startswith("invalid key")
    assert problem.line == 13


def test_a_problem_inside_an_inline_table_of_a_parties_file_is_on_its_line(write: Write) -> None:
    doc = write("parties.toml", """\
        [[party]]
        id = "irs"
        name = "Internal Revenue Service"
        address = "1111 Constitution Ave NW"

        [[party]]
        id = "dhs-ice"
        name = "ICE"
        safeguards = { status = "audited" }
        """)
    assert {(p.field, p.line) for p in doc.problems} == {
        ("party[1].address", 6),
        ("party[1].safeguards.status", 9),
    }


def test_a_null_value_in_yaml_is_a_wrong_type(write: Write) -> None:
    text = yaml.safe_dump(dict(BASE_AGREEMENT, title=None), sort_keys=False)
    doc = write("a.yaml", text)
    (problem,) = doc.problems
    assert problem.field == "title"
    assert "got 'null'" in problem.message
    assert problem.line == text.splitlines().index("title: null") + 1


# --- file-level problems -----------------------------------------------------------------


def test_a_toml_syntax_error_names_its_line(write: Write) -> None:
    doc = write("a.toml", 'id = "x"\ntitle = "y"\nkind = \nstatus = "active"\n')
    (problem,) = doc.problems
    assert (problem.rule, problem.severity, problem.line) == ("file.syntax", "error", 3)
    assert problem.message.startswith("TOML syntax error")
    assert "line" not in problem.message  # the line is in `line`, not repeated
    assert doc.data is None and doc.value is None


def test_a_yaml_syntax_error_names_its_line(write: Write) -> None:
    doc = write("a.yaml", "id: x\ntitle: a: b\nkind: mou\n")
    (problem,) = doc.problems
    assert (problem.rule, problem.line) == ("file.syntax", 2)
    assert problem.message.startswith("YAML syntax error")
    assert doc.value is None


def test_a_duplicate_toml_key_is_a_syntax_error(write: Write) -> None:
    doc = write("a.toml", 'id = "x"\nid = "y"\n')
    (problem,) = doc.problems
    assert (problem.rule, problem.line) == ("file.syntax", 2)


def test_invalid_utf8_is_an_encoding_error(tmp_path: Path) -> None:
    path = tmp_path / "a.toml"
    path.write_bytes(b'id = "x"\ntitle = "caf\xe9"\n')
    doc = read(path)
    (problem,) = doc.problems
    assert (problem.rule, problem.severity) == ("file.encoding", "error")
    assert "UTF-8" in problem.message
    assert "byte 21" in problem.message  # the offset of the bad byte
    assert doc.value is None


def test_a_nul_byte_is_an_encoding_error(tmp_path: Path) -> None:
    path = tmp_path / "a.yaml"
    path.write_bytes(b"id: x\x00\n")
    (problem,) = read(path).problems
    assert problem.rule == "file.encoding"
    assert "NUL" in problem.message


@pytest.mark.parametrize(
    ("name", "text"),
    [("list.yaml", "- a\n- b\n"), ("scalar.yaml", "just some text\n"), ("empty.yaml", "")],
)
def test_a_top_level_that_is_not_a_table_is_rejected(write: Write, name: str, text: str) -> None:
    doc = write(name, text)
    (problem,) = doc.problems
    assert problem.rule == "file.syntax"
    assert "table" in problem.message
    assert doc.value is None


def test_a_file_over_the_size_limit_is_rejected_unread() -> None:
    doc = parse(b" " * (MAX_FILE_BYTES + 1), SourceDocument(path="big.toml", format="toml"))
    (problem,) = doc.problems
    assert problem.rule == "file.too_large"
    assert doc.data is None


def test_a_file_that_cannot_be_read_is_reported(tmp_path: Path) -> None:
    folder = tmp_path / "looks-like.toml"
    folder.mkdir()
    (problem,) = read(folder).problems
    assert problem.rule == "file.unreadable"
    assert problem.file == str(folder)


# --- valid files -----------------------------------------------------------------------------


def test_a_valid_toml_file_decodes_to_an_agreement(write_files: Callable[..., Path]) -> None:
    folder = write_files(agreements=[BASE_AGREEMENT], parties=None)
    doc = read(folder / "test-mou.toml")
    assert doc.problems == []
    assert isinstance(doc.value, Agreement)
    round_tripped = msgspec.json.decode(msgspec.json.encode(doc.value), type=Agreement)
    assert doc.value == round_tripped
    assert doc.value == msgspec.convert(BASE_AGREEMENT, Agreement)


def test_a_valid_yaml_file_decodes_to_the_same_agreement_as_toml(
    write: Write, write_files: Callable[..., Path]
) -> None:
    from_yaml = write("test-mou.yaml", yaml.safe_dump(BASE_AGREEMENT))
    from_toml = read(write_files(agreements=[BASE_AGREEMENT], parties=None) / "test-mou.toml")
    assert from_yaml.problems == []
    assert from_yaml.format == "yaml"
    assert from_yaml.value == from_toml.value


def test_a_yaml_status_change_with_a_plain_on_key_decodes(write: Write) -> None:
    # YAML 1.1 reads a bare `on` as the boolean true; the contract's key is `on`
    text = yaml.safe_dump(dict(BASE_AGREEMENT, status_changes=[]), sort_keys=False) + (
        "status_changes:\n"
        "  - on: 2025-11-21\n"
        "    status: suspended\n"
        "    reason: court order\n"
    )
    doc = write("a.yaml", text.replace("status_changes: []\n", ""))
    assert doc.problems == []
    assert isinstance(doc.value, Agreement)
    (change,) = doc.value.status_changes
    assert (change.on.isoformat(), change.status) == ("2025-11-21", "suspended")


def test_a_yml_suffix_is_read_as_yaml(write: Write) -> None:
    doc = write("a.yml", "id: [x\n")
    assert doc.format == "yaml"
    assert doc.problems[0].message.startswith("YAML")


def test_a_parties_file_decodes_to_parties(write_files: Callable[..., Path]) -> None:
    doc = read(write_files() / "parties.toml")
    assert doc.problems == []
    assert isinstance(doc.value, PartiesFile)
    assert doc.value == msgspec.convert(PARTIES, PartiesFile)
    assert [p.id for p in doc.value.party] == ["irs", "dhs-ice", "ssa", "state-dhs"]
    assert doc.value.party[1].safeguards is not None
    assert doc.value.party[1].safeguards.status == "compliant"


def test_the_locator_is_ready_for_later_problems(write_files: Callable[..., Path]) -> None:
    doc = read(write_files(agreements=[BASE_AGREEMENT], parties=None) / "test-mou.toml")
    assert doc.locator.line(("checkers", "irc6103", "address_field")) is not None
    assert doc.problem("error", "x", "m", ("discloser",)).line == 8


# --- collect -------------------------------------------------------------------------------


def test_collect_expands_folders_recursively_in_a_stable_order(tmp_path: Path) -> None:
    for name in ("b.toml", "a.yaml", "sub/c.yml", "sub/deeper/d.toml", "README.md",
                 "notes.txt"):
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("")
    files, problems = collect([tmp_path])
    assert problems == []
    assert [f.relative_to(tmp_path).as_posix() for f in files] == [
        "a.yaml", "b.toml", "sub/c.yml", "sub/deeper/d.toml",
    ]


def test_collect_keeps_the_order_of_its_arguments_and_drops_repeats(tmp_path: Path) -> None:
    for name in ("a.toml", "b.toml"):
        (tmp_path / name).write_text("")
    files, problems = collect([tmp_path / "b.toml", tmp_path, str(tmp_path / "a.toml")])
    assert problems == []
    assert [f.name for f in files] == ["b.toml", "a.toml"]


def test_collect_reports_a_missing_path(tmp_path: Path) -> None:
    missing = tmp_path / "nope"
    files, problems = collect([missing])
    assert files == []
    assert [(p.rule, p.severity, p.file) for p in problems] == [
        ("file.missing", "error", str(missing))
    ]


def test_collect_reports_a_named_file_that_is_not_an_agreement_file(tmp_path: Path) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("")
    files, problems = collect([notes])
    assert files == []
    assert [(p.rule, p.file) for p in problems] == [("file.format", str(notes))]


def test_collect_of_an_empty_folder_finds_nothing(tmp_path: Path) -> None:
    assert collect([tmp_path]) == ([], [])
