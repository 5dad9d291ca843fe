"""The application factory: configuration, the engine, the blueprints, the CLI commands.

Everything a request or a command needs hangs off `app.extensions["linkage"]` (the engine's
service layer, built once per app); tests build a fresh app and database per test.
"""
import os
import secrets
from pathlib import Path

from flask import Flask

from engine.clock import Clock
from engine.db import Database
from engine.service import Engine

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SECRET = "dev-only-secret-change-me"


def default_database_url(instance_path):
    return f"sqlite:///{Path(instance_path) / 'linkage.db'}"


def create_app(test_config=None):
    instance = os.environ.get("LINKAGE_INSTANCE_PATH") or str(ROOT / "instance")
    app = Flask(__name__, instance_path=instance, instance_relative_config=True)
    app.config.from_mapping(
        SECRET_KEY=os.environ.get("LINKAGE_SECRET_KEY", DEFAULT_SECRET),
        DATABASE_URL=os.environ.get("LINKAGE_DATABASE_URL") or default_database_url(instance),
        LINKAGE_ENV=os.environ.get("LINKAGE_ENV", "development"),
        BPMN_DIR=str(ROOT / "bpmn"),
        BASE_URL=os.environ.get("LINKAGE_BASE_URL", "http://127.0.0.1:5000"),
        MAX_CONTENT_LENGTH=int(os.environ.get("LINKAGE_MAX_BODY", 16 * 1024 * 1024)),
        UPLOAD_FOLDER=os.environ.get("LINKAGE_UPLOAD_FOLDER"),  # default: instance/uploads
        JSON_AS_ASCII=False,
        CLOCK=None,
    )
    if test_config:
        app.config.update(test_config)
    app.json.ensure_ascii = False
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    from web import security
    security.init_app(app)

    import workflows

    database = Database(app.config["DATABASE_URL"])
    engine = Engine(database, app.config["CLOCK"] or Clock())
    workflows.register(engine)
    engine.scheduler.configure(app.config)  # SMTP_*, WEBHOOK_URL, BASE_URL (or LINKAGE_* vars)
    from engine.calendar_store import apply_at_start
    apply_at_start(database)  # holiday arrangements loaded with `linkage calendar load`
    app.extensions["linkage"] = engine

    from web.api import bp as api_bp
    from web.pages import bp as pages_bp
    from werkzeug.exceptions import HTTPException
    from web.api.errors import app_http_error
    app.register_error_handler(HTTPException, app_http_error)
    app.register_blueprint(api_bp)
    app.register_blueprint(pages_bp)

    from web.cli import register_commands
    register_commands(app)
    if not app.config.get("LINKAGE_CLI"):  # commands check when they serve (see web.cli)
        security.check_production(app)
    return app


def new_secret():
    return secrets.token_urlsafe(32)
