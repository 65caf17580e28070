"""Engine, declarative base and the session-per-request dependency."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy import DateTime, Integer, MetaData, TypeDecorator, event, func, select, text
from sqlalchemy.engine import Dialect, make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import (
    DeclarativeBase,
    Mapped,
    ORMExecuteState,
    Session,
    declared_attr,
    mapped_column,
)

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored in UTC and always returned timezone-aware (SQLite keeps no offset)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Timestamped:
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class Versioned(Timestamped):
    """A mutable resource: `version` starts at 1 and SQLAlchemy bumps it on every UPDATE,
    refusing the write when another transaction changed the row first (optimistic locking)."""

    version: Mapped[int] = mapped_column(Integer, nullable=False)

    @declared_attr.directive
    def __mapper_args__(cls) -> dict[str, Any]:
        return {"version_id_col": cls.version}


def async_url(url: str) -> str:
    """Users give plain `postgresql://` or `sqlite:///` URLs; the service picks the async driver."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "postgresql":
        parsed = parsed.set(drivername="postgresql+asyncpg")
    elif backend == "sqlite":
        parsed = parsed.set(drivername="sqlite+aiosqlite")
    return parsed.render_as_string(hide_password=False)


def sync_url(url: str) -> str:
    """The URL for Alembic and other synchronous tools (psycopg on PostgreSQL)."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    elif backend == "sqlite":
        parsed = parsed.set(drivername="sqlite")
    return parsed.render_as_string(hide_password=False)


def ensure_sqlite_directory(url: str) -> None:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)


def configure_sqlite(sync_engine: Any) -> None:
    """Foreign keys on, WAL, and transactions that take the write lock when they begin, so
    that a read-then-write (a repayment) never fails half-way on a lock upgrade."""

    @event.listens_for(sync_engine, "connect")
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.close()

    @event.listens_for(sync_engine, "begin")
    def on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


DEFAULT_CONNECT_TIMEOUT = 5.0
DEFAULT_COMMAND_TIMEOUT = 30.0
DEFAULT_POOL_SIZE = 20


def create_engine(
    url: str,
    *,
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
    command_timeout: float = DEFAULT_COMMAND_TIMEOUT,
    pool_size: int = DEFAULT_POOL_SIZE,
    **kwargs: Any,
) -> AsyncEngine:
    """An engine that gives up quickly when the database is gone: connecting is bounded by
    `connect_timeout` and every statement by `command_timeout` (asyncpg's own default is
    60 s to connect and no limit per statement), so a request answers 503 instead of
    hanging. SQLite waits at most `busy_timeout` for a lock."""
    ensure_sqlite_directory(url)
    async_driver_url = async_url(url)
    if make_url(async_driver_url).get_backend_name() == "postgresql":
        connect_args = dict(kwargs.pop("connect_args", {}))
        connect_args.setdefault("timeout", connect_timeout)
        connect_args.setdefault("command_timeout", command_timeout)
        # PostgreSQL's JIT compiles a report's expressions on every run: at a million loans
        # it added 1 to 2 s to a past-date portfolio that runs in 2 s without it, and no
        # statement here runs long enough to earn it back (docs/SCALING.md).
        server_settings = dict(connect_args.get("server_settings", {}))
        server_settings.setdefault("jit", "off")
        connect_args["server_settings"] = server_settings
        kwargs["connect_args"] = connect_args
        if kwargs.get("poolclass") is None:
            kwargs.setdefault("pool_timeout", command_timeout)
            # A fixed set of connections, no overflow: SQLAlchemy closes an overflow
            # connection as soon as it is returned, so under a steady load beyond the pool
            # every request would open and close a PostgreSQL connection of its own.
            kwargs.setdefault("pool_size", pool_size)
            kwargs.setdefault("max_overflow", 0)
    # Error messages must not carry parameters: they may be personal data.
    engine = create_async_engine(async_driver_url, hide_parameters=True, **kwargs)
    if engine.dialect.name == "sqlite":
        configure_sqlite(engine.sync_engine)
    return engine


READ_METHODS = frozenset({"GET", "HEAD"})


class WriteInReadRequest(RuntimeError):
    """A GET or HEAD request tried to write: a programming error, never a user's."""


class ServiceSession(Session):
    """The service's ORM session. One whose `info` holds `READ_ONLY` (a GET or HEAD
    request's, `refuse_writes`) raises `WriteInReadRequest` on any write. The guard is
    registered once on this class rather than on each session: registering event listeners
    per request cost about 5 % of a loan read's CPU."""


READ_ONLY = "read_only"


@event.listens_for(ServiceSession, "before_flush")
def _no_flush_when_read_only(session: Session, _context: Any, _instances: Any) -> None:
    if session.info.get(READ_ONLY) and (session.new or session.dirty or session.deleted):
        raise WriteInReadRequest("a read request tried to write")


@event.listens_for(ServiceSession, "do_orm_execute")
def _no_write_statement_when_read_only(state: ORMExecuteState) -> None:
    if state.session.info.get(READ_ONLY) and (
        state.is_insert or state.is_update or state.is_delete
    ):
        raise WriteInReadRequest("a read request tried to write")


def create_sessionmaker(bind: Any, **kwargs: Any) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(
        bind=bind,
        expire_on_commit=False,
        autoflush=False,
        sync_session_class=ServiceSession,
        **kwargs,
    )


def refuse_writes(session: AsyncSession) -> None:
    """Make the session raise `WriteInReadRequest` on any INSERT, UPDATE or DELETE, whether
    flushed by the ORM or executed as a statement (a session of `create_sessionmaker`)."""
    if not isinstance(session.sync_session, ServiceSession):
        raise TypeError("refuse_writes needs a session made by create_sessionmaker")
    session.sync_session.info[READ_ONLY] = True


async def begin_read(session: AsyncSession) -> None:
    """Prepare the session of a GET or HEAD request, which only reads: writes are refused,
    and on PostgreSQL its statements run without BEGIN and COMMIT (autocommit). Under READ
    COMMITTED, PostgreSQL's default and the service's, each statement of a transaction
    takes a snapshot of its own, so reads wrapped in a transaction see exactly what they
    see without one; the two statements cost two round trips of the five of a loan read.
    A session bound to a connection (the tests' transaction) keeps that connection's
    transaction."""
    refuse_writes(session)
    bind = session.bind
    if isinstance(bind, AsyncEngine) and bind.dialect.name == "postgresql":
        await session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """One transaction per request, committed (or rolled back) before the response is sent;
    a GET or HEAD request reads without one (`begin_read`)."""
    sessionmaker: async_sessionmaker[AsyncSession] = request.app.state.sessionmaker
    async with sessionmaker() as session:
        if request.method in READ_METHODS:
            await begin_read(session)
        try:
            yield session
            await session.commit()
        except BaseException:
            await session.rollback()
            raise


SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]


async def get_reports_session(request: Request, session: SessionDep) -> AsyncIterator[AsyncSession]:
    """The session reports read from: a read replica when `REPORTS_DATABASE_URL` is set,
    else the request's own session (never a second connection to the primary, which on
    SQLite would wait for the request's own write lock). On PostgreSQL its statements run
    with `REPORT_WORK_MEM` (`report_memory`)."""
    replica: async_sessionmaker[AsyncSession] | None = request.app.state.reports_sessionmaker
    work_mem: str = request.app.state.settings.report_work_mem
    if replica is None:
        async with report_memory(session, work_mem):
            yield session
        return
    async with replica() as reports_session:
        try:
            async with report_memory(reports_session, work_mem):
                yield reports_session
        finally:
            await reports_session.rollback()


@asynccontextmanager
async def report_memory(session: AsyncSession, work_mem: str) -> AsyncIterator[None]:
    """PostgreSQL's `work_mem` at `work_mem` for the statements run inside, then back to the
    server's. A report at a national scale sorts and aggregates hundreds of thousands of
    positions; at the server's default (4MB) those spill to temporary files (docs/SCALING.md).
    Set for the connection, not the transaction, since a read runs without one
    (`begin_read`); reset before the connection goes back to the pool."""
    if session.get_bind().dialect.name != "postgresql":
        yield
        return
    await session.execute(select(func.set_config("work_mem", work_mem, False)))
    try:
        yield
    finally:
        with suppress(Exception):  # a connection that broke is discarded by the pool anyway
            await session.execute(text("RESET work_mem"))


ReportsSessionDep = Annotated[AsyncSession, Depends(get_reports_session, scope="function")]
