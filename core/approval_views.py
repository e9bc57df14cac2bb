"""The screens of workflows and approvals (core/workflow.py, core/approvals.py):

- Settings > Approvals: the policies, and a form to add or change one;
- Settings > Workflows: each declared transition, narrowed to some groups;
- To approve: what waits for the signed-in user's decision, decided one by one or in bulk;
- Delegations: who decides a user's approvals while they are away.
"""
import json
from decimal import Decimal, InvalidOperation

from flask import abort, current_app, flash, redirect, request, url_for
from flask_admin import BaseView, expose
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user
from sqlalchemy import Date, Enum, Float, Integer, Numeric, inspect, select, update
from sqlalchemy.exc import DBAPIError

from core import approvals, workflow
from core import record as record_page
from core.dates import parse_date
from core.db import db
from core.i18n import label, model_label
from core.models import (ADMIN_GROUP, ApprovalCondition, ApprovalPolicy, ApprovalRequest,
                         ApprovalStep, Delegation, Group, TransitionRight, User)
from core.util import int_ids
from core.views import AdminOnly, SignedIn

BLANK_CONDITIONS = 2   # empty rows the policy form offers for new conditions
BLANK_STEPS = 1
LIST_LIMIT = 200       # rows of "To approve" on one page


class _Page(SignedIn, BaseView):
    """A page for every signed-in user."""


class _AdminPage(AdminOnly, BaseView):
    """A settings page, for administrators."""


# -- Settings > Approvals --------------------------------------------------------------------

def model_choices():
    """(model name, label) of the models whose workflow declares an approval."""
    return sorted(((name, model_label(name)) for name in approvals.models()),
                  key=lambda choice: choice[1])


def blank_condition():
    return {"field": "", "operator": ">=", "value": ""}


def blank_step(number):
    return {"sequence": str(10 * number), "approver": "", "group": "", "user": "",
            "rule": "any", "count": "1", "deadline": ""}


def policy_values(policy):
    """The form's values of a saved policy (all text, as the form posts them)."""
    return {
        "name": policy.name, "model": policy.model, "sequence": str(policy.sequence),
        "active": policy.active, "self_approval": policy.self_approval,
        "fields": approvals.covered(policy),
        "conditions": [{"field": c.field, "operator": c.operator, "value": c.value}
                       for c in policy.conditions],
        "steps": [{"sequence": str(s.sequence), "approver": s.approver,
                   "group": str(s.group_id or ""), "user": str(s.user_id or ""),
                   "rule": s.rule, "count": str(s.count),
                   "deadline": str(s.deadline_hours or "")} for s in policy.steps]}


def posted_values(form):
    """The form's values as posted, rows left empty dropped."""
    def column(name):
        return [value.strip() for value in form.getlist(name)]

    conditions = [{"field": f, "operator": o, "value": v} for f, o, v in zip(
        column("cond_field"), column("cond_operator"), column("cond_value")) if f or v]
    steps = [{"sequence": n, "approver": a, "group": g, "user": u, "rule": r, "count": c,
              "deadline": d}
             for n, a, g, u, r, c, d in zip(
                 column("step_sequence"), column("step_approver"), column("step_group"),
                 column("step_user"), column("step_rule"), column("step_count"),
                 column("step_deadline")) if a]
    return {"name": form.get("name", "").strip(), "model": form.get("model", ""),
            "sequence": form.get("sequence", "").strip(),
            "active": bool(form.get("active")), "self_approval": bool(form.get("self_approval")),
            "fields": form.getlist("fields"), "conditions": conditions, "steps": steps}


def whole_number(text, least):
    """int(text) if it is a whole number of at least ``least``, else None."""
    try:
        number = int(text)
    except (TypeError, ValueError):
        return None
    return number if number >= least else None


def value_problem(model, field, value, operator="="):
    """Why ``value`` cannot be compared with ``field`` of ``model``, or None. A computed
    value (a quote's largest discount) is a number wherever it is ordered (>, <=)."""
    column = inspect(model).columns.get(field)
    kind = column.type if column is not None else None
    if isinstance(kind, (Integer, Numeric, Float)) or (column is None and operator not in
                                                        ("=", "!=")):
        try:
            Decimal(value)
        except InvalidOperation:
            return _("Give a number.")
    elif isinstance(kind, Enum) and value not in kind.enums:
        return _("Give one of: %(values)s.", values=", ".join(
            record_page.choice_text(choice) for choice in kind.enums))
    elif isinstance(kind, Date):
        try:
            parse_date(value)
        except ValueError:
            return _("Give a date, such as 2026-12-31.")
    return None


def policy_errors(values):
    """{input name: message} of what is wrong with the posted policy."""
    errors = {}
    if not values["name"]:
        errors["name"] = _("Give the policy a name.")
    elif len(values["name"]) > 200:
        errors["name"] = _("At most %(num)d characters.", num=200)
    model = approvals.model_class(values["model"]) if values["model"] in approvals.models() \
        else None
    if model is None:
        errors["model"] = _("Choose a record type.")
    if whole_number(values["sequence"], 0) is None:
        errors["sequence"] = _("Give a whole number, 0 or more.")
    if model is not None:
        covered = approvals.covered_fields(model)
        unknown = [name for name in values["fields"] if name not in covered]
        if unknown:
            errors["fields"] = _("Choose fields of this record type.")
        testable = approvals.condition_fields(model)
        for index, row in enumerate(values["conditions"]):
            if row["field"] not in testable:
                errors[f"cond_field-{index}"] = _("Choose a field of this record type.")
            elif row["operator"] not in approvals.OPERATORS:
                errors[f"cond_operator-{index}"] = _("Choose a comparison.")
            else:
                problem = value_problem(model, row["field"], row["value"], row["operator"])
                if problem:
                    errors[f"cond_value-{index}"] = problem
    if not values["steps"]:
        errors["steps"] = _("Give at least one step.")
    group_ids = set(db.session.scalars(select(Group.id)))
    user_ids = set(db.session.scalars(select(User.id).where(User.active.is_(True))))
    for index, row in enumerate(values["steps"]):
        if whole_number(row["sequence"], 0) is None:
            errors[f"step_sequence-{index}"] = _("Give a whole number, 0 or more.")
        if row["approver"] not in approvals.APPROVERS:
            errors[f"step_approver-{index}"] = _("Choose who approves.")
        elif row["approver"] == "group" and whole_number(row["group"], 1) not in group_ids:
            errors[f"step_group-{index}"] = _("Choose the group that approves.")
        elif row["approver"] == "user" and whole_number(row["user"], 1) not in user_ids:
            errors[f"step_user-{index}"] = _("Choose the user who approves.")
        if row["rule"] not in approvals.RULES:
            errors[f"step_rule-{index}"] = _("Choose how many must approve.")
        if whole_number(row["count"], 1) is None:
            errors[f"step_count-{index}"] = _("Give a whole number, 1 or more.")
        if row["deadline"] and whole_number(row["deadline"], 1) is None:
            errors[f"step_deadline-{index}"] = _("Give a whole number of hours, or nothing.")
    return errors


def save_policy(policy, values):
    """Write the checked values into ``policy``: its conditions and steps replaced."""
    policy.name, policy.model = values["name"], values["model"]
    policy.sequence = int(values["sequence"])
    policy.active, policy.self_approval = values["active"], values["self_approval"]
    policy.fields = json.dumps(values["fields"])
    policy.conditions = [ApprovalCondition(field=row["field"], operator=row["operator"],
                                           value=row["value"]) for row in values["conditions"]]
    steps = sorted(values["steps"], key=lambda row: int(row["sequence"]))
    policy.steps = [ApprovalStep(
        sequence=int(row["sequence"]), approver=row["approver"],
        group_id=int(row["group"]) if row["approver"] == "group" else None,
        user_id=int(row["user"]) if row["approver"] == "user" else None,
        rule=row["rule"], count=int(row["count"]),
        deadline_hours=int(row["deadline"]) if row["deadline"] else None) for row in steps]


def conditions_text(policy):
    """"Amount ≥ 1000, Currency = CNY": a policy's conditions as people read them."""
    model = approvals.model_class(policy.model)
    names = approvals.condition_fields(model) if model is not None else {}
    return ", ".join(f"{names.get(c.field, c.field)} {c.operator} {c.value}"
                     for c in policy.conditions)


class ApprovalPoliciesView(_AdminPage):
    """Settings > Approvals: which records need whose approval."""

    @expose("/")
    def index(self):
        policies = db.session.scalars(select(ApprovalPolicy).order_by(
            ApprovalPolicy.model, ApprovalPolicy.sequence, ApprovalPolicy.id)).all()
        registry = current_app.extensions["crm"].registry
        return self.render("core/approval_policies.html", policies=policies,
                           model_label=model_label, conditions_text=conditions_text,
                           step_name=approvals.step_name, registry=registry,
                           has_models=bool(approvals.models()))

    @expose("/new/", methods=("GET", "POST"))
    def create(self):
        choices = model_choices()
        if not choices:
            flash(_("No enabled addon has records that need approval."), "error")
            return redirect(url_for(".index"))
        wanted = request.args.get("model")
        model = wanted if wanted in approvals.models() else choices[0][0]
        values = {"name": "", "model": model, "sequence": "10", "active": True,
                  "self_approval": False, "fields": [], "conditions": [], "steps": []}
        return self._form(ApprovalPolicy(), values)

    @expose("/edit/", methods=("GET", "POST"))
    def edit(self):
        policy = db.session.get(ApprovalPolicy, next(iter(int_ids(
            [request.args.get("id", "")])), 0)) or abort(404)
        return self._form(policy, policy_values(policy))

    def _form(self, policy, values):
        errors = {}
        if request.method == "POST":
            values = posted_values(request.form)
            if "refresh" not in request.form:   # not "show the fields of this type"
                errors = policy_errors(values)
                if not errors:
                    save_policy(policy, values)
                    db.session.add(policy)
                    db.session.commit()
                    flash(_("Policy saved: %(name)s.", name=policy.name), "success")
                    return redirect(url_for(".index"))
                flash(_("Nothing was saved: correct the fields marked below."), "error")
        model = approvals.model_class(values["model"]) \
            if values["model"] in approvals.models() else None
        return self.render(
            "core/approval_policy.html", policy=policy, values=values, errors=errors,
            models=model_choices(),
            covered=approvals.covered_fields(model) if model is not None else {},
            testable=approvals.condition_fields(model) if model is not None else {},
            operators=approvals.OPERATORS, approvers=approvals.APPROVERS,
            rules=approvals.RULES,
            groups=db.session.scalars(select(Group).order_by(Group.name)).all(),
            users=db.session.scalars(select(User).where(User.active.is_(True))
                                     .order_by(User.username)).all(),
            conditions=values["conditions"] + [blank_condition()] * BLANK_CONDITIONS,
            steps=values["steps"] + [blank_step(len(values["steps"]) + number + 1)
                                     for number in range(BLANK_STEPS)])

    @expose("/delete/", methods=("POST",))
    def delete(self):
        policy = db.session.get(ApprovalPolicy, next(iter(int_ids(
            [request.form.get("id", "")])), 0)) or abort(404)
        name = policy.name
        # Requests under way keep their steps (copied when submitted): they go on.
        db.session.execute(update(ApprovalRequest).where(
            ApprovalRequest.policy_id == policy.id).values(policy_id=None))
        db.session.delete(policy)
        db.session.commit()
        flash(_("Policy deleted: %(name)s.", name=name), "success")
        return redirect(url_for(".index"))


# -- Settings > Workflows --------------------------------------------------------------------

def state_words(flow, values):
    """States as people read them: a choice's word, or a stage's name."""
    if flow.relation:
        model = approvals.model_class(flow.model)
        related = inspect(model).relationships[flow.field].mapper.class_
        found = {row.id: label(row) for row in db.session.scalars(
            select(related).where(related.id.in_([v for v in values if isinstance(v, int)])))}
        return [found.get(value, str(value)) for value in values]
    return [record_page.choice_text(value) for value in values]


def transition_rows(flow, groups):
    """What the Workflows page shows of each transition of ``flow``."""
    narrow = workflow.narrowed()
    names = {group.code: label(group.name) for group in groups}
    rows = []
    for transition in flow.transitions.values():
        sources = _("any state") if transition.sources == workflow.ANY \
            else ", ".join(state_words(flow, transition.sources))
        target = _("the one chosen") if transition.target == workflow.ANY \
            else state_words(flow, [transition.target])[0]
        if transition.groups is None:
            declared = _("anyone who may change these records")
        elif transition.by_application:
            declared = _("the application only")
        else:
            declared = ", ".join(names.get(code, code) for code in transition.groups)
        choices = choosable(transition, groups)
        current = narrow.get((flow.model, transition.name))
        rows.append({"transition": transition, "sources": sources, "target": target,
                     "declared": declared, "choices": choices,
                     "narrowed": current is not None,
                     "checked": {g.code for g in choices} if current is None else current})
    return rows


def choosable(transition, groups):
    """The groups an administrator may narrow ``transition`` to: those it declares, or
    every group (but Administrator: they may make every transition anyway)."""
    if transition.by_application:
        return []
    if transition.groups is None:
        return [group for group in groups if group.code != ADMIN_GROUP]
    return [group for group in groups if group.code in transition.groups]


class WorkflowsView(_AdminPage):
    """Settings > Workflows: the declared transitions, and the groups that may make each."""

    @expose("/", methods=("GET", "POST"))
    def index(self):
        flows = sorted(workflow.declared().values(), key=lambda flow: model_label(flow.model))
        groups = db.session.scalars(select(Group).order_by(Group.name)).all()
        if request.method == "POST":
            self._save(flows, groups)
            db.session.commit()
            flash(_("Workflow rights saved."), "success")
            return redirect(url_for(".index"))
        return self.render("core/workflows.html", model_label=model_label,
                           flows=[(flow, transition_rows(flow, groups)) for flow in flows])

    def _save(self, flows, groups):
        rows = {(row.model, row.transition): row
                for row in db.session.scalars(select(TransitionRight))}
        for flow in flows:
            for transition in flow.transitions.values():
                key = f"{flow.model}:{transition.name}"
                if f"shown:{key}" not in request.form or transition.by_application:
                    continue   # not on the page the administrator saw, or not theirs to set
                choices = {group.code for group in choosable(transition, groups)}
                checked = set(request.form.getlist(f"groups:{key}"))
                if checked - choices:
                    abort(400)
                row = rows.get((flow.model, transition.name))
                if checked == choices:   # all of them: as declared, no row
                    if row is not None:
                        db.session.delete(row)
                    continue
                if row is None:
                    row = TransitionRight(model=flow.model, transition=transition.name)
                    db.session.add(row)
                row.groups = json.dumps(sorted(checked))


# -- To approve ------------------------------------------------------------------------------

def waiting_rows(user):
    """The requests waiting for ``user``: each with its record (None where the user may
    not read it) and, when they decide for someone away, whom for."""
    requests = db.session.scalars(approvals.waiting_for(user).limit(LIST_LIMIT)).all()
    rows = []
    for found in requests:
        record = record_page.find(f"{found.model}:{found.record_id}")
        seat = approvals.seat_for(found, user)
        away = seat.user if seat is not None and seat.user_id != user.id else None
        steps = approvals.steps_of(found)
        rows.append({"request": found, "record": record,
                     "kind": model_label(found.model),
                     "url": record_page.url_of(record) if record is not None else None,
                     "step": label(steps[found.step]["name"]) if found.step < len(steps) else "",
                     "submitter": record_page.user_name(found.submitted_by),
                     "away": record_page.user_name(away)})
    return rows


class ToApproveView(_Page):
    """What waits for the user's decision, with bulk approve and reject."""

    def is_visible(self):
        return False   # reached from the top bar and the user menu

    @expose("/")
    def index(self):
        rows = waiting_rows(current_user)
        return self.render("core/to_approve.html", rows=rows, limit=LIST_LIMIT)

    @expose("/decide/", methods=("POST",))
    def decide(self):
        decision = request.form.get("decision")
        if decision not in ("approve", "reject"):
            abort(400)
        ids = int_ids(request.form.getlist("ids"))
        if not ids:
            flash(_("Select the approvals to decide first."), "error")
            return redirect(url_for(".index"))
        comment = request.form.get("comment", "")[:4000]
        waiting = {row.id: row for row in db.session.scalars(
            approvals.waiting_for(current_user).where(ApprovalRequest.id.in_(ids)))}
        refused = []
        for request_id in dict.fromkeys(ids):
            found = waiting.get(request_id) or db.session.get(ApprovalRequest, request_id)
            problem = self._decide_one(found, request_id in waiting, decision, comment)
            if problem:
                refused.append(problem)
        if refused:   # one user action, one transaction: all or nothing
            db.session.rollback()
            flash(_("Nothing was decided: %(reasons)s", reasons=" ".join(refused[:10])),
                  "error")
        else:
            db.session.commit()
            flash(ngettext("%(num)d approval decided.", "%(num)d approvals decided.",
                           len(set(ids))), "success")
        return redirect(url_for(".index"))

    def _decide_one(self, found, waiting, decision, comment):
        """Decide one request; why not, naming its record, or None."""
        if found is None:
            return _("One of them no longer waits for you.")
        record = record_page.find(f"{found.model}:{found.record_id}")
        if record is None:
            return _("%(kind)s: you may not open this record.", kind=model_label(found.model)) \
                if waiting else _("One of them no longer waits for you.")
        if not waiting:
            return _("%(record)s: it no longer waits for you.",
                     record=approvals.describe_record(record))
        try:
            approvals.decide(record, current_user._get_current_object(), decision, comment,
                             via="list")
        except workflow.Refused as exc:
            return _("%(record)s: %(reason)s", record=approvals.describe_record(record),
                     reason=str(exc))
        return None


# -- Delegations ---------------------------------------------------------------------------

def delegation_errors(values, user_id):
    """{input name: message} of what is wrong with a new delegation of ``user_id``."""
    errors = {}
    delegate_id = whole_number(values["delegate"], 1)
    delegate = db.session.get(User, delegate_id) if delegate_id else None
    if delegate is None or not delegate.active:
        errors["delegate"] = _("Choose an active user.")
    elif delegate.id == user_id:
        errors["delegate"] = _("Choose someone else than the one away.")
    dates = {}
    for name in ("starts_on", "ends_on"):
        try:
            dates[name] = parse_date(values[name])
        except ValueError:
            errors[name] = _("Give a date, such as 2026-12-31.")
    if len(dates) == 2 and dates["ends_on"] < dates["starts_on"]:
        errors["ends_on"] = _("The end comes before the start.")
    if errors:
        return errors, dates
    overlapping = db.session.scalar(select(Delegation).where(
        Delegation.user_id == user_id, Delegation.starts_on <= dates["ends_on"],
        Delegation.ends_on >= dates["starts_on"]).limit(1))
    if overlapping is not None:
        errors["starts_on"] = _("This overlaps a delegation from %(start)s to %(end)s.",
                                start=overlapping.starts_on.isoformat(),
                                end=overlapping.ends_on.isoformat())
    return errors, dates


class DelegationsView(_Page):
    """Who decides a user's approvals while they are away: each user names their own;
    administrators see and end everyone's, and may name one for anyone."""

    def is_visible(self):
        return False   # reached from the user menu

    @expose("/", methods=("GET", "POST"))
    def index(self):
        values = {"user": str(current_user.id), "delegate": "", "starts_on": "",
                  "ends_on": ""}
        errors = {}
        if request.method == "POST":
            values = {name: request.form.get(name, "").strip() for name in values}
            user_id = current_user.id
            if current_user.is_admin:   # an administrator may name one for anyone
                user_id = whole_number(values["user"], 1)
                if db.session.get(User, user_id or 0) is None:
                    errors["user"] = _("Choose a user.")
            if not errors:
                errors, dates = delegation_errors(values, user_id)
            if not errors:
                db.session.add(Delegation(user_id=user_id, delegate_id=int(values["delegate"]),
                                          starts_on=dates["starts_on"],
                                          ends_on=dates["ends_on"]))
                db.session.commit()
                flash(_("Delegation saved."), "success")
                return redirect(url_for(".index"))
            flash(_("Nothing was saved: correct the fields marked below."), "error")
        query = select(Delegation).order_by(Delegation.starts_on.desc(), Delegation.id.desc())
        if not current_user.is_admin:
            query = query.where(Delegation.user_id == current_user.id)
        users = db.session.scalars(select(User).where(User.active.is_(True))
                                   .order_by(User.username)).all()
        return self.render("core/delegations.html", delegations=db.session.scalars(query).all(),
                           users=users, values=values, errors=errors,
                           user_name=record_page.user_name)

    @expose("/delete/", methods=("POST",))
    def delete(self):
        found = db.session.get(Delegation, next(iter(int_ids(
            [request.form.get("id", "")])), 0))
        if found is None or (found.user_id != current_user.id and not current_user.is_admin):
            abort(404)
        db.session.delete(found)
        db.session.commit()
        flash(_("Delegation removed."), "success")
        return redirect(url_for(".index"))


def waiting_count():
    """The top bar's count of approvals waiting for the user; None where no enabled
    addon has records that need approval (then no entry shows)."""
    if not current_user.is_authenticated or not approvals.models():
        return None
    try:
        return approvals.waiting_count(current_user)
    except DBAPIError:
        # Tables not made yet: the code is newer than the database, which the Addons
        # page is there to say (an upgrade is needed). Nothing of the page was written.
        db.session.rollback()
        return None


def add_approval_views(admin, settings_category):
    from core.i18n import mark
    for view in (
            ApprovalPoliciesView(name=mark("Approvals"), category=settings_category,
                                 endpoint="approval_policies", url="/admin/approval-policies"),
            WorkflowsView(name=mark("Workflows"), category=settings_category,
                          endpoint="workflows", url="/admin/workflows"),
            ToApproveView(name=mark("To approve"), endpoint="to_approve",
                          url="/admin/to-approve"),
            DelegationsView(name=mark("Delegations"), endpoint="delegations",
                            url="/admin/delegations")):
        admin.add_view(view)
    admin.app.jinja_env.globals["approvals_waiting"] = waiting_count
