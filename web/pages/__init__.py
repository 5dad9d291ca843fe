"""Server-rendered pages for clerks and supervisors (Simplified Chinese or English, phone-friendly)."""
from flask import Blueprint

bp = Blueprint("pages", __name__, template_folder="../templates", static_folder="../static",
               static_url_path="/static")


@bp.record_once
def _setup(state):
    from web.pages import assets, csrf, display, i18n
    from web.pages.auth import current_path, display_name, role_name
    from web.pages.throttle import LoginThrottle
    from web.pages.views import THROTTLE

    app = state.app
    app.extensions.setdefault(THROTTLE, LoginThrottle())
    if app.config.get("SESSION_COOKIE_SAMESITE") is None:
        app.config["SESSION_COOKIE_SAMESITE"] = "Lax"
    app.jinja_env.trim_blocks = app.jinja_env.lstrip_blocks = True
    i18n.init_app(app)
    display.register(app)
    app.add_template_global(csrf.field, "csrf_field")
    app.add_template_global(csrf.token, "csrf_token")
    app.add_template_global(display_name, "current_user_name")
    app.add_template_global(role_name, "current_role_name")
    app.add_template_global(current_path, "here")
    app.add_template_global(assets.vendor_ready, "vendor_ready")


from web.pages import admin, board, errors, views  # noqa: E402,F401
from web.pages import reports  # noqa: E402,F401  (statistics page, case documents as PDF)
from web.pages import notifications  # noqa: E402,F401  (in-app notifications, unread badge)
