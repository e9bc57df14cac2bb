"""Possible duplicate customers: the same normalised name, phone number or email
address (see normalise.py). Checked when a customer is created or edited on the screen,
and for every row of an import."""
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import or_, select, true

from addons.crm_contacts import normalise
from addons.crm_contacts.models import Customer
from core import permissions
from core.db import one_of

# Too short a number (an extension, "110") says nothing about who it is.
MIN_PHONE_DIGITS = 6
KEYS = (("name", "name_key"), ("phone", "phone_key"), ("email", "email_key"))
LABELS = {"name": _l("name"), "phone": _l("phone"), "email": _l("email")}


def keys_of(name, phone, email):
    """{column: key} of the values worth comparing."""
    keys = {"name": normalise.name(name), "phone": normalise.phone(phone),
            "email": normalise.email(email)}
    if len(keys["phone"]) < MIN_PHONE_DIGITS:
        keys["phone"] = ""
    return {column: key for column, key in keys.items() if key}


def candidates(session, name=None, phone=None, email=None, exclude_id=None, limit=20,
               query=None):
    """[(customer, [columns that match])] of existing customers that look like the
    given values. ``query`` narrows the search (the user's record rules)."""
    keys = keys_of(name, phone, email)
    if not keys:
        return []
    conditions = [getattr(Customer, dict(KEYS)[column]) == key for column, key in keys.items()]
    statement = (query if query is not None else select(Customer)).where(or_(*conditions))
    if exclude_id is not None:
        statement = statement.where(Customer.id != exclude_id)
    found = session.scalars(statement.order_by(Customer.id).limit(limit)).all()
    return [(customer, [column for column, key in keys.items()
                        if getattr(customer, dict(KEYS)[column]) == key])
            for customer in found]


def import_warnings(records, session):
    """(index, column, message) for each imported record that matches an existing
    customer or an earlier row of the same file. Few queries (see core.db.one_of)."""
    warnings = []
    first_row = {}      # (column, key) -> index of the first record with it
    wanted = {column: set() for column, _key in KEYS}
    record_keys = []
    for index, record in enumerate(records):
        keys = keys_of(record.name, record.phone, record.email)
        record_keys.append(keys)
        for column, key in keys.items():
            wanted[column].add(key)
            earlier = first_row.setdefault((column, key), index)
            if earlier != index:
                warnings.append((index, column, _(
                    "possible duplicate of row %(row)d (same %(column)s)",
                    row=earlier + 2, column=LABELS[column])))
    existing = _existing(session, wanted)
    for index, keys in enumerate(record_keys):
        for column, key in keys.items():
            customer = existing.get((column, key))
            if customer is None:
                continue
            warnings.append((index, column, _(
                "possible duplicate of %(customer)s (same %(column)s)",
                customer=customer, column=LABELS[column]) if customer else _(
                "possible duplicate of another user's customer (same %(column)s)",
                column=LABELS[column])))
    return warnings


def _existing(session, wanted):
    """{(column, key): "name (code)"} of customers in the database with those keys;
    "" for one the user may not read, whose name and code are not theirs to see."""
    found = {}
    readable = permissions.rule_filter(Customer)
    readable = true() if readable is None else readable
    for column, key_column in KEYS:
        keys, attribute = sorted(wanted[column]), getattr(Customer, key_column)
        for condition in one_of(session, attribute, keys):
            rows = session.execute(select(attribute, Customer.name, Customer.code, readable)
                                   .where(condition))
            for key, name, code, visible in rows:
                if visible:   # a readable match is named, whatever else matches
                    found[(column, key)] = f"{name} ({code})"
                else:
                    found.setdefault((column, key), "")
    return found
