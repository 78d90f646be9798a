"""Appending many rows fast: PostgreSQL COPY, or executemany elsewhere.

Used by the services' bulk paths (`visits.services.visits_bulk_create`,
`media.services.photos_bulk_receive`) and by seed_demo's register builder. The rows are model
instances the caller built and validated; this module only turns them into database values.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import date
from decimal import Decimal
from typing import Any, cast

from django.core.management.color import no_style
from django.db import connection, models


class BulkWriter:
    """Appends rows to a table: PostgreSQL COPY, or executemany on other databases.

    Rows are plain tuples in `columns` order (field names); primary keys are assigned by the
    caller, so related rows can name them without reading them back. `finish()` moves the
    id sequences past the ids used.
    """

    def __init__(self) -> None:
        self.postgres = connection.vendor == "postgresql"
        self.touched: set[type[models.Model]] = set()

    def write(
        self, model: type[models.Model], columns: Sequence[str], rows: Iterable[tuple]
    ) -> int:
        meta = model._meta
        table = connection.ops.quote_name(meta.db_table)
        fields = [cast(models.Field, meta.get_field(c)) for c in columns]
        cols = ", ".join(connection.ops.quote_name(cast(str, f.column)) for f in fields)
        self.touched.add(model)
        count = 0
        with connection.cursor() as cursor:
            if self.postgres:
                with cursor.cursor.copy(f"COPY {table} ({cols}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
                        count += 1
            else:
                marks = ", ".join(["%s"] * len(columns))
                batch = [tuple(_plain(v) for v in row) for row in rows]
                if batch:
                    cursor.executemany(f"INSERT INTO {table} ({cols}) VALUES ({marks})", batch)
                count = len(batch)
        return count

    def finish(self) -> None:
        statements = connection.ops.sequence_reset_sql(no_style(), list(self.touched))
        if statements:
            with connection.cursor() as cursor:
                for sql in statements:
                    cursor.execute(sql)


def _plain(value: Any) -> Any:
    # sqlite3's own date adapters are deprecated; Decimal has none. Store what Django stores.
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def next_id(model: type[models.Model]) -> int:
    last = model._default_manager.aggregate(m=models.Max("pk"))["m"]
    return (last or 0) + 1


def _converter(f: models.Field) -> Callable[[Any], Any] | None:
    """How a value of `f` goes to the database (the part of `get_db_prep_save` these tables
    need, without its per-value cost: it was most of a bulk insert's time)."""
    target = getattr(f, "target_field", f) if f.is_relation else f
    if isinstance(target, models.UUIDField) and not connection.features.has_native_uuid_field:
        return lambda v: v.hex if v is not None else None
    if isinstance(f, models.DateTimeField):
        return connection.ops.adapt_datetimefield_value
    if isinstance(f, models.FileField):
        return lambda v: v.name or "" if v else ""
    return None


def insert_instances(writer: BulkWriter, objs: Sequence[models.Model]) -> int:
    """Write model instances (all of one model, primary keys set) through `writer`."""
    if not objs:
        return 0
    fields = list(objs[0]._meta.concrete_fields)
    names = [f.attname for f in fields]
    plan = [(f.attname, _converter(f)) for f in fields]
    rows = (
        tuple(conv(getattr(obj, name)) if conv else getattr(obj, name) for name, conv in plan)
        for obj in objs
    )
    return writer.write(type(objs[0]), names, rows)
