"""`linkage backup FILE` and `linkage restore FILE` on SQLite: a backup taken while the app
writes restores into a fresh database with every case, task, timer and audit event as it was,
and the restored database goes on working. PostgreSQL is pointed to pg_dump / pg_restore.

Protection removed to check these tests: with `engine.backup._copy` copying the file with
`shutil.copyfile` instead of SQLite's backup API, the backup taken during writes misses the
pages still in the WAL and the comparisons of the restored database fail.
"""
import sqlite3
import threading

import pytest
from sqlalchemy import inspect, select, text

from engine import audit_chain
from engine.models import Case
from tests.security.conftest import Api, make_app, principal, start, token_for
from tests.security.test_audit_chain import run_cases

TABLES = ("cases", "tasks", "timers", "message_waits", "events", "users", "organisations",
          "process_definitions", "api_tokens", "engine_state")


def dump(eng):
    """Every row of the tables that make up the cases, in a comparable form."""
    with eng.db.engine.connect() as conn:
        present = set(inspect(conn).get_table_names())
        return {table: sorted(tuple(str(v) for v in row)
                              for row in conn.execute(text(f'SELECT * FROM "{table}"')))
                for table in TABLES if table in present}


def cli(app, *args):
    return app.test_cli_runner().invoke(args=list(args))


def test_backup_restores_every_case_into_a_fresh_database(world, clock, tmp_path):
    eng = world.extensions["linkage"]
    run_cases(eng, clock)
    start(eng)  # one still waiting for its reminder
    token = token_for(eng, "clerk")
    before = dump(eng)
    assert len(before["cases"]) >= 5 and before["events"] and before["timers"]
    backup = tmp_path / "backups" / "linkage-backup.db"
    result = cli(world, "backup", str(backup))
    assert result.exit_code == 0, result.output

    fresh_dir = tmp_path / "fresh"
    fresh_dir.mkdir()
    fresh = make_app(f"sqlite:///{fresh_dir / 'restored.db'}", clock, fresh_dir)
    result = cli(fresh, "restore", str(backup), "--yes")
    assert result.exit_code == 0, result.output
    assert f"{len(before['cases'])} 个案件" in result.output
    restored = fresh.extensions["linkage"]
    assert dump(restored) == before
    with restored.db.unit_of_work(write=False) as session:
        assert audit_chain.verify(session).ok
    # it goes on working: the old token, a new case, its task
    api = Api(fresh, token)
    case_id, task_id = start(restored)
    status, body = api.call("POST", f"/tasks/{task_id}/complete", {"data": {}})
    assert status == 200 and body["status"] == "completed"
    restored.db.dispose()


def test_a_backup_taken_while_the_app_writes_is_consistent(world, tmp_path):
    eng = world.extensions["linkage"]
    tasks = [start(eng)[1] for _ in range(30)]
    clerk = principal(eng, "clerk")
    done = threading.Event()

    def write():
        for task_id in tasks:
            eng.complete_task(clerk, task_id, {"n": 1})
        done.set()

    writer = threading.Thread(target=write)
    writer.start()
    backups = []
    while not done.is_set() and len(backups) < 5:
        target = tmp_path / f"during-{len(backups)}.db"
        assert cli(world, "backup", str(target)).exit_code == 0
        backups.append(target)
    writer.join(120)
    assert backups
    for target in backups:
        conn = sqlite3.connect(target)
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        completed = conn.execute("SELECT count(*) FROM cases WHERE status = 'completed'").fetchone()[0]
        events = conn.execute("SELECT count(*) FROM events WHERE kind = 'task_completed'").fetchone()[0]
        conn.close()
        assert completed == events  # a snapshot: never a case without its audit event
        copy = make_app(f"sqlite:///{target}", None, tmp_path)
        with copy.extensions["linkage"].db.unit_of_work(write=False) as session:
            assert audit_chain.verify(session).ok
        copy.extensions["linkage"].db.dispose()


def test_backup_refuses_to_overwrite_and_restore_refuses_what_is_not_a_backup(world, tmp_path):
    eng = world.extensions["linkage"]
    target = tmp_path / "b.db"
    assert cli(world, "backup", str(target)).exit_code == 0
    result = cli(world, "backup", str(target))
    assert result.exit_code == 1 and "--force" in result.output
    assert cli(world, "backup", str(target), "--force").exit_code == 0
    before = dump(eng)

    not_sqlite = tmp_path / "notes.txt"
    not_sqlite.write_text("这不是数据库")
    other_sqlite = tmp_path / "other.db"
    sqlite3.connect(other_sqlite).execute("CREATE TABLE t (x)").connection.close()
    truncated = tmp_path / "truncated.db"
    truncated.write_bytes(target.read_bytes()[:8192])
    for bad, words in ((not_sqlite, "SQLite"), (other_sqlite, "缺少表"), (truncated, ""),
                       (tmp_path / "missing.db", "不存在")):
        result = cli(world, "restore", str(bad), "--yes")
        assert result.exit_code == 1 and words in result.output, (bad, result.output)
    assert dump(eng) == before  # nothing changed


def test_postgresql_is_pointed_to_pg_dump(world, clock, tmp_path):
    pg = make_app("postgresql+psycopg://nobody@127.0.0.1:1/none", clock, tmp_path, LINKAGE_CLI=True)
    for args in (["backup", str(tmp_path / "x.dump")], ["restore", str(tmp_path / "x.dump"), "--yes"]):
        result = cli(pg, *args)
        assert result.exit_code == 1 and "pg_dump" in result.output and "pg_restore" in result.output


@pytest.mark.parametrize("count", [3])
def test_restore_replaces_everything_written_after_the_backup(world, clock, tmp_path, count):
    eng = world.extensions["linkage"]
    start(eng)
    backup = tmp_path / "b.db"
    assert cli(world, "backup", str(backup)).exit_code == 0
    before = dump(eng)
    for _ in range(count):
        start(eng)
    eng.db.dispose()
    assert cli(world, "restore", str(backup), "--yes").exit_code == 0
    assert dump(eng) == before
    with eng.db.unit_of_work(write=False) as session:
        assert len(session.scalars(select(Case.id)).all()) == len(before["cases"])
