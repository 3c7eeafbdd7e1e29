"""Bulk writes for hot paths, where the ORM's per-row statement building costs more than the database.

On PostgreSQL rows go in with COPY and per-row updates as one ``UPDATE ... FROM (VALUES ...)``;
psycopg adapts the values in C instead of Django building a CASE per row and field. Elsewhere (the
embedded SQLite default) the ORM's ``bulk_create`` and ``bulk_update`` do the same work.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import connection, models


def rows_insert(objs: Sequence[models.Model]) -> None:
    """Insert new rows of one model without reading back their primary keys."""
    if not objs:
        return
    model = type(objs[0])
    if connection.vendor != "postgresql":
        model._default_manager.bulk_create(objs)
        return
    fields = [field for field in model._meta.concrete_fields if not field.primary_key]
    columns = ", ".join(connection.ops.quote_name(field.column) for field in fields)
    table = connection.ops.quote_name(model._meta.db_table)
    with connection.cursor() as cursor, cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
        for obj in objs:
            copy.write_row(
                [field.get_db_prep_save(field.pre_save(obj, add=True), connection) for field in fields]
            )


def rows_update(objs: Sequence[models.Model], field_names: Sequence[str], *, casts: dict[str, str]) -> None:
    """Write ``field_names`` of each object to its row; ``casts`` gives each field's SQL type."""
    if not objs:
        return
    model = type(objs[0])
    if connection.vendor != "postgresql":
        model._default_manager.bulk_update(objs, field_names)
        return
    meta = model._meta
    fields = [meta.get_field(name) for name in field_names]
    quote = connection.ops.quote_name
    assignments = ", ".join(f"{quote(field.column)} = new.{quote(field.column)}" for field in fields)
    row = "(%s, " + ", ".join(f"%s::{casts[field.name]}" for field in fields) + ")"
    names = ", ".join(["id", *(quote(field.column) for field in fields)])
    params: list[Any] = []
    for obj in objs:
        params.append(obj.pk)
        params.extend(field.get_db_prep_save(getattr(obj, field.attname), connection) for field in fields)
    table = quote(meta.db_table)
    sql = (
        f"UPDATE {table} SET {assignments} FROM (VALUES {', '.join([row] * len(objs))}) AS new ({names}) "  # noqa: S608 (names from the model, values as parameters)
        f"WHERE {table}.{quote(meta.pk.column)} = new.id"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
