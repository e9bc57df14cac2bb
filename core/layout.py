"""Where a screen shows each field of a model, and who sees it (Settings > Customise >
Layout): one rule per field (core_field_rule) moves it to another section of the record
page, hides it from everyone (a built-in field a client does not use), or makes it
read-only or hidden for some groups. A model's sections may be shown as tabs
(core_screen_layout): the first section above them, each other one on a tab of its own,
on the record page and the form alike.

A user's access to a field is the widest among their groups that may read the model, as
with access letters (core.permissions): hidden for one group and not for another the user
is in, they see it. Administrators see every field not hidden from everyone. The screens
enforce it on the server (core.admin.ModelView): a hidden field is not on the list, the
record page, the form, the filters, the search, the export, the import or the feed, and a
POST that sets it is ignored; a read-only one is shown but never written from a form or an
import.
"""
import json
from dataclasses import dataclass, field

from flask import current_app, g, has_request_context
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import or_, select
from sqlalchemy.exc import DBAPIError

from core.customise import MORE, section_key
from core.db import db
from core.i18n import lazy_label, mark
from core.models import Access, FieldRule, Group, ScreenLayout

EDIT, READONLY, HIDDEN = "edit", "readonly", "hidden"
ACCESS = {EDIT: mark("Can edit"), READONLY: mark("Read-only"), HIDDEN: mark("Hidden")}
NARROWEST_FIRST = (HIDDEN, READONLY, EDIT)
NOTHING = (frozenset(), frozenset())


@dataclass(frozen=True)
class Rule:
    section: str = None            # a section's key (core.customise.section_key), "-": more
    hidden: bool = False
    groups: dict = field(default_factory=dict)   # {group code: READONLY or HIDDEN}


def rule_of(row):
    return Rule(section=row.section, hidden=row.hidden, groups=json.loads(row.access or "{}"))


def site_rules(session, enabled=None):
    """{model name: {field: Rule}} of the site, but those of client addons not
    ``enabled`` (None: all); {} on a database whose upgrade is pending."""
    found = {}
    for row in _site_rows(session, FieldRule, enabled):
        found.setdefault(row.model, {})[row.field] = rule_of(row)
    return found


def site_tabs(session, enabled=None):
    """The names of the models whose sections show as tabs, as site_rules."""
    return frozenset(row.model for row in _site_rows(session, ScreenLayout, enabled)
                     if row.tabs)


def _site_rows(session, model, enabled):
    query = select(model)
    if enabled is not None:
        query = query.where(or_(model.addon.is_(None), model.addon.in_(enabled)))
    try:
        return session.scalars(query).all()
    except DBAPIError:
        session.rollback()
        return []


def restricted(user, model_name, rules):
    """(hidden, read-only): the fields of ``model_name`` the user may not see, and those
    they may see but not change; worked out once per request."""
    if not rules:
        return NOTHING
    cache = g.setdefault("crm_restricted", {}) if has_request_context() else {}
    key = (getattr(user, "id", None), model_name)
    if key not in cache:
        cache[key] = _restricted(user, model_name, rules)
    return cache[key]


def hidden_here(model_name):
    """The fields of ``model_name`` hidden from the signed-in user: what a page outside
    the model's screens (a quick search, say) must not show or search either."""
    return restricted_here(model_name)[0]


def restricted_here(model_name):
    """(hidden, read-only) fields of ``model_name`` for the signed-in user, by the
    site's rules: for a page outside the model's own screens (another's form lines)."""
    rules = current_app.extensions["crm"].field_rules.get(model_name)
    return restricted(current_user, model_name, rules)


def _restricted(user, model_name, rules):
    hidden = {name for name, rule in rules.items() if rule.hidden}
    readonly = set()
    if not getattr(user, "is_admin", False):
        groups = reading_groups(user, model_name)
        for name, rule in rules.items():
            access = max((rule.groups.get(code, EDIT) for code in groups),
                         key=NARROWEST_FIRST.index, default=EDIT)
            if access == HIDDEN:
                hidden.add(name)
            elif access == READONLY:
                readonly.add(name)
    return frozenset(hidden), frozenset(readonly - hidden)


def reading_groups(user, model_name):
    """The codes of the user's groups that may read ``model_name``."""
    ids = [group.id for group in getattr(user, "groups", ())]
    if not ids:
        return []
    return db.session.scalars(select(Group.code).join(Access, Access.group_id == Group.id).where(
        Group.id.in_(ids), Access.model == model_name, Access.letters.contains("r"))).all()


def arranged(sections, rules):
    """A record page's sections [(title, [field])] with the fields the rules move taken
    to theirs (by key; "-" or a section that is gone: a section "More details" at the
    end)."""
    moves = {name: rule.section for name, rule in rules.items() if rule.section is not None}
    if not moves:
        return sections
    sections = [(title, [n for n in names if n not in moves]) for title, names in sections]
    keys = {section_key(title): names for title, names in sections}
    more = []
    for name, key in moves.items():   # (custom fields may have made "More details")
        keys.get(MORE if key == "-" else key, more).append(name)
    return sections + ([(lazy_label(MORE), more)] if more else [])


def save_rule(session, model_name, name, section, hidden, groups, registry):
    """Write the rule of one field (none left when it says nothing) and have every
    process read it on its next request."""
    row = _row(session, FieldRule, model=model_name, field=name)
    groups = {code: access for code, access in sorted(groups.items()) if access != EDIT}
    if section is None and not hidden and not groups:
        if row.id is not None:
            session.delete(row)
    else:
        row.section, row.hidden, row.access = section, hidden, json.dumps(groups)
        session.add(row)
    registry.bump_revision(session)


def _row(session, table, /, **key):
    """The row of ``table`` (a model class) with ``key``, or a new one, not yet added."""
    return session.scalar(select(table).filter_by(**key)) or table(**key)


def save_tabs(session, model_name, tabs, registry):
    """Show the model's sections as tabs, or one under the other (no row left)."""
    row = _row(session, ScreenLayout, model=model_name)
    if not tabs:
        if row.id is not None:
            session.delete(row)
    else:
        row.tabs = True
        session.add(row)
    registry.bump_revision(session)


def check_rule(required, hidden, groups, known_groups):
    """{form field: message} of what is wrong with a field's rule; {} when it may be
    saved. ``required``: whether a new record needs the field (so no one may lose it)."""
    problems = {}
    unknown = [code for code in groups if code not in known_groups]
    if unknown or any(access not in ACCESS for access in groups.values()):
        problems["groups"] = _("Choose, for each group, one of the choices offered.")
    if required and (hidden or any(access != EDIT for access in groups.values())):
        problems["hidden" if hidden else "groups"] = _(
            "A new record needs this field: it cannot be hidden or made read-only.")
    return problems


def declaration(row):
    """A rule as a client addon's manifest declares it (key ``layout``)."""
    declared = {"model": row.model, "field": row.field}
    if row.section is not None:
        declared["section"] = row.section
    if row.hidden:
        declared["hidden"] = True
    if json.loads(row.access or "{}"):
        declared["groups"] = json.loads(row.access)
    return declared


def adopt(session, addon):
    """The rules an enabled client addon declares, as rows it owns: made where missing,
    taken over and brought to the declaration where the site made them by hand; and the
    models it shows in tabs (key ``tabs``)."""
    for model_name in addon.manifest["tabs"]:
        row = _row(session, ScreenLayout, model=model_name)
        row.tabs, row.addon = True, addon.name
        session.add(row)
    for declared in addon.manifest["layout"]:
        row = _row(session, FieldRule, model=declared["model"], field=declared["field"])
        session.add(row)
        row.section, row.hidden = declared.get("section"), declared.get("hidden", False)
        row.access, row.addon = json.dumps(declared.get("groups", {}), sort_keys=True), addon.name
