"""Long, coverage-guided fuzz runs (atheris, libFuzzer) of the decoders that take hostile
input. Each harness checks the same outcomes as the suite's properties (tests/fuzz/), over
millions of inputs instead of hundreds; see fuzz/README.md."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable
from pathlib import Path

import atheris

HERE = Path(__file__).resolve().parent


def run(name: str, one_input: Callable[[bytes], None], seeds: Iterable[bytes]) -> None:
    """Fuzz ``one_input`` with libFuzzer's options from the command line. New inputs go to
    the first folder named there (fuzz/corpus/NAME by default), which starts with ``seeds``
    when it is empty."""
    args = sys.argv[1:]
    folders = [a for a in args if not a.startswith("-")]
    if not folders:
        folders = [str(HERE / "corpus" / name)]
        args.append(folders[0])
    corpus = Path(folders[0])
    corpus.mkdir(parents=True, exist_ok=True)
    if not any(corpus.iterdir()):
        for number, seed in enumerate(seeds):
            (corpus / f"seed-{number}").write_bytes(seed)
    atheris.Setup([sys.argv[0], *args], one_input)
    atheris.Fuzz()
