"""Statements compiled once per dialect and run straight on the DB-API cursor.

Why: a case's step sends the same seven or eight small statements every time
(`engine.case_store`). Through SQLAlchemy's `Connection.execute` each one pays for an
execution context, parameter distillation and a result object, which measured at about twice
what the database itself takes for them (bench/RESULTS.md, P1). A `Prepared` statement is
compiled once per dialect, with the bind and result processors of its columns' own types, so
what reaches the driver is exactly what `execute` would send; it then runs on the DB-API cursor
of the session's connection, inside the same transaction.

What it gives up, and how: driver errors are wrapped into SQLAlchemy's exception classes, as
`execute` would (the unit of work turns a locked database into a 409 the same way). When
anything listens to the connection's statements (`before_cursor_execute`, echo: profilers,
statement counts in tests), the statement goes through `execute` instead, so every statement
stays visible to whoever asks.
"""
from sqlalchemy import exc


class _Compiled:
    def __init__(self, statement, dialect, keys):
        compiled = statement.compile(dialect=dialect, column_keys=keys)
        self.sql = compiled.string
        self.positional = compiled.positional
        self.names = list(compiled.positiontup) if compiled.positional else list(compiled.binds)
        self.defaults = {name: bind.value for name, bind in compiled.binds.items()
                         if bind.value is not None}
        self.processors = [(name, processor) for name, processor in
                           ((name, compiled.binds[name].type.dialect_impl(dialect)
                             .bind_processor(dialect)) for name in dict.fromkeys(self.names))
                           if processor is not None]
        self.columns = [column.key for column in getattr(statement, "selected_columns", ())]
        self.results = [column.type.dialect_impl(dialect).result_processor(dialect, None)
                        for column in getattr(statement, "selected_columns", ())]

    def parameters(self, values):
        params = {**self.defaults, **values} if self.defaults else dict(values)
        for name, processor in self.processors:
            params[name] = processor(params[name])
        if self.positional:
            return tuple(params[name] for name in self.names)
        return params

    def row(self, raw):
        return Record(self.columns, [value if process is None else process(value)
                                     for process, value in zip(self.results, raw)])


class Record:
    """A row read by a `Prepared` select: attribute and mapping access, like a Core row."""

    __slots__ = ("_mapping",)

    def __init__(self, columns, values):
        self._mapping = dict(zip(columns, values))

    def __getattr__(self, name):
        try:
            return self._mapping[name]
        except KeyError:
            raise AttributeError(name) from None


class Prepared:
    """`statement` with its bind parameters; an INSERT names its columns in `keys` (every
    parameter set then carries exactly those)."""

    def __init__(self, statement, keys=None):
        self.statement, self.keys = statement, keys
        self._by_dialect = {}

    def _compiled(self, dialect):
        key = dialect.name, dialect.server_version_info
        found = self._by_dialect.get(key)
        if found is None:
            found = self._by_dialect[key] = _Compiled(self.statement, dialect, self.keys)
        return found

    def execute(self, connection, params):
        """Run with one parameter set (a dict) or many (a list of dicts); return the rowcount."""
        if watched(connection):
            return connection.execute(self.statement, params).rowcount
        compiled = self._compiled(connection.dialect)
        cursor = connection.connection.cursor()
        try:
            if isinstance(params, list) and len(params) != 1:
                cursor.executemany(compiled.sql, [compiled.parameters(p) for p in params])
            else:  # one row: psycopg's executemany (a pipeline) costs more than execute
                cursor.execute(compiled.sql, compiled.parameters(
                    params[0] if isinstance(params, list) else params))
            return cursor.rowcount
        except connection.dialect.loaded_dbapi.Error as error:
            raise _wrapped(connection, compiled.sql, params, error) from error
        finally:
            cursor.close()

    def first(self, connection, params):
        """The first row of a select (a `Record`), or None."""
        if watched(connection):
            return connection.execute(self.statement, params).first()
        compiled = self._compiled(connection.dialect)
        cursor = connection.connection.cursor()
        try:
            cursor.execute(compiled.sql, compiled.parameters(params))
            raw = cursor.fetchone()
        except connection.dialect.loaded_dbapi.Error as error:
            raise _wrapped(connection, compiled.sql, params, error) from error
        finally:
            cursor.close()
        return None if raw is None else compiled.row(raw)


def watched(connection):
    """Whether something listens to this connection's statements (or echoes them).

    Read from the connection's engine, where statement listeners are registered: its dispatch
    lives as long as the engine, while a connection's is built anew for every transaction."""
    dispatch = connection.engine.dispatch
    return bool(dispatch.before_cursor_execute or dispatch.after_cursor_execute
                or connection.engine.echo)


def _wrapped(connection, sql, params, error):
    return exc.DBAPIError.instance(sql, params, error, connection.dialect.loaded_dbapi.Error,
                                   dialect=connection.dialect)
