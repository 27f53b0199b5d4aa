"""Fuzz the agreement loader: the first byte picks TOML, YAML or JSON, the rest is read and
linted as ``registry agreements lint`` reads a file (the API's agreement bodies too).
An exception, a problem naming no line or field, or a slow input is a crash."""

from __future__ import annotations

import json

import atheris

with atheris.instrument_imports(include=["registry", "registry_plugins", "yaml", "tomllib"]):
    import tomllib

    import yaml

    from registry.documents import SUFFIXES
    from registry.engine.plugins import build_plugins
    from tests.fuzz.outcomes import ROOT, load

    plugins = build_plugins()

FORMATS = ("toml", "yaml", "json")


def one_input(data: bytes) -> None:
    if data:
        load(data[1:], FORMATS[data[0] % len(FORMATS)], plugins)


def seeds() -> list[bytes]:
    """Every shipped agreement and parties file, as TOML, YAML and JSON."""
    out = []
    for path in sorted((ROOT / "agreements").iterdir()):
        if path.suffix in SUFFIXES:
            data = tomllib.loads(path.read_text())
            out.append(b"\x00" + path.read_bytes())
            out.append(b"\x01" + yaml.safe_dump(data, sort_keys=False).encode())
            out.append(b"\x02" + json.dumps(data, default=str, indent=1).encode())
    return out


if __name__ == "__main__":
    from fuzz import run

    run("loader", one_input, seeds())
