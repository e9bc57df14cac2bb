"""The two languages: English and Simplified Chinese, chosen per user."""
import logging
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask import current_app, has_app_context, has_request_context, request, session
from flask_babel import format_decimal, get_translations, refresh
from flask_babel import gettext as _
from flask_babel.speaklater import LazyString
from flask_login import current_user
from markupsafe import escape

log = logging.getLogger(__name__)

LANGUAGES = {"en": "English", "zh_Hans_CN": "简体中文"}
CORE_TRANSLATIONS = Path(__file__).parent / "translations"


# Every word marked with mark(): the only stored values label() translates.
DECLARED = set()


def mark(text):
    """Mark text for the translation catalog when it is translated later, at display
    (menu categories, for example, must stay plain strings while the menu is built),
    and declare it: a word label() shows translated (a state, a kind, a default name)."""
    DECLARED.add(text)
    return text


def label(value):
    """A stored value as shown: translated when it is a declared word, else as it is.

    For values that come from the database or a manifest (a quote's state, a stage's
    name), never for literals (use _() there). Jinja's _() marks its result safe and
    %-formats it, so a stored name passed to it would be printed as raw HTML, or crash
    on a "%". This returns plain text, never Markup and never formatted: the template
    escapes it like any other value. None shows as nothing."""
    if value is None:
        return ""
    text = str(value)
    if text not in DECLARED:
        return text
    return str(get_translations().gettext(text))


def money_text(value):
    """An amount as every screen shows it: digits grouped, two decimals, in the user's
    locale; none as 0.00."""
    return format_decimal(value or 0, format="#,##0.00")


class LazyLabel(LazyString):
    """label() at display time, for text fixed before any request (menu names, the
    choices of a form field). flask-babel's LazyString hands its text to Jinja as
    markup (``__html__``); this one is escaped like any other text."""

    def __html__(self):
        return escape(str(self))


def lazy_label(value):
    return LazyLabel(label, value)


def model_label(model):
    """A model as people read it, translated: "Sales order", never "SalesOrder".

    The one way the suite names a model (permissions, reassignment, merge, import
    messages, the audit log): its class attribute ``__label__``, declared with mark()
    (``__label__ = mark("Sales order")``); else the menu label of a screen an enabled
    addon shows it on; else, as a last resort, its class name. ``model`` is the class
    or its name (as core_access and core_audit store it)."""
    if isinstance(model, str):
        model = model_class(model) or model
    name = getattr(model, "__name__", str(model))
    text = getattr(model, "__label__", None) or _menu_label(name)
    if not text:
        return name
    return label(text) if has_app_context() else text


def lazy_model_label(model):
    return LazyLabel(model_label, model)


def model_class(name):
    """The mapped class called ``name``, or None."""
    from core.db import db   # here: core.db's models import this module
    return next((mapper.class_ for mapper in db.Model.registry.mappers
                 if mapper.class_.__name__ == name), None)


def _menu_label(name):
    """The last part of the menu entry of the first screen of model ``name`` that an
    enabled addon declares, or None."""
    if not has_app_context():
        return None
    state = current_app.extensions.get("crm")
    for addon in state.enabled if state else []:
        for view in state.registry.addons[addon].manifest["views"]:
            if view["model"] == name:
                return view["menu"].split("/")[-1]
    return None


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


# What a public page's ?lang= may ask for (a link in an e-mail or on a website).
LANGUAGE_ASKED = {"zh": "zh_Hans_CN", "zh_hans_cn": "zh_Hans_CN", "zh-cn": "zh_Hans_CN",
                  "en": "en"}


def language_from_query():
    """A public blueprint's before_request: ?lang=zh or ?lang=en, kept in the session
    for the visitor's next pages."""
    asked = LANGUAGE_ASKED.get(request.args.get("lang", "").lower())
    if asked:
        session["language"] = asked
        refresh()


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


def lookup_texts():
    """What the look-up boxes (Select2, under Flask-Admin's related-record fields) write,
    in the user's language: a JSON blob on every page, read by crm.js."""
    return {"no_matches": _("No matches found"), "searching": _("Searching…"),
            "load_more": _("Loading more results…"), "failed": _("Loading failed"),
            # (crm.js puts the number where %d is)
            "too_short": _("Type %(count)s more characters", count="%d")}
