"""Storage: the only package that imports sqlmodel/SQLAlchemy and converts rows to Structs."""

from .database import Database, open_database
from .migrations_api import current_revision, head_revision, upgrade

__all__ = ["Database", "current_revision", "head_revision", "open_database", "upgrade"]
