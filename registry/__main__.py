"""``python -m registry``: the same as the ``registry`` command."""

from .cli import main

main(prog_name="registry")
