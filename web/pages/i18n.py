"""Language of the pages: Simplified Chinese by default, English on request (Flask-Babel).

The messages in the code and templates are the Chinese texts themselves; `web/translations/en`
holds their English. The choice is kept in the session (the switch in the top bar). Times are
shown in Beijing time (Asia/Shanghai) whatever the language.
"""
from pathlib import Path

from flask import session
from flask_babel import Babel, get_locale, gettext, lazy_gettext

LANGUAGES = {"zh": "中文", "en": "English"}
DEFAULT_LANGUAGE = "zh"
SESSION_KEY = "lang"
TRANSLATIONS = Path(__file__).resolve().parent.parent / "translations"

_ = gettext
_l = lazy_gettext


def selected_language():
    chosen = session.get(SESSION_KEY)
    return chosen if chosen in LANGUAGES else DEFAULT_LANGUAGE


def html_lang():
    locale = get_locale()
    return "en" if locale is not None and locale.language == "en" else "zh-CN"


def init_app(app):
    app.config.setdefault("BABEL_DEFAULT_LOCALE", DEFAULT_LANGUAGE)
    app.config.setdefault("BABEL_DEFAULT_TIMEZONE", "Asia/Shanghai")
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", str(TRANSLATIONS))
    Babel(app, locale_selector=selected_language)
    app.add_template_global(html_lang, "html_lang")
    app.add_template_global(selected_language, "current_language")
    app.jinja_env.globals["LANGUAGES"] = LANGUAGES
