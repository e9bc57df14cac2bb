"""Approvals: which records need whose approval before they go on, for any model whose
workflow declares an ``approval`` (core/workflow.py).

A policy (core_approval_policy: declared by addons under ``approvals``, edited in
Settings > Approvals) applies to the records of one model that meet all its conditions
("amount >= 50000"); the first active one by sequence wins, so that larger amounts can
go to other approvers. Its steps run in sequence; each names its approvers (a group,
the owner's team leader, a named user) and how many must approve: any one, all, or a
number. A rejection at any step ends the request.

The workflow's ``approval`` says what a request does to the record:

    "approval": {"submit": "submit", "approved": "approve", "rejected": "refuse"}
        the transition "submit" opens a request (without a matching policy, "approve"
        is made at once); the last approval makes "approve", a rejection "refuse".
    "approval": {"field": "approval", "from": ["draft"]}
        the record page offers "Request approval" in those states; the column
        ``approval`` mirrors the request (not needed, pending, approved, refused), and
        transitions with ``needs_approval`` wait for an approval.

While a request is pending, the policy's covered fields are locked; a change to them
after the approval restarts it. Every decision is kept (core_approval_decision, and the
audit trail), never edited; two decisions at the same moment cannot both count, since
each first bumps the request's version (a compare-and-set on its row).
"""
import json
import secrets
from datetime import date, timedelta
from functools import cache
from decimal import Decimal, InvalidOperation

from flask import current_app, has_app_context
from flask_babel import gettext as _
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import event, func, inspect, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core import notifications, outbox, workflow
from core.audit import BOOKKEEPING, JSON, _plain
from core.db import db
from core.i18n import label, mark
from core.models import (
    ADMIN_GROUP,
    ApprovalDecision,
    ApprovalLink,
    ApprovalPolicy,
    ApprovalRequest,
    ApprovalSeat,
    AuditEntry,
    Delegation,
    Group,
    Team,
    User,
    team_members,
    utcnow,
)
from core.workflow import Refused

OPERATORS = ("=", "!=", ">", ">=", "<", "<=")
APPROVERS = {"group": mark("A group"), "leader": mark("The owner's team leader"),
             "user": mark("A named user")}
RULES = {"any": mark("Any one of them"), "all": mark("All of them"),
         "count": mark("A number of them")}
STATES = (mark("pending"), mark("approved"), mark("rejected"), mark("cancelled"))
MIRROR = {"pending": "pending", "approved": "approved", "rejected": "refused"}
DECISIONS = (mark("submit"), mark("approve"), mark("reject"), mark("restart"))
LINK_DAYS = 7          # an emailed link works this long
LINK_SALT = "crm-approval-link"
SEEDED = "approvals seeded"   # core_option key: the declared policies added once


def config(model):
    """The workflow's ``approval`` declaration of ``model`` (class or name), or None."""
    flow = workflow.of(model)
    return flow.approval if flow is not None and flow.approval else None


def models():
    """{model name: workflow} of the models that may need approval."""
    return {name: flow for name, flow in workflow.declared().items() if flow.approval}


def model_class(name):
    from core.i18n import model_class as find
    return find(name)


# -- policies and their conditions -------------------------------------------------------------

def condition_fields(model):
    """{name: label} of what a policy's conditions may test on ``model``: its plain
    columns and what the model offers in ``__approval_values__`` (computed values: a
    quote's largest discount)."""
    from core.record import field_label_of
    mapper = inspect(model)
    found = {}
    for column in mapper.columns:
        if column.primary_key or column.foreign_keys or column.key.endswith("_hash") \
                or column.key in BOOKKEEPING or column.info.get("derived"):
            continue
        found[column.key] = field_label_of(model, column.key)
    for name, text in getattr(model, "__approval_values__", {}).items():
        found[name] = text
    return found


def covered_fields(model):
    """{name: label} a policy may lock: columns and collections (a quote's lines)."""
    from core.record import field_label_of
    mapper = inspect(model)
    found = {c.key: field_label_of(model, c.key) for c in mapper.columns
             if not c.primary_key and not c.info.get("readonly") and not c.info.get("derived")
             and c.key not in BOOKKEEPING}
    for relation in mapper.relationships:
        if relation.direction.name == "ONETOMANY" and relation.cascade.delete_orphan:
            found[relation.key] = field_label_of(model, relation.key)
    return found


def holds(record, condition):
    """Does ``record`` meet one condition of a policy?"""
    value = getattr(record, condition.field, None)
    wanted = condition.value.strip()
    if value is None:
        return condition.operator == "!=" and wanted != ""
    if isinstance(value, bool):
        value, wanted = str(value).lower(), str(wanted.lower() in ("1", "true", "yes", "是"))\
            .lower()
    elif isinstance(value, (int, float, Decimal)):
        try:
            value, wanted = Decimal(str(value)), Decimal(wanted)
        except InvalidOperation:
            return False
    else:
        value = str(value)
    try:
        return {"=": value == wanted, "!=": value != wanted, ">": value > wanted,
                ">=": value >= wanted, "<": value < wanted, "<=": value <= wanted
                }[condition.operator]
    except TypeError:
        return False


def policy_for(record):
    """The first active policy of the record's model whose conditions all hold."""
    policies = db.session.scalars(
        select(ApprovalPolicy).where(ApprovalPolicy.model == type(record).__name__,
                                     ApprovalPolicy.active.is_(True))
        .order_by(ApprovalPolicy.sequence, ApprovalPolicy.id)).all()
    for policy in policies:
        if all(holds(record, condition) for condition in policy.conditions):
            return policy
    return None


def seed(session, addon_name, declared_policies):
    """Add the policies an addon declares (manifest ``approvals``) that it never added
    before: an administrator's edits stay, and a policy they deleted stays deleted. The
    keys added are kept in core_option (under the addon, key SEEDED)."""
    from core.models import ApprovalCondition, ApprovalStep, Option
    row = session.scalar(select(Option).where(Option.addon == addon_name,
                                              Option.key == SEEDED))
    seeded = set(json.loads(row.value)) if row is not None else set()
    groups = {group.code: group for group in session.scalars(select(Group))}
    for spec in declared_policies:
        if spec["key"] in seeded:
            continue
        seeded.add(spec["key"])
        policy = ApprovalPolicy(addon=addon_name, key=spec["key"], name=spec["name"],
                                model=spec["model"], sequence=spec.get("sequence", 10),
                                fields=json.dumps(spec.get("fields", [])),
                                self_approval=spec.get("self_approval", False))
        policy.conditions = [ApprovalCondition(field=field, operator=operator, value=str(value))
                             for field, operator, value in spec.get("conditions", [])]
        policy.steps = [ApprovalStep(sequence=10 * (index + 1), approver=step["approvers"],
                                     group=groups.get(step.get("group")),
                                     rule=step.get("rule", "any"), count=step.get("count", 1),
                                     deadline_hours=step.get("deadline_hours"))
                        for index, step in enumerate(spec["steps"])]
        session.add(policy)
    if declared_policies and (row is None or set(json.loads(row.value)) != seeded):
        row = row or Option(addon=addon_name, key=SEEDED)
        row.value = json.dumps(sorted(seeded))
        session.add(row)


# -- the state of a record's approval ------------------------------------------------------------

def latest(record):
    return db.session.scalar(
        select(ApprovalRequest).where(ApprovalRequest.model == type(record).__name__,
                                      ApprovalRequest.record_id == record.id)
        .order_by(ApprovalRequest.id.desc()).limit(1)) if record.id is not None else None


def blocking(record):
    """Why a transition that needs an approval must wait, or None."""
    policy = policy_for(record)
    if policy is None:
        return None
    found = latest(record)
    if found is not None and found.state == "approved":
        return None
    if found is not None and found.state == "pending":
        return _("Waiting for approval (%(policy)s).", policy=label(found.policy_name))
    return _("This needs approval first (%(policy)s): request it.", policy=label(policy.name))


def may_request(record, user):
    """Why ``user`` may not request approval of ``record`` now, or None. Only for models
    whose approval has no submitting transition (that transition is the request)."""
    settings = config(type(record))
    if not settings or settings.get("submit"):
        return _("This record is submitted with its own action.")
    flow = workflow.of(type(record))
    if settings.get("from") and flow.value(record) not in settings["from"]:
        return _("Approval cannot be requested in this state.")
    from core import permissions
    if not permissions.permits(user, type(record).__name__, "w"):
        return _("You may not change this record.")
    policy = policy_for(record)
    if policy is None:
        return _("This record needs no approval.")
    found = latest(record)
    if found is not None and found.state == "pending":
        return _("Approval was requested already.")
    if found is not None and found.state == "approved":
        return _("This record is approved already.")
    return None


def request_approval(record, user):
    """The record page's "Request approval". Raises Refused."""
    problem = may_request(record, user)
    if problem:
        raise Refused(problem)
    return open_request(record, policy_for(record), user)


def submitted(record, user):
    """The workflow's submitting transition was made: open a request, or, when no
    policy applies, approve at once."""
    policy = policy_for(record)
    if policy is None:
        finish(record, "not needed", user)
        return None
    return open_request(record, policy, user)


def open_request(record, policy, user, restarted=False):
    steps = [{"name": step_name(step), "approver": step.approver, "group_id": step.group_id,
              "user_id": step.user_id, "rule": step.rule, "count": max(1, step.count or 1),
              "deadline_hours": step.deadline_hours} for step in policy.steps]
    if not steps:
        finish(record, "not needed", user)
        return None
    request = ApprovalRequest(model=type(record).__name__, record_id=record.id, policy=policy,
                              policy_name=policy.name, steps=json.dumps(steps),
                              snapshot=JSON.encode(snapshot(record, covered(policy))),
                              submitted_by_id=user.id if user is not None else None)
    db.session.add(request)
    db.session.flush()
    mirror(record, "pending")
    log(request, "restart" if restarted else "submit", user, step=0)
    start_step(request, record, 0)
    return request


def step_name(step):
    """A step as people read it: "Sales: manager", "Team leader", "Li Lei"."""
    if step.approver == "group" and step.group is not None:
        return step.group.name   # as stored: label() translates it where it is shown
    if step.approver == "user" and step.user is not None:
        return step.user.full_name or step.user.username
    return APPROVERS.get(step.approver, step.approver)


def steps_of(request):
    return json.loads(request.steps)


def covered(policy):
    return json.loads(policy.fields or "[]") if policy is not None else []


def mirror(record, word):
    """Set the model's approval column (declared ``field``), if it has one."""
    settings = config(type(record)) or {}
    if settings.get("field"):
        setattr(record, settings["field"], word)


def finish(record, outcome, actor=None):
    """The request ended ("approved", "rejected"), or none was needed ("not needed"):
    mirror it and make the declared transition, as the application."""
    settings = config(type(record)) or {}
    mirror(record, {"approved": "approved", "rejected": "refused"}.get(outcome, "not needed"))
    transition = settings.get("rejected" if outcome == "rejected" else "approved")
    if transition:
        workflow.move(record, transition, actor=actor)


# -- approvers --------------------------------------------------------------------------------

def resolve(step, record, request):
    """The users who may decide ``step`` (a dict of the request's steps) of ``record``."""
    from core import permissions
    query = select(User).where(User.active.is_(True)).order_by(User.id)
    if step["approver"] == "group":
        query = query.where(User.groups.any(Group.id == step["group_id"]))
    elif step["approver"] == "user":
        query = query.where(User.id == step["user_id"])
    else:
        owner_id = getattr(record, "owner_id", None)
        teams = select(team_members.c.team_id).where(team_members.c.user_id == owner_id)
        query = query.where(User.id.in_(select(Team.leader_id).where(Team.id.in_(teams))))
    users = db.session.scalars(query).all()
    # An approver must be able to read the record (a manager of another team cannot).
    model = type(record)
    users = [user for user in users if db.session.scalar(permissions.apply_rules(
        select(model.id).where(model.id == record.id), model, user)) is not None]
    policy = request.policy
    if not (policy.self_approval if policy is not None else False):
        users = [user for user in users if user.id != request.submitted_by_id]
    if not users:   # no one of that kind: the administrators decide
        users = [user for user in db.session.scalars(
            select(User).where(User.active.is_(True), User.groups.any(Group.code == ADMIN_GROUP))
            .order_by(User.id)) if user.id != request.submitted_by_id
            or (policy is not None and policy.self_approval)]
    return users


def needed(step, seats):
    """How many approvals the step needs, of ``seats`` approvers."""
    if step["rule"] == "all":
        return seats
    if step["rule"] == "count":
        return min(step["count"], seats)
    return 1


def start_step(request, record, index):
    request.step, request.step_started_at = index, utcnow()
    step = steps_of(request)[index]
    users = resolve(step, record, request)
    if not users:
        raise Refused(_("No one may approve this step (%(step)s): ask an administrator.",
                        step=label(step["name"])))
    for user in users:
        db.session.add(ApprovalSeat(request_id=request.id, step=index, user_id=user.id))
    db.session.flush()
    tell_approvers(request, record, users)


def away_delegate(user_id, on=None):
    """The delegate of ``user_id`` while away on ``on`` (today), or None."""
    on = on or date.today()
    return db.session.scalar(
        select(User).join(Delegation, Delegation.delegate_id == User.id)
        .where(Delegation.user_id == user_id, Delegation.starts_on <= on,
               Delegation.ends_on >= on, User.active.is_(True))
        .order_by(Delegation.id.desc()).limit(1))


def delegators(user_id, on=None):
    """The users away on ``on`` whose approvals ``user_id`` decides."""
    on = on or date.today()
    return select(Delegation.user_id).where(Delegation.delegate_id == user_id,
                                            Delegation.starts_on <= on, Delegation.ends_on >= on)


def seat_for(request, user):
    """The seat of the current step that ``user`` fills: their own, else one of a user
    away who named them; None if neither."""
    seats = db.session.scalars(select(ApprovalSeat).where(
        ApprovalSeat.request_id == request.id, ApprovalSeat.step == request.step)).all()
    own = next((seat for seat in seats if seat.user_id == user.id), None)
    if own is not None:
        return own
    for seat in seats:
        delegate = away_delegate(seat.user_id)
        if delegate is not None and delegate.id == user.id:
            return seat
    return None


# -- deciding --------------------------------------------------------------------------------

def pending(record):
    found = latest(record)
    return found if found is not None and found.state == "pending" else None


def withdraw(record):
    """A record that moves on by another transition (cancelled while waiting, say)
    takes its pending request out of the approvers' lists."""
    found = pending(record)
    if found is not None:
        found.state, found.decided_at = "cancelled", utcnow()


def may_decide(request, user):
    """May ``user`` approve or reject the request's current step now?"""
    return decision_refusal(request, user) is None


def decision_refusal(request, user):
    """Why ``user`` may not decide the request's current step now, or None."""
    if request is None or request.state != "pending":
        return _("No approval is waiting here.")
    seat = seat_for(request, user)
    if seat is None:
        return _("You are not an approver of this step.")
    if db.session.scalar(select(ApprovalDecision.id).where(
            ApprovalDecision.request_id == request.id, ApprovalDecision.step == request.step,
            ApprovalDecision.approver_id == seat.user_id)) is not None:
        return _("You have decided this step already.")
    return None


def decide(record, user, decision, comment="", via="page"):
    """Approve or reject the pending request of ``record`` as ``user``. Raises Refused;
    the caller commits (or rolls back on Refused)."""
    request = pending(record)
    if request is None:
        raise Refused(_("No approval is waiting for %(record)s.", record=label(record)))
    if decision == "reject" and not comment.strip():
        raise Refused(_("Say why you reject it."))
    # First the row: a decision made meanwhile (the same step, by anyone) makes this one
    # fail here, on PostgreSQL after waiting for it, instead of both counting.
    bumped = db.session.execute(
        update(ApprovalRequest).where(ApprovalRequest.id == request.id,
                                      ApprovalRequest.state == "pending",
                                      ApprovalRequest.step == request.step,
                                      ApprovalRequest.version == request.version)
        .values(version=ApprovalRequest.version + 1)
        .execution_options(synchronize_session=False)).rowcount
    if bumped != 1:
        raise Refused(_("Someone decided this request at the same moment: look again."))
    db.session.refresh(request)
    problem = decision_refusal(request, user)
    if problem:
        raise Refused(problem)
    seat = seat_for(request, user)
    db.session.add(ApprovalDecision(request_id=request.id, step=request.step,
                                    approver_id=seat.user_id, user_id=user.id,
                                    decision=decision, comment=comment.strip()[:4000], via=via))
    try:
        db.session.flush()
    except IntegrityError:
        raise Refused(_("You have decided this step already.")) from None
    step = steps_of(request)[request.step]
    log(request, decision, user, step=request.step, comment=comment.strip(),
        on_behalf_of=seat.user_id if seat.user_id != user.id else None)
    if decision == "reject":
        close(request, record, "rejected", user, comment)
        return request
    approvals = db.session.scalar(select(func.count(ApprovalDecision.id)).where(
        ApprovalDecision.request_id == request.id, ApprovalDecision.step == request.step,
        ApprovalDecision.decision == "approve"))
    seats = db.session.scalar(select(func.count(ApprovalSeat.id)).where(
        ApprovalSeat.request_id == request.id, ApprovalSeat.step == request.step))
    if approvals < needed(step, seats):
        return request
    if request.step + 1 < len(steps_of(request)):
        start_step(request, record, request.step + 1)
    else:
        close(request, record, "approved", user, comment)
    return request


def close(request, record, outcome, user, comment=""):
    request.state, request.decided_at = outcome, utcnow()
    finish(record, outcome, user)
    tell_submitter(request, record, outcome, user, comment)


# -- locked fields, and approval restarted by a change ---------------------------------------------

def snapshot(record, names):
    """{field: value} of the covered fields, a collection as its rows' values."""
    found = {}
    mapper = inspect(type(record))
    for name in names:
        relation = mapper.relationships.get(name)
        if relation is not None and relation.uselist:
            rows = [row for row in getattr(record, name)
                    if not inspect(row).deleted and row not in db.session.deleted]
            own = {c.key for c in relation.mapper.columns if c.primary_key or c.foreign_keys}
            found[name] = sorted(JSON.encode({c.key: plain(getattr(row, c.key))
                                              for c in relation.mapper.columns
                                              if c.key not in own}) for row in rows)
        elif name in mapper.columns:
            found[name] = plain(getattr(record, name))
    return found


def plain(value):
    """A value as a snapshot keeps it: 5000, 5000.0 and 5000.00 are one amount."""
    if isinstance(value, (Decimal, float)) and not isinstance(value, bool):
        return format(Decimal(str(value)).normalize(), "f")
    return _plain(value)


def edit_refusal(record):
    """Why the record's covered fields may not change now (a request is pending and
    they did), or None."""
    if record.id is None or not config(type(record)):
        return None
    request = pending(record)
    if request is None:
        return None
    names = covered(request.policy)
    if snapshot(record, names) != json.loads(request.snapshot):
        labels = covered_fields(type(record))
        return _("Waiting for approval: %(fields)s cannot change until it is decided.",
                 fields=", ".join(str(labels.get(name, name)) for name in names))
    return None


def settle(record, user):
    """After an edit of ``record``: an approval given for other values is void, and
    approval starts again (where a policy still applies). Raises Refused while pending."""
    problem = edit_refusal(record)
    if problem:
        raise Refused(problem)
    found = latest(record)
    if found is None or found.state != "approved":
        return
    if snapshot(record, covered(found.policy)) == json.loads(found.snapshot):
        return
    found.state, found.decided_at = "cancelled", utcnow()
    policy = policy_for(record)
    if policy is None:
        mirror(record, "not needed")
        return
    submit = config(type(record)).get("submit")
    if submit:   # back to waiting, as the engine's own step (no one chose a transition)
        flow = workflow.of(type(record))
        workflow.set_state(record, flow, flow.transitions[submit].target)
    open_request(record, policy, user, restarted=True)


def parents_touched(session):
    """The records with approvals that this flush changes, themselves or through a row
    of theirs (a quote whose lines changed)."""
    flows = models()
    if not flows:
        return []
    touched = {}
    for record in [*session.dirty, *session.new, *session.deleted]:
        if type(record).__name__ in flows:
            if record not in session.new and record not in session.deleted:
                touched[id(record)] = record
            continue
        for relation in _parent_relations(type(record), frozenset(flows)):
            parent = _parent(session, record, relation)
            if parent is not None and parent not in session.deleted:
                touched[id(parent)] = parent
    return list(touched.values())


@cache
def _parent_relations(model, flow_names):
    return [relation for relation in inspect(model).relationships
            if relation.direction.name == "MANYTOONE"
            and relation.mapper.class_.__name__ in flow_names]


def _parent(session, record, relation):
    value = record.__dict__.get(relation.key)
    if value is not None:
        return value
    column = next(iter(relation.local_columns))
    parent_id = record.__dict__.get(column.key)
    if parent_id is None:
        parent_id = inspect(record).committed_state.get(column.key)
    return session.get(relation.mapper.class_, parent_id) if parent_id else None


@event.listens_for(Session, "before_flush")
def _guard_locked_fields(session, _context, _instances):
    """No path may change a covered field while its approval is pending."""
    if not has_app_context() or "crm" not in current_app.extensions:
        return
    with session.no_autoflush:
        for record in parents_touched(session):
            problem = edit_refusal(record)
            if problem:
                raise Refused(problem)


# -- telling people ------------------------------------------------------------------------------

def record_of(request):
    model = model_class(request.model)
    return db.session.get(model, request.record_id) if model is not None else None


def describe_record(record):
    """"Quote Q2026-00001": the kind of record and its name."""
    from core.i18n import model_label
    return f"{model_label(type(record))} {label(record)}" if record is not None else ""


def tell_approvers(request, record, users):
    """Each approver of the step (or their delegate while away) is told once: a
    reminder linking to the record, and an email whose approve and reject links work
    without signing in (the links only in the email, which is theirs alone)."""
    link = notifications.record_link(request.model, request.record_id)
    asking = request.submitted_by
    step = steps_of(request)[request.step]
    told = {}
    for user in users:
        delegate = away_delegate(user.id)
        if delegate is not None and delegate.id not in told:
            told[delegate.id] = (delegate, user)
        elif delegate is None:
            told[user.id] = (user, None)
    for person, away in told.values():
        with notifications.in_language(person):
            title = _("Approval requested: %(record)s", record=describe_record(record))
            body = _("%(user)s asks for your approval (%(policy)s, step: %(step)s).",
                     user=(asking.full_name or asking.username) if asking else _("The system"),
                     policy=label(request.policy_name), step=label(step["name"]))
            if away is not None:
                body += "\n" + _("You decide for %(user)s, who is away.",
                                 user=away.full_name or away.username)
            notifications.notify(person.id, title, body, link=link,
                                 key=f"approval:{request.id}:{request.step}:{person.id}",
                                 email=False)
            urls = email_links(request, person) if person.active else {}
            if urls:
                outbox.send_email([person.email], title, "\n\n".join([
                    body, _("Approve: %(url)s", url=urls["approve"]),
                    _("Reject: %(url)s", url=urls["reject"]),
                    notifications.public_url() + link if link else ""]), related=record)


def tell_submitter(request, record, outcome, user, comment):
    link = notifications.record_link(request.model, request.record_id)
    people = {}
    for person in (request.submitted_by, getattr(record, "owner", None)):
        if person is not None and person.active and (user is None or person.id != user.id):
            people[person.id] = person
    who = (user.full_name or user.username) if user is not None else ""
    for person in people.values():
        with notifications.in_language(person):
            if outcome == "approved":
                title = _("Approved: %(record)s", record=describe_record(record))
                body = _("%(user)s approved it (%(policy)s).", user=who,
                         policy=label(request.policy_name))
            else:
                title = _("Rejected: %(record)s", record=describe_record(record))
                body = _("%(user)s rejected it (%(policy)s): %(comment)s", user=who,
                         policy=label(request.policy_name), comment=comment)
            notifications.notify(person.id, title, body, link=link,
                                 key=f"approval:{request.id}:{outcome}", email=True)


# -- signed links in emails ------------------------------------------------------------------------

def serializer():
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=LINK_SALT)


def email_links(request, user):
    """{"approve": url, "reject": url} for ``user`` on the request's current step: one
    link row (used once, expiring) signed with the site's secret; {} without an email."""
    if not user.email:
        return {}
    link = ApprovalLink(id=secrets.token_hex(16), request_id=request.id, user_id=user.id,
                        step=request.step, expires_at=utcnow() + timedelta(days=LINK_DAYS))
    db.session.add(link)
    base = notifications.public_url()
    adapter = current_app.url_map.bind("localhost")
    return {decision: base + adapter.build("approval_links.confirm", {
        "token": serializer().dumps({"link": link.id, "decision": decision})})
        for decision in ("approve", "reject")}


def read_link(token):
    """(ApprovalLink, decision) of a token, or raise Refused: altered, used or expired."""
    try:
        payload = serializer().loads(token)
    except BadSignature:
        raise Refused(_("This link is not valid.")) from None
    link = db.session.get(ApprovalLink, str(payload.get("link", ""))) \
        if isinstance(payload, dict) else None
    decision = payload.get("decision") if isinstance(payload, dict) else None
    if link is None or decision not in ("approve", "reject"):
        raise Refused(_("This link is not valid."))
    if link.used_at is not None:
        raise Refused(_("This link was used already."))
    if link.expires_at < utcnow():
        raise Refused(_("This link has expired: open the record in the CRM instead."))
    return link, decision


def use_link(token, comment):
    """Decide through an emailed link. Raises Refused; the caller commits."""
    link, decision = read_link(token)
    used = db.session.execute(
        update(ApprovalLink).where(ApprovalLink.id == link.id, ApprovalLink.used_at.is_(None))
        .values(used_at=utcnow()).execution_options(synchronize_session=False)).rowcount
    if used != 1:
        raise Refused(_("This link was used already."))
    request = db.session.get(ApprovalRequest, link.request_id)
    if request.state != "pending" or request.step != link.step:
        raise Refused(_("This step was decided already."))
    user = db.session.get(User, link.user_id)
    record = record_of(request)
    if user is None or not user.active or record is None:
        raise Refused(_("This link is not valid."))
    decide(record, user, decision, comment, via="email")
    return request, decision, record


# -- the log -----------------------------------------------------------------------------------------

def log(request, action, user, step, comment="", on_behalf_of=None):
    """An audit row for a submission, decision or restart: never edited."""
    steps = steps_of(request)
    changes = {"policy": request.policy_name, "step": steps[step]["name"] if steps else "",
               "comment": comment}
    if on_behalf_of is not None:
        changes["on_behalf_of"] = on_behalf_of
    db.session.add(AuditEntry(at=utcnow(), user_id=user.id if user is not None else None,
                              model=request.model, record_id=request.record_id,
                              action=action, changes=JSON.encode(changes)))


def history(model_name, record_id, limit):
    """The record's approval log, newest first: AuditEntry rows."""
    return db.session.scalars(
        select(AuditEntry).where(AuditEntry.model == model_name,
                                 AuditEntry.record_id == record_id,
                                 AuditEntry.action.in_(DECISIONS))
        .order_by(AuditEntry.id.desc()).limit(limit)).all()


# -- "To approve" ------------------------------------------------------------------------------------

def waiting_for(user):
    """A select of the pending requests whose current step ``user`` may decide (their
    own seat, or that of someone away who named them) and has not."""
    holders = or_(ApprovalSeat.user_id == user.id, ApprovalSeat.user_id.in_(delegators(user.id)))
    # Tied to the seat (not to the request, two levels up: SQL would not correlate it).
    decided = select(ApprovalDecision.id).where(
        ApprovalDecision.request_id == ApprovalSeat.request_id,
        ApprovalDecision.step == ApprovalSeat.step,
        ApprovalDecision.approver_id == ApprovalSeat.user_id).exists()
    open_seat = select(ApprovalSeat.id).where(
        ApprovalSeat.request_id == ApprovalRequest.id, ApprovalSeat.step == ApprovalRequest.step,
        holders, ~decided).exists()
    return select(ApprovalRequest).where(ApprovalRequest.state == "pending", open_seat) \
        .order_by(ApprovalRequest.step_started_at)


def waiting_count(user):
    return db.session.scalar(select(func.count()).select_from(waiting_for(user).subquery()))


# -- deadlines ------------------------------------------------------------------------------------------

def remind_overdue():
    """The scheduler's job: for each step past its deadline, tell the approvers' team
    leaders (once per step). Returns how many requests were escalated."""
    count = 0
    now = utcnow()
    for request in db.session.scalars(select(ApprovalRequest).where(
            ApprovalRequest.state == "pending",
            or_(ApprovalRequest.escalated_step.is_(None),
                ApprovalRequest.escalated_step != ApprovalRequest.step))):
        step = steps_of(request)[request.step]
        hours = step.get("deadline_hours")
        if not hours or request.step_started_at + timedelta(hours=hours) > now:
            continue
        seats = select(ApprovalSeat.user_id).where(ApprovalSeat.request_id == request.id,
                                                   ApprovalSeat.step == request.step)
        teams = select(team_members.c.team_id).where(team_members.c.user_id.in_(seats))
        leaders = db.session.scalars(select(User).where(
            User.active.is_(True), User.id.in_(select(Team.leader_id).where(
                Team.id.in_(teams))))).all()
        record = record_of(request)
        link = notifications.record_link(request.model, request.record_id)
        for leader in leaders:
            with notifications.in_language(leader):
                notifications.notify(
                    leader.id, _("Approval overdue: %(record)s", record=describe_record(record)),
                    _("Step %(step)s has waited more than %(hours)d hours.", step=label(step["name"]),
                      hours=hours), link=link,
                    key=f"approval:{request.id}:{request.step}:overdue", email=True)
        request.escalated_step = request.step
        count += 1
    db.session.commit()
    return f"{count} overdue"


def progress(request):
    """The request's steps as the record page shows them: name, rule, state (done,
    current, waiting), approvers and the decisions made."""
    steps = steps_of(request)
    seats = db.session.execute(select(ApprovalSeat.step, User).join(User, ApprovalSeat.user_id == User.id)
                               .where(ApprovalSeat.request_id == request.id)
                               .order_by(ApprovalSeat.step, User.id)).all()
    decisions = db.session.scalars(select(ApprovalDecision).where(
        ApprovalDecision.request_id == request.id).order_by(ApprovalDecision.id)).all()
    shown = []
    for index, step in enumerate(steps):
        if index < request.step or (request.state == "approved"):
            where = "done"
        elif index == request.step and request.state == "pending":
            where = "current"
        elif index == request.step:
            where = request.state
        else:
            where = "waiting"
        rule = label(RULES.get(step["rule"], step["rule"]))
        if step["rule"] == "count":
            rule = _("%(num)d of them", num=step["count"])
        shown.append({
            "name": label(step["name"]), "rule": rule, "where": where,
            "approvers": [user.full_name or user.username for at, user in seats if at == index],
            "decisions": [{"user": d.user.full_name or d.user.username,
                           "for": (d.approver.full_name or d.approver.username)
                           if d.approver_id != d.user_id else None,
                           "decision": d.decision, "comment": d.comment, "at": d.at}
                          for d in decisions if d.step == index]})
    return shown
