"""``python -m registry``: the same as the ``registry`` command."""

from . import main

main(prog_name="registry")
