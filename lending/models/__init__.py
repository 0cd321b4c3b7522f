"""All ORM models, in one package so that Alembic sees one metadata.

Domain packages import their models from here; each domain's models live in a module of this
package named after the domain, imported below so that `Base.metadata` is complete.
"""

from lending.models.base import Base, TimestampMixin, new_id, utcnow

__all__ = ["Base", "TimestampMixin", "new_id", "utcnow"]
