"""The two languages: English and Simplified Chinese, chosen per user."""
import logging
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask import has_request_context, request, session
from flask_login import current_user

log = logging.getLogger(__name__)

LANGUAGES = {"en": "English", "zh_Hans_CN": "简体中文"}
CORE_TRANSLATIONS = Path(__file__).parent / "translations"


def mark(text):
    """Mark text for the translation catalog when it is translated later, at display
    (menu categories, for example, must stay plain strings while the menu is built)."""
    return text


def select_locale(default="en"):
    """The user's own choice, then the session's, then the browser's."""
    if not has_request_context():   # the command line: the configured default
        return default
    if getattr(current_user, "is_authenticated", False) and current_user.language in LANGUAGES:
        return current_user.language
    if session.get("language") in LANGUAGES:
        return session["language"]
    best = request.accept_languages.best_match(["en", "zh", "zh-CN", "zh-Hans", "zh-SG"])
    if best and best.startswith("zh"):
        return "zh_Hans_CN"
    return best or default


def compile_catalogs(directories):
    """Compile each .po into its .mo when the .mo is missing or older, so a checkout
    (which carries only .po files) works without a separate build step."""
    for directory in directories:
        for po_path in Path(directory).glob("*/LC_MESSAGES/*.po"):
            mo_path = po_path.with_suffix(".mo")
            if mo_path.exists() and mo_path.stat().st_mtime >= po_path.stat().st_mtime:
                continue
            try:
                with open(po_path, "rb") as po_file:
                    catalog = read_po(po_file)
                with open(mo_path, "wb") as mo_file:
                    write_mo(mo_file, catalog)
            except OSError as exc:  # a read-only install: use what is there
                log.warning("cannot compile %s: %s", po_path, exc)
