"""Merging duplicate records: one record is kept, every row that points at the others
is moved to it, and the others are deleted, in one transaction, audited.

What points at a record is found in the relation registry: every foreign key of every
table the database holds (so an addon written later, or one disabled now, is covered
with no change here), plus the generic (model name, id) pairs that tables such as the
outbox use, which an addon may register with ``register_generic``.
"""
import json
from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import and_, delete, func, insert, inspect, literal, select, tuple_, update

from core.audit import acting_user_id
from core.db import db, self_links
from core.i18n import model_label
from core.models import AuditEntry, Message, RecordNote, utcnow

# (table, model-name column, id column) of generic references to any record: the emails
# sent from it, the notes on its feed.
_generic = [(Message.__table__, "related_model", "related_id"),
            (RecordNote.__table__, "model", "record_id")]


def register_generic(table, model_column, id_column):
    """Declare a generic reference: rows of ``table`` whose ``model_column`` names a
    model and ``id_column`` holds one of its ids. Merges move them too."""
    entry = (table, model_column, id_column)
    if entry not in _generic:
        _generic.append(entry)


@dataclass
class Reference:
    """One column that refers to records of the merged model; for a generic reference,
    only the rows whose ``name_column`` holds ``model_name``."""

    table: object
    column: object
    name_column: object = None
    model_name: str = None

    @property
    def label(self):
        """What refers to the record, as people read it: the referring model and field
        ("Contact: Customer"), or for a link table the relation that uses it
        ("Competitor: Met at customers"); never a table or column name."""
        model = _mapped_class(self.table)
        if model is not None:
            relation = next((r for r in inspect(model).relationships
                             if list(r.local_columns) == [self.column]), None)
            field = (relation.info if relation is not None else self.column.info).get("label")
            return _("%(model)s: %(field)s", model=model_label(model), field=field) \
                if field and self.name_column is None else model_label(model)
        for mapper in db.Model.registry.mappers:
            for relation in mapper.relationships:
                if relation.secondary is self.table:
                    field = relation.info.get("label")
                    return _("%(model)s: %(field)s", model=model_label(mapper.class_),
                             field=field) if field else model_label(mapper.class_)
        return self.table.name   # a table no model maps: nothing better to say


def references(session, model):
    """Every column of an existing table that refers to ``model``'s records."""
    existing = set(inspect(session.connection()).get_table_names())
    found = []
    for table in db.metadata.sorted_tables:
        if table.name not in existing:
            continue
        for key in table.foreign_keys:
            if key.column.table is model.__table__:
                found.append(Reference(table, key.parent))
    for table, model_column, id_column in _generic:
        if table.name in existing:
            found.append(Reference(table, table.c[id_column], table.c[model_column],
                                   model.__name__))
    return found


def _where(reference, ids):
    condition = reference.column.in_(ids)
    if reference.name_column is not None:
        condition = and_(condition, reference.name_column == reference.model_name)
    return condition


def counts(session, model, ids):
    """{record id: {reference label: rows}} of what refers to each record."""
    result = {record_id: {} for record_id in ids}
    for reference in references(session, model):
        rows = session.execute(select(reference.column, func.count())
                               .where(_where(reference, ids)).group_by(reference.column))
        for record_id, count in rows:
            found = result[record_id]   # two references may read alike: both counted
            found[reference.label] = found.get(reference.label, 0) + count
    return result


def merge(session, model, keep, others):
    """Move every reference to the ``others`` onto ``keep``, fill ``keep``'s empty fields
    from them, and delete them. Returns {reference label: rows moved}. The caller
    commits; an error (a unique constraint, say) leaves the transaction to roll back."""
    other_ids = [other.id for other in others if other.id != keep.id]
    moved = {}
    links = self_links(model)
    # The kept record's link to a merged one would become a link to itself: cleared.
    for key, columns in links:
        if any(getattr(keep, column) in other_ids for column in columns):
            setattr(keep, key, None)
    session.flush()
    for reference in references(session, model):
        count = _move(session, reference, other_ids, keep.id)
        if count:
            moved[reference.label] = moved.get(reference.label, 0) + count
    session.expire_all()    # relationships loaded before the moves are stale now
    keep = session.get(model, keep.id)
    merged = []
    for other in (session.get(model, other_id) for other_id in other_ids):
        _fill_blanks(keep, other, {column for _key, columns in links for column in columns})
        merged.append(str(other))
        session.delete(other)
    session.flush()
    if getattr(model, "__audit__", False):
        changes = {"merged": [", ".join(merged), str(keep)]}
        session.add(AuditEntry(user_id=acting_user_id(), model=model.__name__, record_id=keep.id,
                               action="update", changes=json.dumps(changes, ensure_ascii=False)))
    return moved


def _move(session, reference, other_ids, keep_id):
    table, column = reference.table, reference.column
    primary = list(table.primary_key.columns)
    if column in primary and len(primary) > 1:
        # A link table (customer_tag): a link the kept record already has would become
        # a duplicate row. Moved one record at a time, dropping those first.
        rest = [c for c in primary if c is not column]
        moved = 0
        for other_id in other_ids:
            kept_links = select(*rest).where(column == keep_id)
            session.execute(delete(table).where(column == other_id,
                                                tuple_(*rest).in_(kept_links)))
            moved += session.execute(update(table).where(column == other_id)
                                     .values({column.name: keep_id})).rowcount
        return moved
    condition = _where(reference, other_ids)
    _audit_moves(session, reference, condition, other_ids, keep_id)
    return session.execute(update(table).where(condition).values({column.name: keep_id})).rowcount


def _audit_moves(session, reference, condition, other_ids, keep_id):
    """One audit row per moved record of an audited model, written by the database."""
    model = _mapped_class(reference.table)
    if model is None or not getattr(model, "__audit__", False) or "id" not in reference.table.c:
        return
    for other_id in other_ids:
        changes = json.dumps({reference.column.name: [other_id, keep_id]})
        session.execute(insert(AuditEntry).from_select(
            ["at", "user_id", "model", "record_id", "action", "changes"],
            select(literal(utcnow()), literal(acting_user_id()), literal(model.__name__),
                   reference.table.c.id, literal("update"), literal(changes))
            .where(condition, reference.column == other_id)))


def _mapped_class(table):
    for mapper in db.Model.registry.mappers:
        if mapper.local_table is table:
            return mapper.class_
    return None


def _fill_blanks(keep, other, own_links):
    """Fields the kept record lacks are taken from a merged one, except a link of
    ``own_links`` (attributes linking to the model itself) to the kept record."""
    for attribute in inspect(type(keep)).column_attrs:
        name, column = attribute.key, attribute.columns[0]
        if column.primary_key or column.unique:
            continue
        value = getattr(other, name)
        if name in own_links and value == keep.id:
            continue   # the merged record's link to the kept one: not a link to itself
        if getattr(keep, name) in (None, "") and value not in (None, ""):
            setattr(keep, name, value)
