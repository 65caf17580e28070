"""Where generated rows go: PostgreSQL through COPY, SQLite through large batched
transactions (executemany), each committed batch by batch.

Loading an empty table is several times faster when its secondary indexes and foreign keys
are built once at the end rather than row by row (as pg_restore does), so both sinks drop
them before the first batch and recreate them from their stored definitions at the end,
even when loading fails half-way; PostgreSQL then validates every foreign key it adds.
"""

import sqlite3
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any, Protocol

import psycopg

from app.demo.national.tables import COLUMNS, TABLES, Row


class Sink(Protocol):
    def prepare(self) -> None: ...

    def write(self, rows: dict[str, list[Row]]) -> None: ...

    def finish(self) -> None: ...


class PostgresSink:
    def __init__(self, connection: psycopg.Connection[Any]) -> None:
        self.connection = connection
        self.indexes: list[str] = []
        self.foreign_keys: list[tuple[str, str, str]] = []

    def prepare(self) -> None:
        with self.connection.cursor() as cursor:
            cursor.execute("SET synchronous_commit = off")
            cursor.execute("SET maintenance_work_mem = '256MB'")
            cursor.execute(
                """
                SELECT indexdef, schemaname, indexname FROM pg_indexes i
                WHERE tablename = ANY(%s) AND schemaname = current_schema()
                  AND NOT EXISTS (
                    SELECT 1 FROM pg_constraint c
                    WHERE c.conname = i.indexname AND c.contype IN ('p', 'u', 'x'))
                ORDER BY tablename, indexname
                """,
                (list(TABLES),),
            )
            found = cursor.fetchall()
            self.indexes = [definition for definition, _, _ in found]
            cursor.execute(
                """
                SELECT c.conrelid::regclass::text, c.conname, pg_get_constraintdef(c.oid)
                FROM pg_constraint c
                WHERE c.contype = 'f' AND c.conrelid::regclass::text = ANY(%s)
                ORDER BY 1, 2
                """,
                (list(TABLES),),
            )
            self.foreign_keys = [(table, name, definition) for table, name, definition in cursor]
            for table, name, _ in self.foreign_keys:
                cursor.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
            for _, schema, name in found:
                cursor.execute(f'DROP INDEX "{schema}"."{name}"')
        self.connection.commit()

    def write(self, rows: dict[str, list[Row]]) -> None:
        with self.connection.cursor() as cursor:
            for table in TABLES:
                if not rows[table]:
                    continue
                columns = ", ".join(COLUMNS[table])
                with cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                    for row in rows[table]:
                        copy.write_row(row)
        self.connection.commit()

    def finish(self) -> None:
        self.connection.rollback()
        with self.connection.cursor() as cursor:
            for definition in self.indexes:
                cursor.execute(definition)
            for table, name, definition in self.foreign_keys:
                cursor.execute(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
            for table in TABLES:
                if "id" in COLUMNS[table]:
                    cursor.execute(
                        "SELECT setval(pg_get_serial_sequence(%s, 'id'),"
                        f" coalesce((SELECT max(id) FROM {table}), 0) + 1, false)",
                        (table,),
                    )
            for table in TABLES:
                cursor.execute(f"ANALYZE {table}")
        self.connection.commit()


def _sqlite_value(value: object) -> object:
    """What SQLAlchemy binds on SQLite: numbers as floats, dates and timestamps as ISO
    text (timestamps naive UTC), booleans as integers (JSON comes as its text)."""
    kind = type(value)
    if kind is Decimal:
        return float(value)  # type: ignore[arg-type]
    if kind is datetime:
        return value.replace(tzinfo=None).isoformat(" ", "microseconds")  # type: ignore[attr-defined]
    if kind is bool:
        return int(value)  # type: ignore[call-overload]
    if value is None or kind is int or kind is str:
        return value
    return value.isoformat()  # type: ignore[attr-defined]  # a date


class SqliteSink:
    def __init__(self, connection: sqlite3.Connection) -> None:
        self.connection = connection
        self.indexes: list[str] = []

    def prepare(self) -> None:
        connection = self.connection
        connection.execute("PRAGMA synchronous = OFF")
        connection.execute("PRAGMA cache_size = -64000")
        placeholders = ", ".join("?" for _ in TABLES)
        found = connection.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"
            f" AND tbl_name IN ({placeholders}) ORDER BY tbl_name, name",
            TABLES,
        ).fetchall()
        self.indexes = [definition for _, definition in found]
        for name, _ in found:
            connection.execute(f'DROP INDEX "{name}"')
        connection.commit()

    def write(self, rows: dict[str, list[Row]]) -> None:
        connection = self.connection
        connection.execute("BEGIN")
        for table in TABLES:
            if not rows[table]:
                continue
            columns = COLUMNS[table]
            statement = (
                f"INSERT INTO {table} ({', '.join(columns)}) "
                f"VALUES ({', '.join('?' for _ in columns)})"
            )
            connection.executemany(statement, (_sqlite_row(row) for row in rows[table]))
        connection.commit()

    def finish(self) -> None:
        if self.connection.in_transaction:
            self.connection.rollback()
        for definition in self.indexes:
            self.connection.execute(definition)
        self.connection.execute("ANALYZE")
        self.connection.commit()


def _sqlite_row(row: Sequence[object]) -> tuple[object, ...]:
    return tuple(map(_sqlite_value, row))
