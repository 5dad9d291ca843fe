"""Backup and restore of the embedded SQLite database, with SQLite's online backup API.

The backup API copies a consistent snapshot page by page while the application keeps running
(writers in WAL mode are not blocked for long). PostgreSQL has its own tools, `pg_dump` and
`pg_restore`, which do this better than anything here could; these functions refuse it with a
message that says so.
"""
import sqlite3
from pathlib import Path

from sqlalchemy.engine import make_url

REQUIRED_TABLES = {"alembic_version", "cases", "events", "tasks", "process_definitions", "users"}
POSTGRES_HINT = ("PostgreSQL 数据库请使用 pg_dump / pg_restore 备份和恢复，例如：\n"
                 "  pg_dump -Fc -d linkage -f linkage.dump\n"
                 "  pg_restore --clean --if-exists -d linkage linkage.dump\n"
                 "（详见 README 的“备份与恢复”）")


class BackupRefused(Exception):
    """Backup or restore cannot go ahead; the message says why, in Chinese."""


def sqlite_path(url):
    """The file of a SQLite URL; refuses other databases and in-memory SQLite."""
    parsed = make_url(url)
    if not parsed.drivername.startswith("sqlite"):
        raise BackupRefused(POSTGRES_HINT if parsed.drivername.startswith("postgresql")
                            else f"不支持备份 {parsed.drivername} 数据库")
    if not parsed.database or parsed.database == ":memory:":
        raise BackupRefused("内存数据库无法备份")
    return Path(parsed.database)


def _copy(source, target, pages=1024):
    source.backup(target, pages=pages)


def check_backup_file(path):
    """Refuse anything that is not an intact Linkage SQLite database."""
    path = Path(path)
    if not path.is_file():
        raise BackupRefused(f"备份文件不存在: {path}")
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            integrity = conn.execute("PRAGMA integrity_check").fetchone()[0]
            tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        raise BackupRefused(f"不是有效的 SQLite 数据库文件: {exc}") from exc
    if integrity != "ok":
        raise BackupRefused(f"备份文件已损坏: {integrity}")
    missing = REQUIRED_TABLES - tables
    if missing:
        raise BackupRefused(f"不是 Linkage 的数据库备份（缺少表: {', '.join(sorted(missing))}）")


def backup(url, destination, overwrite=False):
    """Write a consistent copy of the live SQLite database to `destination`."""
    source_path = sqlite_path(url)
    destination = Path(destination)
    if not source_path.is_file():
        raise BackupRefused(f"数据库文件不存在: {source_path}")
    if destination.exists() and not overwrite:
        raise BackupRefused(f"目标文件已存在: {destination}（使用 --force 覆盖）")
    if destination.resolve() == source_path.resolve():
        raise BackupRefused("备份文件不能是数据库本身")
    destination.parent.mkdir(parents=True, exist_ok=True)
    partial = destination.with_name(destination.name + ".partial")
    partial.unlink(missing_ok=True)
    source = sqlite3.connect(str(source_path), timeout=30)
    target = sqlite3.connect(str(partial))
    try:
        _copy(source, target)
        target.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
    finally:
        target.close()
        source.close()
    partial.replace(destination)  # a half-written backup never carries the final name
    check_backup_file(destination)
    return destination


def restore(url, source_file):
    """Replace the contents of the SQLite database at `url` with the backup `source_file`.

    The application must not be serving this database meanwhile (stop `linkage serve` and
    `linkage worker` first): a restore is the whole database going back in time.
    """
    target_path = sqlite_path(url)
    check_backup_file(source_file)
    target_path.parent.mkdir(parents=True, exist_ok=True)
    source = sqlite3.connect(f"file:{Path(source_file)}?mode=ro", uri=True)
    target = sqlite3.connect(str(target_path), timeout=30)
    try:
        _copy(source, target)
        result = target.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        target.close()
        source.close()
    if result != "ok":
        raise BackupRefused(f"恢复后的数据库校验失败: {result}")
    return target_path
