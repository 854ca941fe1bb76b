"""Driver-level statements for the few queries every turn runs.

Building, compiling and loading a statement through SQLAlchemy costs ten times the driver's own
work. The hot-path repository functions therefore send fixed SQL straight to the asyncpg
connection of the caller's transaction (same connection, same transaction, prepared statements
cached by asyncpg); everything else keeps using SQLAlchemy.

JSON and JSONB parameters are passed as JSON text (the codecs SQLAlchemy installs on every
connection decode them back to Python values on the way out).
"""

from __future__ import annotations

from functools import cache
from types import SimpleNamespace
from typing import Any

import asyncpg
from sqlalchemy import inspect

from openhermit.protocol import json_text
from openhermit.store.engine import DriverTx, Tx
from openhermit.store.tables.base import Base

_DRIVER = "openhermit.driver"


async def driver(tx: Tx | DriverTx) -> asyncpg.Connection:
    """The asyncpg connection under the transaction, with the transaction begun.

    A `DriverTx` is that connection already. For an ORM session: SQLAlchemy's asyncpg adapter
    sends BEGIN lazily, before its own first statement; a transaction whose first statement goes
    to the driver must begin it the same way, through the adapter, so that the session's commit
    or rollback ends it.
    """
    if isinstance(tx, asyncpg.Connection):
        return tx
    found = tx.info.get(_DRIVER)
    if found is None:
        connection = await tx.connection()
        adapted = (await connection.get_raw_connection()).dbapi_connection
        if adapted._transaction is None:  # type: ignore[union-attr]
            await adapted._start_transaction()  # type: ignore[union-attr]
        found = tx.info[_DRIVER] = adapted._connection  # type: ignore[union-attr]
    return found  # type: ignore[no-any-return]


def to_json(value: Any) -> str:
    """A JSON/JSONB parameter, serialised as SQLAlchemy's statements do (`open_database`)."""
    return json_text.dumps(value)


@cache
def _attribute_names(model: type[Base]) -> tuple[tuple[str, str], ...]:
    """(column name, attribute name) pairs of a mapped table."""
    return tuple((attr.columns[0].name, attr.key) for attr in inspect(model).column_attrs)


def as_entity(model: type[Base], row: asyncpg.Record, prefix: str = "") -> Any:
    """A driver row with the mapped class's attribute names, for the repositories' converters
    (its columns named `prefix` + column name, when a statement returns two tables' rows)."""
    return SimpleNamespace(**{key: row[prefix + name] for name, key in _attribute_names(model)})
