"""Database connection and the unit of work that owns each transaction.

SQLite (the embedded default) runs in WAL mode with a busy timeout, and write transactions
start with `BEGIN IMMEDIATE` so that two writers queue instead of failing half-way. PostgreSQL
is the production store; there, concurrent writers of one case are told apart by the case's
version column (optimistic locking) and the sweep takes rows with `FOR UPDATE SKIP LOCKED`.
"""
from contextlib import contextmanager

from sqlalchemy import create_engine, event
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.orm.exc import StaleDataError

from engine.errors import Conflict
from engine.prepared import watched


class Database:
    def __init__(self, url, echo=False):
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        kwargs = {"echo": echo, "future": True}
        if self.is_sqlite:
            kwargs["connect_args"] = {"timeout": 30, "check_same_thread": False}
        else:
            kwargs.update(pool_size=10, max_overflow=20, pool_pre_ping=True)
        self.engine = create_engine(url, **kwargs)
        if self.is_sqlite:
            self._configure_sqlite()
        self._sessions = {
            write: sessionmaker(self.engine.execution_options(linkage_write=write),
                                expire_on_commit=False, class_=Session)
            for write in (True, False)}

    def _configure_sqlite(self):
        @event.listens_for(self.engine, "connect")
        def _pragmas(dbapi_connection, _record):
            dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=30000")
            # Copy the WAL back every ~16 MB, not every 4 MB: a page written again before the
            # checkpoint is copied once (P1: a completion's commit 0.02-0.03 ms cheaper).
            cursor.execute("PRAGMA wal_autocheckpoint=4000")
            cursor.close()

        @event.listens_for(self.engine, "begin")
        def _begin(conn):
            write = conn.get_execution_options().get("linkage_write", True)
            begin = "BEGIN IMMEDIATE" if write else "BEGIN"
            if watched(conn):
                conn.exec_driver_sql(begin)
            else:  # every transaction starts here: no execution context for a bare BEGIN
                conn.connection.driver_connection.execute(begin)

    @contextmanager
    def unit_of_work(self, write=True):
        """One transaction: committed when the block ends, rolled back on any error.

        A lost race on a case's version surfaces as `Conflict` (HTTP 409), never as a
        half-written case.
        """
        session = self._sessions[write]()
        try:
            yield session
            session.commit()
        except StaleDataError as exc:
            session.rollback()
            raise Conflict("案件已被他人修改，请刷新后重试") from exc
        except OperationalError as exc:
            session.rollback()
            if "locked" in str(exc).lower() or "could not serialize" in str(exc).lower():
                raise Conflict("数据库繁忙，请稍后重试") from exc
            raise
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    def dispose(self):
        self.engine.dispose()


# -- row locks held by a transaction --------------------------------------------------------
# session.info key: the cases whose row this transaction locked with `FOR UPDATE`, by id. The
# objects are held here, not only in the session's weak identity map, which may drop them.
LOCKED_CASES = "linkage_locked_cases"


def remember_locked(session, case):
    session.info.setdefault(LOCKED_CASES, {})[case.id] = case


def locked_case(session, case_id):
    """The case whose row this transaction locked, or None."""
    return session.info.get(LOCKED_CASES, {}).get(str(case_id))


def holds_case(session, case_id):
    """Whether no other writer can change the case's row until this transaction ends: a
    SQLite write transaction holds the whole database from its `BEGIN IMMEDIATE`; on
    PostgreSQL, a case whose row was locked `FOR UPDATE`."""
    if session.bind.dialect.name == "sqlite":
        return bool(session.bind.get_execution_options().get("linkage_write", True))
    return locked_case(session, case_id) is not None


@event.listens_for(Session, "after_rollback")
def _forget_locks(session):
    """A rolled-back transaction holds no row locks any more."""
    session.info.pop(LOCKED_CASES, None)


# session.info key: cases whose row was written behind the ORM (engine.case_store), by id.
WRITTEN_CASES = "linkage_written_cases"


def remember_written(session, case):
    session.info.setdefault(WRITTEN_CASES, {})[case.id] = case


@event.listens_for(Session, "after_soft_rollback")
def _after_savepoint_rollback(session, previous_transaction):
    """A savepoint rolled back undoes rows the ORM never saw written: expire those cases so
    they are read again, and forget the row locks (PostgreSQL releases those taken inside the
    savepoint; a case still locked from before it is only locked again, harmlessly)."""
    if not previous_transaction.nested:
        return
    for case in session.info.pop(WRITTEN_CASES, {}).values():
        if case in session:
            session.expire(case)
    session.info.pop(LOCKED_CASES, None)
