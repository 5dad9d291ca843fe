"""Every Chinese text of the pages has its English: a page switched to English must not fall
back to Chinese for the strings added since the last translation round."""
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
METHODS = [("web/**.py", "python"),
           ("web/templates/**.html", "jinja2")]
OPTIONS = {"web/templates/**.html": {"trim_blocks": "True", "lstrip_blocks": "True"}}
KEYWORDS = {"_": None, "_l": None, "gettext": None, "ngettext": (1, 2), "lazy_gettext": None}


def page_messages():
    """The msgids babel extracts from web/, as `pybabel extract -F babel.cfg -k _l` does."""
    found = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
            str(ROOT), method_map=METHODS, options_map=OPTIONS, keywords=KEYWORDS):
        found.update(m for m in (message if isinstance(message, tuple) else (message,)) if m)
    return found


def test_every_page_text_has_an_english_translation():
    with open(ROOT / "web/translations/en/LC_MESSAGES/messages.po", "rb") as handle:
        catalog = read_po(handle)
    untranslated = sorted(m for m in page_messages()
                          if m not in catalog or not catalog[m].string or catalog[m].fuzzy)
    assert untranslated == [], f"add English for these to messages.po: {untranslated}"
