"""A neutralised site: a copy restored for tests or training (`restore --neutralise`).
It sends nothing (the outbox is paused), runs no scheduled job, and says so on every
page, so no customer gets a mail from a copy and no one mistakes it for the real site."""
from flask import g
from sqlalchemy import insert, select

from core.db import db
from core.models import Option

KEY = ("core", "neutralised")


def mark(connection):
    """Make the site of ``connection`` a neutralised copy (in its transaction)."""
    addon, key = KEY
    connection.execute(Option.__table__.delete().where(Option.addon == addon, Option.key == key))
    connection.execute(insert(Option).values(addon=addon, key=key, value="1"))


def is_neutralised(session):
    addon, key = KEY
    return session.scalar(select(Option.value).where(Option.addon == addon,
                                                      Option.key == key)) == "1"


def this_request():
    """is_neutralised for the current request, read once (the banner of every page)."""
    if "crm_neutralised" not in g:
        g.crm_neutralised = is_neutralised(db.session)
    return g.crm_neutralised
