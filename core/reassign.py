"""Moving records from one owner to another across every enabled addon, in one
transaction, with an audit row for every record moved."""
import json

from sqlalchemy import func, insert, literal, select, update

from core.audit import acting_user_id
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


def preview(session, models, from_user_id, ids=None):
    """{model name: number of records that would move}."""
    return {model.__name__: session.scalar(select(func.count()).select_from(model)
                                           .where(_condition(model, from_user_id, ids)))
            for model in models}


def reassign(session, models, from_user_id, to_user_id, ids=None):
    """Move the records; returns {model name: records moved}. The caller commits."""
    now, actor = utcnow(), acting_user_id()
    moved = {}
    for model in models:
        condition = _condition(model, from_user_id, ids)
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
        moved[model.__name__] = result.rowcount
    return moved
