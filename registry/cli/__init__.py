"""The ``registry`` command: a thin layer over :class:`registry.service.Registry`.

Exit status: 0 success; 1 a check denied, or the decision log failed verification;
2 invalid input, unknown id or a conflicting change (nothing written); 3 the environment
is wrong (database unreachable, schema out of date, a plugin that fails to load).
"""

from __future__ import annotations

from typing import Any

import click

from ..engine.plugins import PluginError
from ..errors import (
    ConfigError,
    Conflict,
    DatabaseUnavailable,
    InvalidInput,
    NotFound,
    RegistryError,
    SchemaError,
)
from .output import Output
from .state import State

EXIT_INVALID = 2
EXIT_ENVIRONMENT = 3


class RegistryGroup(click.Group):
    """Turns the registry's errors into a message and an exit status."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except InvalidInput as exc:
            out = Output.current()
            if exc.problems:
                out.problems(exc.problems, to_stderr=True)
            out.error(str(exc))
            ctx.exit(EXIT_INVALID)
        except (NotFound, Conflict) as exc:
            Output.current().error(str(exc))
            ctx.exit(EXIT_INVALID)
        except (SchemaError, DatabaseUnavailable, PluginError, ConfigError) as exc:
            Output.current().error(str(exc))
            ctx.exit(EXIT_ENVIRONMENT)
        except RegistryError as exc:
            Output.current().error(str(exc))
            ctx.exit(EXIT_INVALID)


@click.group(cls=RegistryGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--database",
    envvar="REGISTRY_DATABASE_URL",
    metavar="URL",
    help="SQLAlchemy URL (sqlite:///PATH or postgresql://...). "
    "Default: an SQLite file in the data folder.",
)
@click.option(
    "--plugins-dir",
    envvar="REGISTRY_PLUGINS_DIR",
    metavar="DIR",
    type=click.Path(file_okay=False),
    help="Folder of one-off checker plugin files (*.py).",
)
@click.version_option(package_name="agreement-registry", prog_name="registry")
@click.pass_context
def main(ctx: click.Context, database: str | None, plugins_dir: str | None) -> None:
    """Data-sharing agreement registry: register agreements, ask before every export."""
    ctx.obj = State(database=database, plugins_dir=plugins_dir)
    ctx.call_on_close(ctx.obj.close)


def _register() -> None:
    from . import (  # noqa: F401 - commands register themselves
        agreements,
        checks,
        misc,
        receipts,
        reports,
        service,
        subject_keys,
    )


_register()


__all__ = ["main"]
