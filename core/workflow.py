"""Workflows: which state a record may go to from the one it is in, and who may move it.

An addon declares, per model, the field that holds the state and the transitions:

    "workflows": {
        "Expense": {
            "field": "state",
            "initial": ["draft"],            # what a form or an import may create
            "approval": {"submit": "submit", "approved": "approve", "rejected": "refuse"},
            "transitions": {
                "submit": {"from": ["draft", "refused"], "to": "submitted",
                           "label": "Submit", "icon": "fa-paper-plane"},
                "approve": {"from": ["submitted"], "to": "approved", "groups": []},
                ...
            },
        },
    }

A transition names the states it leaves (``from``, or "*" for any) and the one it
reaches (``to``; "*" for a field that is a relation, whose target the user picks), the
groups whose members may make it (absent: whoever may change the model's records;
``[]``: only the application, a job or the approval engine), an optional ``condition``
("module.function" of the addon, called with the record and the target, returning why
not or None), whether it waits for an approval (``needs_approval``), and how its button
looks. Administrators narrow the groups in Settings > Workflows.

Every path goes through ``move`` (the record page's buttons, bulk actions, the kanban,
the command line, the approval engine); a form or an import that sets the field goes
through ``check_form_change``. A flush that changes a state field any other way is
refused (``guard``), so no later code can skip a transition's checks.
"""
import importlib
import json
from dataclasses import dataclass, field

from flask import current_app, g, has_app_context, has_request_context
from flask_babel import gettext as _
from sqlalchemy import event, inspect, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import get_history
from sqlalchemy.orm.base import PASSIVE_NO_INITIALIZE

from core.db import db
from core.i18n import label
from core.models import TransitionRight

ANY = "*"


class Refused(Exception):
    """A transition (or an approval step) the user may not make now; str() says why."""


@dataclass
class Transition:
    name: str
    model: str
    sources: object            # a tuple of states, or ANY
    target: object             # a state, or ANY
    label: str
    groups: object = None      # None: any writer; (): the application only
    condition: object = None   # a function, or None
    effect: object = None      # a function called after the move, or None
    needs_approval: bool = False
    button: bool = True
    icon: str = None
    style: str = "btn-outline-primary"
    confirm: str = None

    def leaves(self, state):
        return self.sources == ANY or state in self.sources

    @property
    def by_application(self):
        return self.groups == ()

    def title(self):
        return label(self.label)


@dataclass
class Workflow:
    model: str
    field: str
    transitions: dict
    initial: tuple = ()
    approval: dict = field(default_factory=dict)
    relation: bool = False     # the field is a many-to-one relation (a pipeline stage)

    def value(self, record):
        """The record's state as transitions name it (a related record by its id)."""
        value = getattr(record, self.field)
        return value.id if self.relation and value is not None else value


# -- the declarations of the enabled addons ------------------------------------------------

def declared():
    """{model name: Workflow} of the enabled addons, built once per app."""
    state = current_app.extensions["crm"]
    if getattr(state, "workflows", None) is None:
        state.workflows = build(state.registry, state.enabled)
    return state.workflows


def build(registry, enabled):
    found = {}
    for name in enabled:
        addon = registry.addons[name]
        for model_name, spec in addon.manifest.get("workflows", {}).items():
            model = registry.find_model(addon, model_name)
            relation = model is not None and spec["field"] in inspect(model).relationships
            transitions = {
                key: Transition(
                    name=key, model=model_name,
                    sources=ANY if t["from"] == ANY else tuple(t["from"]),
                    target=t["to"], label=t.get("label", key),
                    groups=None if "groups" not in t else tuple(t["groups"]),
                    condition=_function(addon, t["condition"]) if "condition" in t else None,
                    effect=_function(addon, t["effect"]) if "effect" in t else None,
                    needs_approval=t.get("needs_approval", False),
                    button=t.get("button", True), icon=t.get("icon"),
                    style=t.get("style", "btn-outline-primary"), confirm=t.get("confirm"))
                for key, t in spec["transitions"].items()}
            found[model_name] = Workflow(model=model_name, field=spec["field"],
                                         transitions=transitions,
                                         initial=tuple(spec.get("initial", ())),
                                         approval=spec.get("approval", {}), relation=relation)
    return found


def _function(addon, dotted):
    module_name, function_name = dotted.rsplit(".", 1)
    return getattr(importlib.import_module(f"{addon.package}.{module_name}"), function_name)


def of(model):
    """The Workflow of a model (class or name), or None."""
    if not has_app_context() or "crm" not in current_app.extensions:
        return None
    name = model if isinstance(model, str) else model.__name__
    return declared().get(name)


# -- who may make a transition ----------------------------------------------------------------

def narrowed():
    """{(model, transition): set of group codes} as administrators narrowed them."""
    if has_request_context() and "crm_transition_rights" in g:
        return g.crm_transition_rights
    rights = {(row.model, row.transition): set(json.loads(row.groups))
              for row in db.session.scalars(select(TransitionRight))}
    if has_request_context():
        g.crm_transition_rights = rights
    return rights


def groups_of(transition):
    """The groups that may make ``transition`` now; None: whoever may write."""
    declared_groups = transition.groups
    narrow = narrowed().get((transition.model, transition.name))
    if narrow is None:
        return None if declared_groups is None else set(declared_groups)
    return narrow if declared_groups is None else narrow & set(declared_groups)


def user_may(user, transition):
    """May ``user`` make ``transition`` at all (whatever the record's state)? None: the
    application. Administrators may make every transition a person makes."""
    if user is None:
        return True
    if transition.by_application:
        return False
    from core import permissions
    if not permissions.permits(user, transition.model, "w"):
        return False
    if user.is_admin:
        return True
    allowed = groups_of(transition)
    return allowed is None or any(group.code in allowed for group in user.groups)


def refusal(record, transition, user, target=None, state=None):
    """Why ``user`` (None: the application) may not make ``transition`` on ``record``
    now, or None. ``state``: the state it leaves, when not the record's (a form has set
    the new one already)."""
    flow = of(type(record))
    state = flow.value(record) if state is None else state
    if not transition.leaves(state):
        return _("%(record)s is %(state)s: “%(action)s” cannot be done from there.",
                 record=label(record), state=state_text(flow, record),
                 action=transition.title())
    if not user_may(user, transition):
        return _("You may not do “%(action)s” on %(record)s.", action=transition.title(),
                 record=label(record))
    if transition.needs_approval:
        from core import approvals
        waiting = approvals.blocking(record)
        if waiting:
            return waiting
    if transition.condition is not None:
        return transition.condition(record, target)
    return None


def state_text(flow, record):
    value = getattr(record, flow.field)
    if value is None:
        return "—"
    from core.record import choice_text
    return label(value) if flow.relation else choice_text(value)


def available(record, user, buttons_only=True):
    """The transitions ``user`` may make on ``record`` now, in declared order."""
    flow = of(type(record))
    if flow is None:
        return []
    return [t for t in flow.transitions.values()
            if (t.button or not buttons_only) and t.target != ANY
            and refusal(record, t, user) is None]


# -- making a transition -----------------------------------------------------------------------

def move(record, name, user=None, target=None, actor=None):
    """Make transition ``name`` of ``record`` for ``user`` (None: the application, for a
    job or the approval engine): checked, then the field set, then the transition's
    ``effect`` called with the record and the user (or ``actor``: whom the application
    acts for, the last approver). Raises Refused. The caller commits. The transition
    that submits for approval opens the request (core.approvals)."""
    flow = of(type(record))
    transition = flow.transitions.get(name) if flow is not None else None
    if transition is None:
        raise Refused(_("This action does not exist."))
    if transition.target != ANY:
        target = transition.target
    elif target is None:
        raise Refused(_("Choose where to move it."))
    problem = refusal(record, transition, user, target)
    if problem:
        raise Refused(problem)
    set_state(record, flow, target)
    if transition.effect is not None:
        transition.effect(record, user or actor)
    if flow.approval:
        from core import approvals
        if flow.approval.get("submit") == name:
            approvals.submitted(record, user)
        elif name not in flow.approval.values():
            approvals.withdraw(record)      # moved on without a decision (cancelled)
    return transition


def set_state(record, flow, target):
    """Set the state field, sanctioned for the guard below."""
    before = record.__dict__.get("_crm_moved", (flow.value(record), None))[0]
    if flow.relation:
        related = inspect(type(record)).relationships[flow.field].mapper.class_
        setattr(record, flow.field, target if isinstance(target, related)
                else db.session.get(related, target))
    else:
        setattr(record, flow.field, target)
    record.__dict__["_crm_moved"] = (before, flow.value(record))


def check_form_change(record, user, is_created):
    """For a form or an import row that sets the state field: the change must be one of
    the user's transitions (a new record: one of the initial states, or a transition
    from any state). Raises Refused; sanctions the change when allowed."""
    flow = of(type(record))
    if flow is None:
        return
    before, after = committed_value(record, flow), flow.value(record)
    if is_created:
        if after in flow.initial or after is None:
            return
        before = None
    elif before == after:
        return
    candidates = [t for t in flow.transitions.values()
                  if t.leaves(before) and t.target in (after, ANY)]
    if not candidates and is_created:
        raise Refused(_("A new record starts as %(states)s, not %(state)s.",
                        states=", ".join(_state_word(flow, record, state)
                                         for state in flow.initial) or "—",
                        state=_state_word(flow, record, after)))
    if not candidates:
        raise Refused(_("%(record)s cannot go from %(before)s to %(after)s.",
                        record=label(record) or _("This record"),
                        before=_state_word(flow, record, before),
                        after=_state_word(flow, record, after)))
    problems = []
    for transition in candidates:
        problem = refusal(record, transition, user, getattr(record, flow.field),
                          state=before if before is not None else ANY)
        if problem is None:
            record.__dict__["_crm_moved"] = (before, after)
            return
        problems.append(problem)
    raise Refused(problems[0])


def _state_word(flow, record, value):
    if value is None:
        return "—"
    if flow.relation:
        related = inspect(type(record)).relationships[flow.field].mapper.class_
        found = db.session.get(related, value)
        return label(found) if found is not None else str(value)
    from core.record import choice_text
    return choice_text(value)


def committed_value(record, flow):
    """The state as the database holds it, before this change."""
    key = flow.field
    if flow.relation:
        column = next(iter(inspect(type(record)).relationships[flow.field].local_columns))
        key = column.key
        history = get_history(record, flow.field, PASSIVE_NO_INITIALIZE)
        if history.deleted:
            old = history.deleted[0]
            return old.id if old is not None else None
    history = get_history(record, key, PASSIVE_NO_INITIALIZE)
    if history.deleted:
        return history.deleted[0]
    if history.unchanged:
        return history.unchanged[0]
    return inspect(record).committed_state.get(key, getattr(record, key, None))


@event.listens_for(Session, "before_flush")
def guard(session, _context, _instances):
    """Refuse a flush that changes a record's state other than by a transition."""
    if not has_app_context() or "crm" not in current_app.extensions:
        return
    flows = declared()
    if not flows:
        return
    for record in list(session.dirty):
        flow = flows.get(type(record).__name__)
        if flow is None:
            continue
        with session.no_autoflush:
            before, after = committed_value(record, flow), flow.value(record)
        sanctioned = record.__dict__.pop("_crm_moved", None)
        if before != after and sanctioned != (before, after):
            raise Refused(_("The state of %(record)s changes only through its actions.",
                            record=label(record)))
    for record in session.new:
        record.__dict__.pop("_crm_moved", None)
