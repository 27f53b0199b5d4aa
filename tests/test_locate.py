"""Line numbers of field paths in TOML and YAML files."""

from __future__ import annotations

import textwrap

from registry.locate import Locator, render


def toml(text: str) -> Locator:
    return Locator.for_toml(textwrap.dedent(text))


def yaml(text: str) -> Locator:
    return Locator.for_yaml(textwrap.dedent(text))


# --- render --------------------------------------------------------------------------------


def test_render_joins_names_with_dots_and_indexes_with_brackets() -> None:
    assert render(("fields", "permitted", 2)) == "fields.permitted[2]"
    assert render(("purposes", 0, "code")) == "purposes[0].code"
    assert render(("checkers", "privacy_act", "renewals", 1)) == "checkers.privacy_act.renewals[1]"


def test_render_of_an_empty_path_is_empty() -> None:
    assert render(()) == ""


# --- TOML ----------------------------------------------------------------------------------


def test_toml_top_level_keys_have_their_lines() -> None:
    locator = toml("""\
        id = "x"
        # a comment
        title = "y"
        """)
    assert locator.line(("id",)) == 1
    assert locator.line(("title",)) == 3


def test_toml_table_header_and_its_keys() -> None:
    locator = toml("""\
        id = "x"

        [fields]
        permitted = ["a"]
        prohibited = ["b.*"]

        [limits]
        period_days = 30
        """)
    assert locator.line(("fields",)) == 3
    assert locator.line(("fields", "permitted")) == 4
    assert locator.line(("fields", "prohibited")) == 5
    assert locator.line(("limits",)) == 7
    assert locator.line(("limits", "period_days")) == 8


def test_toml_header_with_spaces_quotes_and_a_trailing_comment() -> None:
    locator = toml("""\
        [ checkers."irc6103" ]   # the 6103 terms
        address_field = "taxpayer.address"
        """)
    assert locator.line(("checkers", "irc6103")) == 1
    assert locator.line(("checkers", "irc6103", "address_field")) == 2


def test_toml_nested_table_header_locates_every_level() -> None:
    locator = toml("""\
        id = "x"
        [checkers.irc6103]
        address_field = "a"
        """)
    assert locator.line(("checkers", "irc6103")) == 2
    assert locator.line(("checkers", "irc6103", "address_field")) == 3


def test_toml_arrays_of_tables_are_indexed_in_order() -> None:
    locator = toml("""\
        [[purposes]]
        code = "a"
        description = "first"

        [[purposes]]
        code = "b"

        [[purposes]]
        code = "c"
        """)
    assert locator.line(("purposes", 0)) == 1
    assert locator.line(("purposes", 0, "code")) == 2
    assert locator.line(("purposes", 0, "description")) == 3
    assert locator.line(("purposes", 1)) == 5
    assert locator.line(("purposes", 1, "code")) == 6
    assert locator.line(("purposes", 2, "code")) == 9


def test_toml_a_table_after_an_array_of_tables_leaves_the_array() -> None:
    locator = toml("""\
        [[purposes]]
        code = "a"
        [fields]
        permitted = ["x"]
        """)
    assert locator.line(("fields", "permitted")) == 4
    assert locator.line(("purposes", 0, "permitted")) == 1  # only its ancestor


def test_toml_nested_array_of_tables_under_a_table() -> None:
    locator = toml("""\
        [checkers.privacy_act]
        transmitted_to_congress = 2025-01-02

        [[checkers.privacy_act.renewals]]
        recorded = 2026-06-15
        extends_to = 2027-07-31

        [[checkers.privacy_act.renewals]]
        recorded = 2026-06-16
        certified_by = ["ssa"]
        """)
    assert locator.line(("checkers", "privacy_act", "transmitted_to_congress")) == 2
    assert locator.line(("checkers", "privacy_act", "renewals", 0)) == 4
    assert locator.line(("checkers", "privacy_act", "renewals", 0, "recorded")) == 5
    assert locator.line(("checkers", "privacy_act", "renewals", 0, "extends_to")) == 6
    assert locator.line(("checkers", "privacy_act", "renewals", 1)) == 8
    assert locator.line(("checkers", "privacy_act", "renewals", 1, "recorded")) == 9
    assert locator.line(("checkers", "privacy_act", "renewals", 1, "certified_by")) == 10


def test_toml_arrays_of_tables_nested_in_arrays_of_tables_restart_per_parent() -> None:
    locator = toml("""\
        [[a]]
        k = 1
        [[a.b]]
        m = 1
        [[a.b]]
        m = 2
        [[a]]
        k = 2
        [[a.b]]
        m = 3
        """)
    assert locator.line(("a", 0, "b", 0, "m")) == 4
    assert locator.line(("a", 0, "b", 1, "m")) == 6
    assert locator.line(("a", 1, "k")) == 8
    assert locator.line(("a", 1, "b", 0, "m")) == 10


def test_toml_sub_table_of_an_array_of_tables_entry() -> None:
    locator = toml("""\
        [[party]]
        id = "irs"
        [[party]]
        id = "ssa"
        [party.safeguards]
        status = "compliant"
        """)
    assert locator.line(("party", 1, "safeguards")) == 5
    assert locator.line(("party", 1, "safeguards", "status")) == 6


def test_toml_dotted_keys_give_the_full_path() -> None:
    locator = toml("""\
        id = "x"
        limits.max_records_per_period = 5
        checkers.irc6103.address_field = "a"
        [request]
        approvals.count = 1
        """)
    assert locator.line(("limits", "max_records_per_period")) == 2
    assert locator.line(("checkers", "irc6103", "address_field")) == 3
    assert locator.line(("request", "approvals", "count")) == 5


def test_toml_dotted_keys_with_spaces_and_quotes() -> None:
    locator = toml("""\
        fields . "permitted" = ["a"]
        "dotted.name" = 1
        """)
    assert locator.line(("fields", "permitted")) == 1
    assert locator.line(("dotted.name",)) == 2


def test_toml_a_dotted_key_locates_the_tables_it_defines() -> None:
    locator = toml("""\
        id = "x"
        limits.max_records_per_period = 5
        checkers.unknown.flag = true
        """)
    # a problem about a sibling key (limits.period_days) or the table itself falls back here
    assert locator.line(("limits", "period_days")) == 2
    assert locator.line(("checkers", "unknown")) == 3


def test_toml_inline_table_keys_share_the_line() -> None:
    locator = toml("""\
        [[party]]
        id = "dhs-ice"
        safeguards = { status = "compliant", reviewed = 2025-03-31 }
        """)
    assert locator.line(("party", 0, "safeguards")) == 3
    assert locator.line(("party", 0, "safeguards", "status")) == 3
    assert locator.line(("party", 0, "safeguards", "reviewed")) == 3


def test_toml_keys_after_an_inline_table_are_not_taken_into_it() -> None:
    locator = toml("""\
        fields = { permitted = ["a"] }
        title = "x"
        """)
    assert locator.line(("fields", "permitted")) == 1
    assert locator.line(("title",)) == 2


def test_toml_lines_inside_a_multi_line_string_are_not_keys_or_headers() -> None:
    locator = toml('''\
        id = "x"
        description = """
        [fields]
        permitted = "not a key"
        [[purposes]]
        """
        title = "y"
        ''')
    assert locator.line(("description",)) == 2
    assert locator.line(("title",)) == 7
    assert locator.line(("fields",)) is None
    assert locator.line(("permitted",)) is None
    assert locator.line(("purposes", 0)) is None


def test_toml_lines_inside_a_multi_line_literal_string_are_not_keys_or_headers() -> None:
    locator = toml("""\
        [[purposes]]
        code = "a"
        description = '''
        [x]
        k = v
        '''
        [[purposes]]
        code = "b"
        """)
    assert locator.line(("purposes", 0, "description")) == 3
    assert locator.line(("x",)) is None
    assert locator.line(("purposes", 0, "k")) == 1  # only its ancestor
    assert locator.line(("purposes", 1, "code")) == 8


def test_toml_a_multi_line_string_closed_on_the_same_line_does_not_hide_the_next_lines() -> None:
    locator = toml('''\
        description = """one line"""
        title = "y"
        ''')
    assert locator.line(("title",)) == 2


def test_toml_a_multi_line_string_keeps_the_current_table() -> None:
    locator = toml('''\
        [[purposes]]
        code = "a"
        description = """
        text
        """
        extra = 1
        ''')
    assert locator.line(("purposes", 0, "extra")) == 6


def test_toml_triple_quotes_in_a_comment_do_not_open_a_multi_line_string() -> None:
    locator = toml('''\
        kind = "mou"   # write long text between """ quotes
        title = "y"
        [fields]
        permitted = ["a"]
        ''')
    assert locator.line(("title",)) == 2
    assert locator.line(("fields", "permitted")) == 4


def test_toml_commented_out_headers_and_keys_are_ignored() -> None:
    locator = toml("""\
        # [fields]
        # permitted = ["a"]
        title = "y"
        """)
    assert locator.line(("fields",)) is None
    assert locator.line(("title",)) == 3


def test_toml_an_element_of_a_multi_line_array_falls_back_to_its_key() -> None:
    locator = toml("""\
        [fields]
        permitted = [
            "taxpayer.name",
            "taxpayer..bad",
        ]
        """)
    assert locator.line(("fields", "permitted", 1)) == 2


def test_toml_an_array_inside_a_multi_line_array_is_not_a_table_header() -> None:
    locator = toml("""\
        [checkers.custom]
        pairs = [
            ["a", "b"]
        ]
        flag = true
        """)
    assert locator.line(("checkers", "custom", "flag")) == 5
    assert locator.line(("a",)) is None


def test_toml_a_missing_path_falls_back_to_its_nearest_located_ancestor() -> None:
    locator = toml("""\
        id = "x"
        [[purposes]]
        code = "a"
        """)
    assert locator.line(("purposes", 0, "description")) == 2
    assert locator.line(("purposes", 0, "code", 3)) == 3


def test_toml_a_path_without_any_located_ancestor_has_no_line() -> None:
    locator = toml('id = "x"\n')
    assert locator.line(("fields", "permitted")) is None
    assert locator.line(()) is None


def test_toml_the_first_occurrence_of_a_key_wins() -> None:
    locator = toml("""\
        [fields]
        permitted = ["a"]
        [limits]
        [fields.extra]
        """)
    assert locator.line(("fields",)) == 1


# --- YAML ----------------------------------------------------------------------------------


def test_yaml_mapping_keys_have_their_lines() -> None:
    locator = yaml("""\
        id: x
        # comment
        title: y
        fields:
          permitted:
            - a
            - b
          prohibited: ["c.*"]
        """)
    assert locator.line(("id",)) == 1
    assert locator.line(("title",)) == 3
    assert locator.line(("fields",)) == 4
    assert locator.line(("fields", "permitted")) == 5
    assert locator.line(("fields", "permitted", 0)) == 6
    assert locator.line(("fields", "permitted", 1)) == 7
    assert locator.line(("fields", "prohibited", 0)) == 8


def test_yaml_sequences_of_mappings_are_indexed() -> None:
    locator = yaml("""\
        purposes:
          - code: a
            description: first
          - code: b
            descripton: typo
        """)
    assert locator.line(("purposes", 0)) == 2
    assert locator.line(("purposes", 0, "description")) == 3
    assert locator.line(("purposes", 1)) == 4
    assert locator.line(("purposes", 1, "descripton")) == 5


def test_yaml_nested_sequences_under_mappings() -> None:
    locator = yaml("""\
        checkers:
          privacy_act:
            transmitted_to_congress: 2025-01-02
            renewals:
              - recorded: 2026-06-15
              - recorded: 2026-06-16
                certified_by: [ssa]
        """)
    assert locator.line(("checkers", "privacy_act", "renewals", 1)) == 6
    assert locator.line(("checkers", "privacy_act", "renewals", 1, "certified_by")) == 7
    assert locator.line(("checkers", "privacy_act", "renewals", 1, "certified_by", 0)) == 7


def test_yaml_flow_mappings_share_the_line() -> None:
    locator = yaml("""\
        party:
          - id: dhs-ice
            safeguards: {status: compliant, reviewed: 2025-03-31}
        """)
    assert locator.line(("party", 0, "safeguards", "status")) == 3


def test_yaml_block_scalars_that_look_like_keys_are_text() -> None:
    locator = yaml("""\
        description: |
          permitted: not a key
          [x]
        title: y
        """)
    assert locator.line(("permitted",)) is None
    assert locator.line(("title",)) == 4


def test_yaml_a_missing_path_falls_back_to_its_nearest_located_ancestor() -> None:
    locator = yaml("""\
        id: x
        limits:
          period_days: 30
        """)
    assert locator.line(("limits", "max_records_per_period")) == 2


def test_yaml_that_does_not_parse_has_no_lines() -> None:
    locator = yaml("id: [unclosed\n")
    assert locator.line(("id",)) is None


def test_an_empty_locator_has_no_lines() -> None:
    assert Locator.empty().line(("id",)) is None
