"""The records Sales needs to be used at all, added on every enable when missing:
pipeline stages with their default probabilities, lost reasons, expense categories.
Names are stored in English and shown in the user's language (they are in the
catalog); an administrator renames or adds to them on the Configuration screens.

Also, once, what came before approval policies (run after the core has added the
manifest's policies, on enable and by `upgrade`): the discount above which quotes
needed approval, a setting, becomes the condition of the "quote_discount" policy; and
quotes and expenses left waiting then get the approval request that the engine
(core/approvals.py) now decides them by."""
import json
from types import SimpleNamespace

from sqlalchemy import select

from addons.crm_sales.models import Expense, ExpenseCategory, LostReason, Quote, Stage
from core import approvals
from core.i18n import mark
from core.models import ApprovalPolicy, AuditEntry, Option

STAGES = [  # name, sequence, probability, kind
    (mark("Qualification"), 10, 10, "open"),
    (mark("Needs analysis"), 20, 30, "open"),
    (mark("Proposal"), 30, 50, "open"),
    (mark("Negotiation"), 40, 75, "open"),
    (mark("Won"), 90, 100, "won"),
    (mark("Lost"), 100, 0, "lost"),
]
LOST_REASONS = [mark("Price too high"), mark("Chose a competitor"), mark("No budget"),
                mark("No decision"), mark("Product does not fit")]
EXPENSE_CATEGORIES = [  # name, kind
    (mark("Travel"), "expense"), (mark("Entertainment"), "expense"),
    (mark("Samples"), "expense"), (mark("Trade shows"), "expense"),
    (mark("Office"), "expense"), (mark("Service fees"), "income"),
    (mark("Other income"), "income"),
]


ADDON = "crm_sales"
OLD_SETTING = "approval_discount"


def load(session):
    if session.scalar(select(Stage.id).limit(1)) is None:
        session.add_all(Stage(name=name, sequence=sequence, probability=probability, kind=kind)
                        for name, sequence, probability, kind in STAGES)
    if session.scalar(select(LostReason.id).limit(1)) is None:
        session.add_all(LostReason(name=name) for name in LOST_REASONS)
    if session.scalar(select(ExpenseCategory.id).limit(1)) is None:
        session.add_all(ExpenseCategory(name=name, kind=kind) for name, kind in EXPENSE_CATEGORIES)
    adopt_discount_setting(session)
    open_waiting_requests(session)


def adopt_discount_setting(session):
    """An administrator's value of the old setting becomes the discount policy's
    condition; the setting row goes (so this happens once)."""
    option = session.scalar(select(Option).where(Option.addon == ADDON,
                                                 Option.key == OLD_SETTING))
    if option is None:
        return
    policy = session.scalar(select(ApprovalPolicy).where(ApprovalPolicy.addon == ADDON,
                                                         ApprovalPolicy.key == "quote_discount"))
    value = option.value.strip()
    if policy is not None and value:
        for condition in policy.conditions:
            if condition.field == "largest_discount":
                condition.value = value
    session.delete(option)
    session.flush()


def open_waiting_requests(session):
    """Expenses submitted and quotes waiting for a discount approval before approvals
    had requests get one, asked by whoever submitted them (the audit trail knows).
    Records with a request already are left alone, so this runs on every enable."""
    waiting = [(expense, "state", "submitted") for expense in session.scalars(
        select(Expense).where(Expense.state == "submitted").order_by(Expense.id))]
    waiting += [(quote, "approval", "pending") for quote in session.scalars(
        select(Quote).where(Quote.approval == "pending", Quote.state == "draft")
        .order_by(Quote.id))]
    for record, field, value in waiting:
        if approvals.latest(record) is not None:
            continue
        policy = approvals.policy_for(record)
        if policy is None or not policy.steps:
            continue
        submitter = who_set(session, record, field, value)
        if submitter is None and isinstance(record, Expense):
            submitter = record.owner   # only its owner (or an administrator) submits
        if not someone_may_approve(record, policy, submitter):
            continue   # (left as it is, for an administrator to see to)
        approvals.open_request(record, policy, submitter)


def who_set(session, record, field, value):
    """The user who last set ``field`` of ``record`` to ``value``, from the audit
    trail, or None."""
    entries = session.scalars(
        select(AuditEntry).where(AuditEntry.model == type(record).__name__,
                                 AuditEntry.record_id == record.id,
                                 AuditEntry.changes.like(f'%"{field}"%'))
        .order_by(AuditEntry.id.desc()).limit(20))
    for entry in entries:
        change = json.loads(entry.changes).get(field)
        if isinstance(change, list) and change[-1:] == [value]:
            return entry.user
    return None


def someone_may_approve(record, policy, submitter):
    """Does the policy's first step find an approver (the engine refuses a request
    that has none, which would stop the whole upgrade)?"""
    step = policy.steps[0]
    request = SimpleNamespace(policy=policy,
                              submitted_by_id=submitter.id if submitter is not None else None)
    return bool(approvals.resolve({"approver": step.approver, "group_id": step.group_id,
                                   "user_id": step.user_id}, record, request))
