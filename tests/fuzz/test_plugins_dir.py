"""A hostile plugins folder: links out or in circles, folders and pipes named like files,
names that are not modules or not UTF-8, files that raise or exit as they are imported.
Each is a PluginError naming the file (exit status 3 from the CLI), at once; hidden files
are passed over."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from registry.cli import main
from registry.engine.plugins import PluginError, build_plugins, load_plugins_dir
from tests.fuzz.outcomes import CHECK

QUIET = '"""A plugin with no hooks."""\n'


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    path = tmp_path / "plugins"
    path.mkdir()
    (path / "quiet.py").write_text(QUIET)
    return path


def _refused(folder: Path, match: str) -> PluginError:
    started = time.perf_counter()
    with pytest.raises(PluginError, match=match) as raised:
        load_plugins_dir(folder)
    assert time.perf_counter() - started < 5
    return raised.value


def test_a_link_to_a_file_outside_the_folder_is_refused(folder: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside.py"
    outside.write_text(QUIET)
    (folder / "inside.py").symlink_to(outside)
    _refused(folder, r"inside\.py points outside the plugins folder")


def test_a_link_through_the_parent_folder_is_refused(folder: Path, tmp_path: Path) -> None:
    (tmp_path / "x.py").write_text(QUIET)
    (folder / "x.py").symlink_to(Path("..") / "x.py")
    _refused(folder, r"x\.py points outside the plugins folder")


def test_a_link_to_itself_is_refused_not_a_crash(folder: Path) -> None:
    (folder / "loop.py").symlink_to("loop.py")
    _refused(folder, r"loop\.py is a link that cannot be followed")


def test_a_folder_named_like_a_plugin_file_is_refused(folder: Path) -> None:
    (folder / "x.py").mkdir()
    _refused(folder, r"x\.py is not a file")


def test_a_pipe_named_like_a_plugin_file_is_refused_without_reading_it(folder: Path) -> None:
    os.mkfifo(folder / "pipe.py")  # reading it would wait for a writer for ever
    _refused(folder, r"pipe\.py is not a file")


@pytest.mark.parametrize("name", ["x.y.py", "-x.py", "1x.py", "a b.py", "é-x.py"])
def test_a_file_name_that_is_not_a_module_name_is_refused(folder: Path, name: str) -> None:
    (folder / name).write_text(QUIET)
    _refused(folder, "is not named like a Python module")


def test_a_file_name_that_is_not_utf8_is_refused_with_a_printable_message(folder: Path) -> None:
    os.close(os.open(os.fsencode(folder) + b"/caf\xe9.py", os.O_CREAT | os.O_WRONLY))
    error = _refused(folder, "is not named like a Python module")
    str(error).encode("utf-8", "backslashreplace")  # printable on any terminal


def test_hidden_files_are_passed_over(folder: Path) -> None:
    (folder / ".#quiet.py").symlink_to("user@host.1234:1700000000")  # an editor's lock
    (folder / "._quiet.py").write_bytes(b"\x00\x05\x16\x07 not Python")  # a macOS copy
    (folder / ".hidden.py").write_text("raise SystemExit(1)\n")
    modules = load_plugins_dir(folder)
    assert [m.__name__ for m in modules] == ["registry_plugins_dir_quiet"]


@pytest.mark.parametrize(
    ("source", "match"),
    [
        ("raise RuntimeError('kaput')\n", "failed to import: kaput"),
        ("import sys\nsys.exit(0)\n", r"failed to import: it called sys.exit\(0\)"),
        ("raise SystemExit\n", r"it called sys.exit\(None\)"),
        ("x = '\xff'\n", "failed to import"),
    ],
    ids=["raises", "exits 0", "exits", "not UTF-8"],
)
def test_a_file_that_raises_or_exits_as_it_is_imported_is_refused(
    folder: Path, source: str, match: str
) -> None:
    (folder / "bad.py").write_bytes(source.encode("latin-1"))
    _refused(folder, match)
    assert "registry_plugins_dir_bad" not in sys.modules


def test_a_register_hook_that_exits_is_refused(folder: Path) -> None:
    (folder / "exits.py").write_text(
        "import sys\nfrom registry import hookimpl\n\n"
        "@hookimpl\ndef register_checkers():\n    sys.exit(0)\n"
    )
    with pytest.raises(PluginError, match=r"failed to register checkers: it called sys.exit\(0\)"):
        build_plugins(folder)


def test_a_check_with_a_plugin_that_exits_0_exits_3_not_allowed(
    folder: Path, tmp_path: Path
) -> None:
    """The CLI's exit status 0 means allowed: a plugin calling sys.exit(0) as it was
    imported ended the registry with 0, no decision made, no word said."""
    (folder / "bye.py").write_text("import sys\nsys.exit(0)\n")
    database = f"sqlite:///{tmp_path / 'r.db'}"
    result = CliRunner().invoke(
        main, ["--database", database, "--plugins-dir", str(folder), "check", str(CHECK)]
    )
    assert result.exit_code == 3, result.output
    assert "bye.py failed to import: it called sys.exit(0)" in result.output
