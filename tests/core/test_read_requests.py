"""A GET or HEAD request's session refuses writes (`app.core.db.refuse_writes`)."""

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from app.centres.models import Centre
from app.core.db import WriteInReadRequest, create_sessionmaker, refuse_writes
from tests.centres.factories import make_centre


async def test_a_read_only_session_refuses_flushes_and_write_statements(
    connection: AsyncConnection, session: AsyncSession
) -> None:
    centre = await make_centre(session, name="Before")
    maker = create_sessionmaker(connection, join_transaction_mode="create_savepoint")
    async with maker() as reader:
        refuse_writes(reader)
        assert (await reader.execute(select(func.count()).select_from(Centre))).scalar_one() >= 1
        loaded = await reader.get(Centre, centre.id)
        assert loaded is not None
        loaded.name = "Changed"
        with pytest.raises(WriteInReadRequest):
            await reader.flush()
        await reader.rollback()
        with pytest.raises(WriteInReadRequest):
            await reader.execute(update(Centre).where(Centre.id == centre.id).values(name="X"))
    # Sessions of the same maker that were not marked keep writing: the mark is per session.
    async with maker() as writer:
        await writer.execute(update(Centre).where(Centre.id == centre.id).values(name="After"))
        await writer.flush()
        name = (await writer.execute(select(Centre.name).where(Centre.id == centre.id))).scalar()
    assert name == "After"


async def test_refusing_writes_needs_the_services_session(connection: AsyncConnection) -> None:
    with pytest.raises(TypeError):
        refuse_writes(AsyncSession(connection))
