"""Moving records from one owner to another across every enabled addon, in one
transaction, with an audit row for every record moved.

Records that are about another record go with it: a model declares which of its rows
follow the owner of a record they point to, as a classmethod

    @classmethod
    def owner_follows(cls):
        return {cls.customer_id: cls.status == "planned"}

({foreign key column: condition of the rows that follow}). When a customer changes
hands (here, or on its form, by an import, through the API), its rows that meet the
condition and belong to the old owner move to the new one: a follow-up reminder then
goes to whoever looks after the customer now. The core knows no such model by name."""
import json
from collections import defaultdict

from flask import current_app, has_app_context
from sqlalchemy import event, func, inspect, insert, literal, or_, select, update
from sqlalchemy.orm import Session

from core.audit import acting_user_id
from core.db import db
from core.models import AuditEntry, OwnedMixin, utcnow


def owned_models(state):
    """Every model with an owner in the enabled addons, in load order."""
    models = []
    for name in state.enabled:
        for model in state.registry.addons[name].models.values():
            if issubclass(model, OwnedMixin) and model not in models:
                models.append(model)
    return models


def _condition(model, from_user_id, ids):
    condition = model.owner_id == from_user_id
    return condition if ids is None else condition & model.id.in_(ids)


# -- rows that follow the owner of the record they are about --------------------------------

def _candidates():
    """The models that may follow: those of the enabled addons (a disabled addon's rows
    are kept as they were), or every mapped one outside the web app and the CLI."""
    if has_app_context() and "crm" in current_app.extensions:
        return owned_models(current_app.extensions["crm"])
    return [mapper.class_ for mapper in db.Model.registry.mappers
            if issubclass(mapper.class_, OwnedMixin)]


def followers(model):
    """[(follower model, its foreign key column, condition)] for the rows that go with a
    record of ``model`` to its new owner."""
    found = []
    for follower in _candidates():
        declared = getattr(follower, "owner_follows", None)
        for column, condition in (declared() if declared else {}).items():
            if any(key.references(model.__table__) for key in column.foreign_keys):
                found.append((follower, column, condition))
    return found


def _following(models, from_user_id, ids):
    """{follower model: condition} of the rows that follow the records about to move.
    A follower moved whole anyway (all its rows of that owner) needs no second look."""
    clauses = defaultdict(list)
    for model in models:
        for follower, column, condition in followers(model):
            if follower in models and ids is None:
                continue
            moving = select(model.id).where(_condition(model, from_user_id, ids))
            clauses[follower].append(column.in_(moving) & condition)
    return {follower: (follower.owner_id == from_user_id) & or_(*found)
            for follower, found in clauses.items()}


# -- the move ---------------------------------------------------------------------------------

def preview(session, models, from_user_id, ids=None):
    """{model name: number of records that would move}, the rows that follow them
    included."""
    counts = {model.__name__: session.scalar(select(func.count()).select_from(model)
                                             .where(_condition(model, from_user_id, ids)))
              for model in models}
    for follower, condition in _following(models, from_user_id, ids).items():
        counts[follower.__name__] = counts.get(follower.__name__, 0) + session.scalar(
            select(func.count()).select_from(follower).where(condition))
    return counts


def reassign(session, models, from_user_id, to_user_id, ids=None):
    """Move the records, and the rows that follow them; returns {model name: records
    moved}. The caller commits."""
    now, actor = utcnow(), acting_user_id()
    moved = defaultdict(int)
    # The followers first: their condition looks for records still with the old owner.
    for follower, condition in _following(models, from_user_id, ids).items():
        moved[follower.__name__] += _move(session, follower, condition, from_user_id,
                                          to_user_id, now, actor)
    for model in models:
        moved[model.__name__] += _move(session, model, _condition(model, from_user_id, ids),
                                       from_user_id, to_user_id, now, actor)
    return dict(moved)


def _move(session, model, condition, from_user_id, to_user_id, now, actor):
    changes = json.dumps({"owner_id": [from_user_id, to_user_id]})
    # Audit first, set-based: one row per record, written by the database itself.
    session.execute(insert(AuditEntry).from_select(
        ["at", "user_id", "model", "record_id", "action", "changes"],
        select(literal(now), literal(actor), literal(model.__name__), model.id,
               literal("update"), literal(changes)).where(condition)))
    result = session.execute(
        update(model).where(condition)
        .values(owner_id=to_user_id, updated_by_id=actor, updated_at=now)
        .execution_options(synchronize_session=False))
    return result.rowcount


# -- the same for a record given to another owner one at a time --------------------------------

def owner_change(record):
    """(old owner id, new owner id) when this save gives ``record`` to someone else.
    A form sets the relationship, a script the column."""
    state = inspect(record)
    column = state.attrs.owner_id.history
    if column.added:
        old, new = (column.deleted[0] if column.deleted else None), column.added[0]
    else:
        relation = state.attrs.owner.history
        if not relation.added:
            return None
        old, new = record.owner_id, getattr(relation.added[0], "id", None)
    return (old, new) if old is not None and new is not None and old != new else None


# First among the listeners (insert=True), so that the rows moved here are stamped and
# audited like any other change of this save.
@event.listens_for(Session, "before_flush", insert=True)
def _followers_follow(session, _context, _instances):
    moves = defaultdict(list)   # (model, old, new) -> ids of the records changing hands
    for record in session.dirty:
        if isinstance(record, OwnedMixin) and record not in session.deleted:
            change = owner_change(record)
            if change is not None:
                moves[(type(record), *change)].append(record.id)
    for (model, old, new), ids in moves.items():
        for follower, column, condition in followers(model):
            for row in session.scalars(select(follower).where(
                    follower.owner_id == old, condition, column.in_(ids))):
                row.owner_id = new
