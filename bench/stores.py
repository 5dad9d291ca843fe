"""Databases for the benchmarks, initialised exactly as a deployment is: by `linkage init`.

SQLite databases are files in the run's temporary folder: one is initialised by the real
command, the others are copies of it. PostgreSQL gets a throwaway database on the local server
(127.0.0.1:5432, user postgres), dropped at the end of the run.
"""
import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parent.parent
MODELS = Path(__file__).resolve().parent / "models"
PG_ADMIN_URL = os.environ.get("LINKAGE_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


def linkage_command():
    """The `linkage` console script of this interpreter's environment."""
    found = Path(sys.executable).parent / "linkage"
    return [str(found)] if found.exists() else [sys.executable, "-m", "web.cli"]


def server_env(url, instance):
    env = dict(os.environ)
    env.update(LINKAGE_DATABASE_URL=url, LINKAGE_INSTANCE_PATH=str(instance),
               LINKAGE_SECRET_KEY="bench-" + uuid.uuid4().hex, LINKAGE_ENV="development",
               PYTHONPATH=str(ROOT))
    return env


def linkage_init(url, instance):
    result = subprocess.run([*linkage_command(), "init"], cwd=ROOT, env=server_env(url, instance),
                            capture_output=True, text=True, timeout=300)
    if result.returncode != 0:
        last = (result.stderr.strip().splitlines() or ["(no output)"])[-1]
        raise RuntimeError(f"linkage init failed: {last}")


class Stores:
    """The run's databases; `close()` removes them."""

    def __init__(self, workdir):
        self.workdir = Path(workdir)
        self.instance = self.workdir / "instance"
        self.instance.mkdir(parents=True, exist_ok=True)
        self._sqlite_template = None
        self._pg_databases = []
        self.shared = {}  # data several figures use, built by the first that needs it

    def sqlite(self, name):
        """A fresh, initialised SQLite database file; its SQLAlchemy URL."""
        if self._sqlite_template is None:
            template = self.workdir / "template.db"
            linkage_init(f"sqlite:///{template}", self.instance)
            self._sqlite_template = template
        path = self.workdir / f"{name}.db"
        shutil.copyfile(self._sqlite_template, path)
        return f"sqlite:///{path}"

    def postgres(self, name):
        """A fresh, initialised PostgreSQL database; its URL."""
        db_name = f"linkage_bench_{name}_{uuid.uuid4().hex[:8]}"
        admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        try:
            with admin.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{db_name}"'))
        finally:
            admin.dispose()
        self._pg_databases.append(db_name)
        url = PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + db_name
        linkage_init(url, self.instance)
        return url

    def close(self):
        if self._pg_databases:
            admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
            try:
                with admin.connect() as conn:
                    for name in self._pg_databases:
                        conn.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                          "WHERE datname = :name"), {"name": name})
                        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
            finally:
                admin.dispose()


def postgres_version():
    """The local server's version, or None when it cannot be reached."""
    try:
        admin = create_engine(PG_ADMIN_URL, connect_args={"connect_timeout": 3})
        try:
            with admin.connect() as conn:
                return conn.execute(text("SHOW server_version")).scalar()
        finally:
            admin.dispose()
    except Exception:  # noqa: BLE001 - any failure means "no PostgreSQL here"
        return None


def make_app(url, clock, instance):
    """The real Flask app (engine, forms, handlers, API) on `url`, with the bench's clock."""
    os.environ.setdefault("LINKAGE_INSTANCE_PATH", str(instance))
    from web.app import create_app
    return create_app({"DATABASE_URL": url, "CLOCK": clock, "LINKAGE_ENV": "development",
                       "TESTING": False})


def deploy_models(engine, *names):
    from engine.access import SYSTEM
    files = [(f"{name}.bpmn", (MODELS / f"{name}.bpmn").read_bytes()) for name in names]
    return engine.deploy(files, SYSTEM)
