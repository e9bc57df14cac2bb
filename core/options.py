"""Addon settings that administrators change on a screen (Settings > Addon settings),
declared in the manifest:

    "settings": {"follow_up_days_A": {"label": "...", "type": "int", "default": 30}}

    from core import options
    days = options.get("crm_contacts", "follow_up_days_A")
"""
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select

from core.db import db
from core.models import Option


def declared(addon):
    """{key: spec} of an addon's settings."""
    return current_app.extensions["crm"].registry.get(addon).manifest["settings"]


def get(addon, key):
    """The setting's value, typed; its default when no one has changed it."""
    spec = declared(addon)[key]
    stored = db.session.scalar(select(Option.value).where(Option.addon == addon,
                                                          Option.key == key))
    return spec["default"] if stored is None else parse(spec, stored)


def parse(spec, text):
    """The typed value of ``text``; ValueError with a message when it does not fit."""
    text = (text or "").strip()
    if spec["type"] == "int":
        try:
            return int(text)
        except ValueError:
            raise ValueError(_("%(value)s is not a whole number", value=text)) from None
    if spec["type"] == "bool":
        return text.lower() in ("1", "true", "yes", "on")
    return text


def save(session, addon, key, value):
    """Store a value (typed already); the caller commits."""
    row = session.scalar(select(Option).where(Option.addon == addon, Option.key == key))
    if row is None:
        row = Option(addon=addon, key=key)
        session.add(row)
    row.value = str(value).lower() if isinstance(value, bool) else str(value)
