"""Where a YAML file's problems are (registry.locate.Locator.for_yaml): its tree is
parsed in C (libyaml) when it can be, for speed, and the lines are those PyYAML's
Python parser gives. What a file holds is always read in Python (see _compose_yaml)."""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from registry import locate
from registry.locate import Locator
from tests.fuzz.mutations import mutated, serialized, spliced
from tests.fuzz.test_loader import BASE, BASE_BYTES, SETTINGS

_COMPOSE = yaml.compose  # not the spy below


@pytest.fixture
def parsers(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The parsers the locator used, in order: "C" or "Python"."""
    used: list[str] = []

    def spy(text: str, Loader: Any) -> Any:
        used.append("C" if Loader is yaml.CSafeLoader else "Python")
        return _COMPOSE(text, Loader=Loader)

    monkeypatch.setattr(locate.yaml, "compose", spy)
    return used


def _python_lines(text: str) -> dict[Any, int]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(locate.yaml, "__with_libyaml__", False)
        return Locator.for_yaml(text)._lines


def test_pyyaml_here_has_libyaml() -> None:
    # The lint figures in docs/performance.md assume it; without it lines are found in
    # Python, the same but about five times slower.
    assert yaml.__with_libyaml__


def test_the_lines_of_an_agreement_are_found_in_c(parsers: list[str]) -> None:
    text = BASE_BYTES["yaml"].decode()
    lines = Locator.for_yaml(text)._lines
    assert parsers == ["C"]
    assert lines == _python_lines(text)
    assert lines[("limits", "period_days")] == text.splitlines().index("  period_days: 30") + 1


@pytest.mark.parametrize("text", ["a: [1, 2\n", "a: 1\n  b: 2\n", "- a\nb: c\n"])
def test_a_text_libyaml_refuses_is_read_in_python(parsers: list[str], text: str) -> None:
    assert Locator.for_yaml(text)._lines == {}
    assert parsers == ["C", "Python"]


@SETTINGS
@given(data=st.data())
def test_a_changed_agreement_has_the_same_lines_either_way(data: st.DataObject) -> None:
    text = serialized(data.draw(mutated(BASE)), "yaml")[0].decode("utf-8", "replace")
    assert Locator.for_yaml(text)._lines == _python_lines(text)


@SETTINGS
@given(data=st.data())
def test_a_broken_agreement_read_by_both_has_the_same_lines(data: st.DataObject) -> None:
    text = data.draw(spliced(BASE_BYTES["yaml"])).decode("utf-8", "replace")
    try:
        python = _COMPOSE(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return  # the file is refused: its syntax error carries its own line
    assert python is not None or Locator.for_yaml(text)._lines == {}
    assert Locator.for_yaml(text)._lines == _python_lines(text)
