"""Who may do what, and with which records.

Access letters per group and model: r read, w write, c create, d delete, x export.
Record rules per group and model: scope own (the user owns the record), team (the owner
shares a team with the user) or all. Both are declared in the manifests, copied into the
database when an addon is enabled, and edited by administrators on the Permissions page.
A user's rights are the union over their groups: the letters of every group, and the
widest scope. Members of the Administrator group may do everything with every record.
"""
from flask import g, has_request_context
from flask_login import current_user
from sqlalchemy import and_, false, literal, or_, select, union

from core.db import db
from core.i18n import mark
from core.models import Access, Group, OwnedMixin, Team, team_members

SCOPES = (mark("own"), mark("team"), mark("all"))  # narrowest first; shown translated



def seed_access(session, manifest):
    """Copy an addon's declared access and rules into the database, leaving rows that
    an administrator has already edited as they are."""
    groups = {grp.code: grp for grp in session.scalars(select(Group))}
    declared = {}
    for group, models in manifest["access"].items():
        for model, letters in models.items():
            declared[(group, model)] = [letters, "all"]
    for rule in manifest["rules"]:
        declared.setdefault((rule["group"], rule["model"]), ["", "all"])[1] = rule["scope"]
    existing = {(row.group_id, row.model) for row in session.scalars(select(Access))}
    for (group, model), (letters, scope) in declared.items():
        if group in groups and (groups[group].id, model) not in existing:
            session.add(Access(group=groups[group], model=model, letters=letters, scope=scope))


def rights(user):
    """{model name: (letters, scope)} for a user, read once per request."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return {}
    if has_request_context() and "crm_rights" in g and g.crm_rights[0] == user.id:
        return g.crm_rights[1]
    merged = {}
    group_ids = [grp.id for grp in user.groups]
    if group_ids:
        rows = db.session.execute(select(Access.model, Access.letters, Access.scope)
                                  .where(Access.group_id.in_(group_ids)))
        for model, letters, row_scope in rows:
            known_letters, known_scope = merged.get(model, ("", "own"))
            if "r" not in letters:   # a group that may not read widens no one's reading
                row_scope = "own"
            merged[model] = ("".join(sorted(set(known_letters) | set(letters))),
                             max(known_scope, row_scope, key=SCOPES.index))
    if has_request_context():
        g.crm_rights = (user.id, merged)
    return merged


def permits(user, model_name, letter):
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    if not token_allows(model_name, letter):
        return False
    if user.is_admin:
        return True
    return letter in rights(user).get(model_name, ("", "own"))[0]


def token_allows(model_name, letter):
    """A request through the API (core.api) goes no further than its token: reading
    only, unless the token may write, and only the models it names (all when none)."""
    token = g.get("crm_api_token") if has_request_context() else None
    if token is None:
        return True
    if letter != "r" and not token.writes:
        return False
    return not token.models or model_name in token.models.split(",")


def scope(user, model_name):
    if user.is_admin:
        return "all"
    return rights(user).get(model_name, ("", "own"))[1]


def team_user_ids(user_id):
    """A select of the users who share a team with user_id (as member or leader),
    the user included."""
    my_teams = select(Team.id).where(or_(
        Team.leader_id == user_id,
        Team.id.in_(select(team_members.c.team_id).where(team_members.c.user_id == user_id))))
    return union(
        select(team_members.c.user_id).where(team_members.c.team_id.in_(my_teams)),
        select(Team.leader_id).where(Team.id.in_(my_teams), Team.leader_id.is_not(None)),
        select(literal(user_id)),
    )


def owner_condition(user, model_name, owner_column):
    """The condition on ``owner_column`` for the user's scope on ``model_name``: None for
    all records, else the user's own or their teams' (the one place own/team/all is
    turned into SQL)."""
    user_scope = scope(user, model_name)
    if user_scope == "own":
        return owner_column == user.id
    if user_scope == "team":
        return owner_column.in_(team_user_ids(user.id))
    return None


def rule_filter(model, user=None):
    """The SQL condition that limits ``model`` to the records ``user`` may read:
    false() without read access, None when every record is allowed."""
    user = user or current_user
    if not permits(user, model.__name__, "r"):
        return false()
    conditions = []
    if issubclass(model, OwnedMixin):
        conditions.append(owner_condition(user, model.__name__, model.owner_id))
    # A model's own rule beyond owners (a document readable through its folder's groups):
    # a classmethod of the user giving a condition, or None for every record.
    if hasattr(model, "__record_rule__") and not user.is_admin:
        conditions.append(model.__record_rule__(user))
    conditions = [c for c in conditions if c is not None]
    return and_(*conditions) if conditions else None


def apply_rules(query, model, user=None):
    """A query (legacy Query or select) narrowed to what the user may read."""
    condition = rule_filter(model, user)
    if condition is None:
        return query
    return query.filter(condition) if hasattr(query, "filter") else query.where(condition)


def assignable(user, model, owner):
    """``owner`` if ``user`` may give them a record of ``model``, else None: a new record
    takes the owner of the record it belongs to (a contact its customer's) when allowed."""
    return owner if owner is not None and may_own(user, model, owner.id) else None


def may_own(user, model, owner_id):
    """May ``user`` give a record of ``model`` to ``owner_id`` (on create or edit)?"""
    user_scope = scope(user, model.__name__)
    if user_scope != "team":   # no query: an import asks this for every row
        return user_scope == "all" or owner_id == user.id
    condition = owner_condition(user, model.__name__, literal(owner_id))
    return condition is None or db.session.scalar(select(literal(True)).where(condition)) \
        is not None
