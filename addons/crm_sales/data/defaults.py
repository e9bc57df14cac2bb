"""The records Sales needs to be used at all, added on every enable when missing:
pipeline stages with their default probabilities, lost reasons, expense categories.
Names are stored in English and shown in the user's language (they are in the
catalog); an administrator renames or adds to them on the Configuration screens."""
from sqlalchemy import select

from addons.crm_sales.models import ExpenseCategory, LostReason, Stage
from core.i18n import mark

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


def load(session):
    if session.scalar(select(Stage.id).limit(1)) is None:
        session.add_all(Stage(name=name, sequence=sequence, probability=probability, kind=kind)
                        for name, sequence, probability, kind in STAGES)
    if session.scalar(select(LostReason.id).limit(1)) is None:
        session.add_all(LostReason(name=name) for name in LOST_REASONS)
    if session.scalar(select(ExpenseCategory.id).limit(1)) is None:
        session.add_all(ExpenseCategory(name=name, kind=kind) for name, kind in EXPENSE_CATEGORIES)
