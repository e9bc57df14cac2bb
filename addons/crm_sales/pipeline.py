"""The pipeline: opportunities, their stages, the stage-change history, the grouped list
and the kanban board.

Rules about stages live here once and serve every way of changing a deal: the form, the
board, and (for what follows from a move) anything else that saves an opportunity."""
import re
from datetime import date
from decimal import Decimal

from babel.dates import format_skeleton
from flask import (abort, flash, has_request_context, jsonify, redirect, render_template,
                   request, url_for)
from flask_admin import expose
from flask_admin.contrib.sqla.filters import FilterEqual
from flask_admin.helpers import is_form_submitted
from flask_babel import get_locale, ngettext
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy import Integer, cast, event, extract, func, inspect, or_, select
from sqlalchemy.orm import Session, joinedload, undefer
from wtforms.validators import NumberRange, Optional, ValidationError

from addons.crm_contacts.models import Customer
from addons.crm_contacts.views import prefill_customer
from addons.crm_sales.models import LostReason, Opportunity, Stage, StageChange
from core import customise, permissions, workflow
from core.admin import ModelView, scoped_query
from core.audit import acting_user_id
from core.db import db
from core.i18n import label, money_text
from core.models import Group, User, utcnow
from core.util import int_ids

CLOSED_KINDS = ("won", "lost")
BOARD_CARDS = 50      # cards shown per column; the header's totals count them all
HISTORY_ROWS = 50     # stage changes shown on an opportunity's page


# -- rules about stages, shared by the form and the board ---------------------------------

def may_enter(user, stage):
    """A stage with a group may be entered only by its members (and administrators)."""
    return (stage.group_id is None or user.is_admin
            or any(group.id == stage.group_id for group in user.groups))


def entry_refusal(user, stage):
    """Why ``user`` may not move a deal into ``stage``, or None when they may."""
    if may_enter(user, stage):
        return None
    return _("Only members of %(group)s may move deals into the stage %(stage)s.",
             group=label(stage.group.name), stage=label(stage.name))


def stage_condition(_opportunity, stage):
    """The workflow's condition on "move" (the board, the form, an import): the stage
    (a Stage or its id) is one the current user may enter."""
    if not isinstance(stage, Stage):
        stage = db.session.get(Stage, stage) if stage is not None else None
    if stage is None or not has_request_context() or not current_user.is_authenticated:
        return None   # the application moves deals anywhere
    return entry_refusal(current_user, stage)


def lost_reason_needed():
    return _("Choose the reason this deal was lost.")


def name_label(record):
    """A stage's or lost reason's name as shown: the default names are stored in English
    and shown translated, the others as they were typed."""
    return label(record.name) if record is not None else ""


# -- every stage change, however it is saved ----------------------------------------------

def stage_move(session, opportunity):
    """(old stage id, new Stage) when this flush moves ``opportunity`` to another stage
    (old None for a new one), else None. A form sets the relationship and a script may
    set the column: before the flush only the one that was set shows the change."""
    state = inspect(opportunity)
    relation, column = state.attrs.stage.history, state.attrs.stage_id.history
    if relation.added and relation.added[0] is not None:
        new = relation.added[0]
    elif column.added and column.added[0] is not None:
        new = session.get(Stage, column.added[0])
    else:
        return None
    if state.pending:
        return None, new
    old = column.deleted[0] if column.deleted else opportunity.stage_id
    if new is None or old == new.id:
        return None
    return old, new


def follow_stage(opportunity, stage):
    """What follows from entering ``stage``, unless this same save set it by hand: the
    stage's default probability; closed_on today in a won or lost stage, cleared when
    reopened; a lost reason only on a lost deal."""
    history = inspect(opportunity).attrs
    if opportunity.probability is None or not history.probability.history.has_changes():
        opportunity.probability = stage.probability
    if stage.kind in CLOSED_KINDS:
        if opportunity.closed_on is None or not history.closed_on.history.has_changes():
            opportunity.closed_on = date.today()
    else:
        opportunity.closed_on = None
    if stage.kind != "lost" and not history.lost_reason.history.has_changes() \
            and not history.lost_reason_id.history.has_changes():
        opportunity.lost_reason = None


@event.listens_for(Session, "before_flush")
def _record_stage_changes(session, _context, _instances):
    """A StageChange row (who, when, from, to) for every move, in the transaction of the
    move itself: the funnel is read from these rows."""
    for record in list(session.new) + list(session.dirty):
        if not isinstance(record, Opportunity) or record in session.deleted:
            continue
        move = stage_move(session, record)
        if move is None:
            if record.probability is None and record.stage is not None:
                record.probability = record.stage.probability
            continue
        old_id, stage = move
        follow_stage(record, stage)
        session.add(StageChange(opportunity=record, from_stage_id=old_id, to_stage=stage,
                                user_id=acting_user_id(), at=utcnow()))


# -- the opportunity screens ---------------------------------------------------------------

def currency_code(_form, field):
    # A function rather than wtforms' Regexp: a lazy message there is not shown.
    if not re.fullmatch(r"[A-Z]{3}", field.data or ""):
        raise ValidationError(_("A currency is three letters, such as CNY or USD."))


def ordered_stages():
    return scoped_query(Stage, Opportunity).order_by(Stage.sequence, Stage.id)


def ordered_reasons():
    return scoped_query(LostReason, Opportunity).order_by(LostReason.name)


def search_condition(text):
    """Opportunities whose name has ``text``, or whose customer a search finds."""
    return or_(Opportunity.name.contains(text, autoescape=True),
               Opportunity.customer_id.in_(select(Customer.id).where(Customer.matching(text))))


def stage_cell(_view, _context, record, _name):
    return name_label(record.stage)


def month_label(year, month):
    if year is None:
        return _("No close date")
    return format_skeleton("yMMM", date(year, month, 1), locale=get_locale())


GROUPINGS = {"stage": _l("Stage"), "owner": _l("Owner"), "month": _l("Close month")}


class OpportunityView(ModelView):
    column_list = ["name", "customer", "amount", "currency", "stage", "probability",
                   "expected_close", "owner"]
    column_searchable_list = ["name", "customer.name"]
    column_filters = ["stage.name", "owner.username", "customer.name", "expected_close",
                      "amount", "probability", "closed_on", "currency", "lost_reason.name"]
    column_sortable_list = ["name", ("customer", "customer.name"), "amount", "currency",
                            ("stage", "stage.sequence"), "probability", "expected_close",
                            ("owner", "owner.username")]
    column_default_sort = ("id", True)
    # Labels of relations only: one on "customer.name" would rename the filter that
    # links from other pages use (flt0_customer_crm_customer_name_equals).
    column_labels = {"lost_reason": _l("Lost reason"), "competitors": _l("Competitors")}
    column_formatters = {"stage": stage_cell,
                         "amount": lambda v, c, m, n: money_text(m.amount)}
    column_formatters_export = {}   # exports keep the stored values
    column_details_list = ["name", "customer", "contact", "lead", "amount", "currency",
                           "stage", "probability", "expected_close", "closed_on",
                           "competitors", "lost_reason", "description", "owner",
                           "created_at", "updated_at"]
    column_formatters_detail = {"stage": stage_cell,
                                "lost_reason": lambda v, c, m, n: name_label(m.lost_reason)}
    form_columns = ["name", "customer", "contact", "amount", "currency", "stage",
                    "probability", "expected_close", "competitors", "lost_reason",
                    "description", "owner"]
    form_ajax_refs = {"customer": {"fields": ["name", "code"], "page_size": 10},
                      "contact": {"fields": ["name"], "page_size": 10},
                      "owner": {"fields": ["username", "full_name"], "page_size": 10}}
    form_args = {
        "amount": {"validators": [NumberRange(min=0, message=_l(
            "The amount cannot be negative."))]},
        "currency": {"filters": [lambda text: text.strip().upper() if text else text],
                     "validators": [currency_code]},
        "probability": {"validators": [Optional(), NumberRange(min=0, max=100, message=_l(
            "The probability is a number from 0 to 100."))],
            "description": _l("Left empty: the default of the stage.")},
        "stage": {"query_factory": ordered_stages, "get_label": name_label},
        "lost_reason": {"query_factory": ordered_reasons, "get_label": name_label},
    }
    list_template = "crm_sales/opportunity_list.html"

    def search_placeholder(self):
        return _("Deal or customer")

    # -- the form ---------------------------------------------------------------------

    def create_form(self, obj=None):
        """A new deal starts in the first stage, with that stage's probability unless
        the user types another (an empty probability means the stage's default)."""
        form = prefill_customer(super().create_form(obj))
        if request.method == "GET":
            form.stage.data = form.stage.data or ordered_stages().first()
            form.probability.data = None
        return form

    def validate_form(self, form):
        valid = super().validate_form(form)
        # Only a submitted form: on the form's first view its fields have no error lists
        # yet, and the default stage may be one the user may not enter.
        if not (hasattr(form, "stage") and hasattr(form, "lost_reason")) \
                or not is_form_submitted():
            return valid
        return self.check_stage_rules(form) and valid

    def check_stage_rules(self, form):
        """Errors on the fields the rules of stages concern: a stage the user may not
        enter, a lost deal without a reason, a contact of another customer."""
        record = self.edited_record()
        stage, ok = form.stage.data, True
        if stage is not None and (record is None or record.stage_id != stage.id):
            refusal = entry_refusal(current_user, stage)
            if refusal:
                form.stage.errors.append(refusal)
                ok = False
        if stage is not None and stage.kind == "lost" and form.lost_reason.data is None:
            form.lost_reason.errors.append(lost_reason_needed())
            ok = False
        contact, customer = form.contact.data, form.customer.data
        if contact is not None and customer is not None and contact.customer_id != customer.id:
            form.contact.errors.append(_("This contact works for another customer."))
            ok = False
        return ok

    # -- the detail page: the stage history -----------------------------------------------

    def detail_panels(self, record):
        changes = db.session.scalars(
            select(StageChange).where(StageChange.opportunity_id == record.id)
            .options(joinedload(StageChange.from_stage), joinedload(StageChange.to_stage),
                     joinedload(StageChange.user))
            .order_by(StageChange.at.desc(), StageChange.id.desc()).limit(HISTORY_ROWS)).all()
        history = {"title": _("Stage history"), "order": 5, "width": "col-lg-12",
                   "html": Markup(render_template("crm_sales/opportunity_history.html",
                                                  changes=changes))}
        return [history] + super().detail_panels(record)

    # -- links the board and the grouped list use -----------------------------------------

    def stage_list_url(self, stage):
        """The list filtered on one stage (the board's "N more" link)."""
        arg = next(key for key, (_index, flt) in self._filter_args.items()
                   if key.startswith("stage_") and type(flt) is FilterEqual)
        return url_for("opportunity.index_view", **{f"flt0_{arg}": stage.name})

    # -- the grouped list -------------------------------------------------------------------

    @expose("/grouped/")
    def grouped_view(self):
        # Stage, owner, close month, and the site's fields of a few values (a choice,
        # yes/no) that the user may see, by their names.
        fields = {field.name: field for field in self.grouped_by_fields()}
        groupings = {**GROUPINGS, **{name: customise.field_label(field)
                                     for name, field in fields.items()}}
        grouping = request.args.get("group")
        grouping = grouping if grouping in groupings else "stage"
        field = fields.get(grouping)
        text = request.args.get("search", "").strip()[:100]
        page = max(0, next(iter(int_ids([request.args.get("page", "")])), 0))
        groups = self.group_totals(grouping, field, text)
        total = sum(group["count"] for group in groups)
        rows = self.grouped_rows(grouping, field, text, page) if total else []
        pages = max(1, -(-total // self.page_size))

        def page_url(number):
            return url_for(".grouped_view", group=grouping, search=text or None, page=number)

        return self.render("crm_sales/opportunity_grouped.html", grouping=grouping,
                           groupings=groupings, text=text, groups=groups,
                           by_key={group["key"]: group for group in groups},
                           rows=rows, key_of=lambda row: self.group_key(grouping, field, row),
                           total=total, amount=sum(g["amount"] for g in groups),
                           page=page, pages=pages, page_url=page_url, money=money_text)

    def grouping_columns(self, grouping, field):
        """(group-by columns, order, joins) of a grouping, for the totals and the rows."""
        if field is not None:
            column, order, _title = customise.grouping(field)
            return [column], order, []
        if grouping == "stage":
            return ([Opportunity.stage_id, Stage.sequence, Stage.name],
                    [Stage.sequence, Opportunity.stage_id],
                    [(Stage, Stage.id == Opportunity.stage_id)])
        if grouping == "owner":
            return ([Opportunity.owner_id, User.username, User.full_name],
                    [User.username.is_(None), User.username],
                    [(User, User.id == Opportunity.owner_id)])
        year = cast(extract("year", Opportunity.expected_close), Integer)
        month = cast(extract("month", Opportunity.expected_close), Integer)
        return [year, month], [year.is_(None), year, month], []

    def group_totals(self, grouping, field, text):
        """Count and amount of every group, by one GROUP BY within the record rules."""
        columns, order, joins = self.grouping_columns(grouping, field)
        statement = select(*columns, func.count(Opportunity.id),
                           func.coalesce(func.sum(Opportunity.amount), 0)).select_from(
            Opportunity)
        for target, on in joins:
            statement = statement.outerjoin(target, on)
        if text:
            statement = statement.where(search_condition(text))
        statement = permissions.apply_rules(statement, Opportunity)
        groups = []
        title_of = customise.grouping(field)[2] if field is not None else None
        for row in db.session.execute(statement.group_by(*columns).order_by(*order)):
            if title_of is not None:
                key, title = row[0], title_of(row[0])
            elif grouping == "stage":
                key, title = row[0], label(row[2])
            elif grouping == "owner":
                key, title = row[0], row[2] or row[1] or _("No owner")
            else:
                key, title = (row[0], row[1]), month_label(row[0], row[1])
            groups.append({"key": key, "title": title, "count": row[-2],
                           "amount": Decimal(row[-1] or 0)})
        return groups

    def grouped_rows(self, grouping, field, text, page):
        """One page of rows, in the order of the groups."""
        columns, order, joins = self.grouping_columns(grouping, field)
        query = self.get_query()
        if field is not None:   # (its column, read with the rows, not once per row)
            query = query.options(undefer(columns[0]))
        for target, on in joins:
            query = query.outerjoin(target, on)
        if text:
            query = query.filter(search_condition(text))
        query = query.options(joinedload(Opportunity.customer), joinedload(Opportunity.stage),
                              joinedload(Opportunity.owner))
        return query.order_by(*order, Opportunity.expected_close, Opportunity.id) \
            .offset(page * self.page_size).limit(self.page_size).all()

    @staticmethod
    def group_key(grouping, field, row):
        if field is not None:
            return getattr(row, field.name)
        if grouping == "stage":
            return row.stage_id
        if grouping == "owner":
            return row.owner_id
        close = row.expected_close
        return (close.year, close.month) if close else (None, None)


# -- the kanban board -----------------------------------------------------------------------

WHO = {"all": _l("All I may see"), "team": _l("My team"), "mine": _l("Mine")}


class KanbanView(OpportunityView):
    """One column per stage, cards dragged from one to another. Totals by one GROUP BY,
    the cards of every column by one windowed query: the same few queries whatever the
    number of deals."""

    # The board only shows and moves; deals are created and edited on their own screen
    # (this one's inherited form pages stay switched off).
    allow_create = allow_edit = allow_delete = allow_export = allow_import = False
    can_view_details = False

    @expose("/")
    def index_view(self):
        who, text = self.board_filters(request.args)
        return self.render_board(who, text)

    def board_filters(self, values):
        who = values.get("who") if values.get("who") in WHO else "all"
        return who, values.get("q", "").strip()[:100]

    def board_conditions(self, who, text):
        conditions = []
        if who == "mine":
            conditions.append(Opportunity.owner_id == current_user.id)
        elif who == "team":
            conditions.append(Opportunity.owner_id.in_(permissions.team_user_ids(current_user.id)))
        if text:
            conditions.append(search_condition(text))
        return conditions

    def column_totals(self, conditions):
        """{stage id: (count, amount)} over every deal the user may see."""
        statement = permissions.apply_rules(
            select(Opportunity.stage_id, func.count(Opportunity.id),
                   func.coalesce(func.sum(Opportunity.amount), 0))
            .where(*conditions).group_by(Opportunity.stage_id), Opportunity)
        return {stage_id: (count, Decimal(amount or 0))
                for stage_id, count, amount in db.session.execute(statement)}

    def column_cards(self, conditions):
        """{stage id: its first BOARD_CARDS deals}, soonest close date first, in one
        query (row_number per stage) with customer and owner joined in."""
        rank = func.row_number().over(
            partition_by=Opportunity.stage_id,
            order_by=(Opportunity.expected_close.is_(None), Opportunity.expected_close,
                      Opportunity.id.desc())).label("rank")
        ranked = permissions.apply_rules(
            select(Opportunity.id, rank).where(*conditions), Opportunity).subquery()
        statement = (select(Opportunity).join(ranked, ranked.c.id == Opportunity.id)
                     .where(ranked.c.rank <= BOARD_CARDS)
                     .options(joinedload(Opportunity.customer), joinedload(Opportunity.owner))
                     .order_by(ranked.c.rank))
        cards = {}
        for opportunity in db.session.scalars(statement):
            cards.setdefault(opportunity.stage_id, []).append(opportunity)
        return cards

    def render_board(self, who, text, error=None, status=200):
        conditions = self.board_conditions(who, text)
        stages = ordered_stages().options(joinedload(Stage.group)).all()
        totals = self.column_totals(conditions)
        may_move = self.permits("w")
        return self.render(
            "crm_sales/kanban.html", stages=stages, totals=totals,
            cards=self.column_cards(conditions), who=who, whos=WHO, text=text,
            may_move=may_move, reasons=ordered_reasons().all() if may_move else [],
            error=error, limit=BOARD_CARDS, money=money_text, today=date.today(),
            more_url=self.stage_list_url,
            board_url=lambda **changes: url_for(".index_view", **{
                "who": who, "q": text or None, **changes})), status

    # -- moving a card --------------------------------------------------------------------

    @expose("/move", methods=("GET", "POST"))
    def move(self):
        """Move a deal to another stage: from the board's script (JSON answers) or from
        the page a card's move link opens (GET; for the keyboard and browsers without
        the script). The core has checked "w" for a POST."""
        if request.method == "GET":
            return self.move_page()
        who, text = self.board_filters(request.form)
        opportunity = self.get_one(request.form.get("opportunity", ""))  # 404 outside rules
        stage_ids = int_ids([request.form.get("stage", "")])
        stage = db.session.get(Stage, stage_ids[0]) if stage_ids else None
        if stage is None:
            return self.refuse(400, _("Choose a stage."), who, text)
        refusal = workflow.refusal(opportunity, workflow.of(Opportunity).transitions["move"],
                                   current_user, stage) if stage.id != opportunity.stage_id \
            else None
        if refusal:
            return self.refuse(403, refusal, who, text)
        reason_ids = int_ids([request.form.get("lost_reason", "")])
        reason = ordered_reasons().filter(LostReason.id == reason_ids[0]).one_or_none() \
            if reason_ids else None
        if stage.kind == "lost" and reason is None:
            return self.ask_reason(opportunity, stage, who, text)
        if stage.id != opportunity.stage_id:
            if reason is not None:
                opportunity.lost_reason = reason
            try:
                workflow.move(opportunity, "move", current_user, target=stage)
            except workflow.Refused as refused:
                return self.refuse(403, str(refused), who, text)
            db.session.commit()   # the StageChange row goes in the same commit
        if self.wants_json():
            totals = self.column_totals(self.board_conditions(who, text))
            return jsonify(ok=True, opportunity=opportunity.id, stage=stage.id,
                           probability=opportunity.probability,
                           totals={str(stage_id): {"count": count, "amount": money_text(amount)}
                                   for stage_id, (count, amount) in totals.items()})
        flash(_("%(name)s moved to %(stage)s.", name=opportunity.name, stage=name_label(stage)),
              "success")
        return redirect(url_for(".index_view", who=who, q=text or None))

    def move_page(self):
        """A small form: the deal, the stage to move it to, and the lost reason in case."""
        if not self.permits("w"):
            abort(403)
        who, text = self.board_filters(request.args)
        opportunity = self.get_one(request.args.get("opportunity", ""))  # 404 outside rules
        return self.render("crm_sales/opportunity_move.html", opportunity=opportunity,
                           stages=ordered_stages().all(), reasons=ordered_reasons().all(),
                           who=who, text=text)

    @staticmethod
    def wants_json():
        return "application/json" in request.headers.get("Accept", "")

    def refuse(self, status, message, who, text):
        db.session.rollback()
        if self.wants_json():
            return jsonify(ok=False, message=message), status
        return self.render_board(who, text, error=message, status=status)

    def ask_reason(self, opportunity, stage, who, text):
        """422: a lost deal needs its reason. The script asks with a small select and
        posts again; without the script, a page asks."""
        db.session.rollback()
        message = lost_reason_needed()
        if self.wants_json():
            return jsonify(ok=False, message=message, needs_reason=True), 422
        return self.render("crm_sales/opportunity_lost.html", opportunity=opportunity,
                           stage=stage, reasons=ordered_reasons().all(), who=who, text=text,
                           message=message), 422


# -- the stages -------------------------------------------------------------------------------

def all_groups():
    # Stage managers choose which group may enter a stage: they need the group names
    # even without rights on the Permissions page (the names are all this shows).
    return db.session.query(Group).order_by(Group.name)


class StageView(ModelView):
    column_list = ["name", "sequence", "probability", "kind", "group"]
    column_labels = {"group": _l("Only members of")}
    column_default_sort = ("sequence", False)
    column_formatters = {"name": lambda v, c, m, n: name_label(m)}
    form_columns = ["name", "sequence", "probability", "kind", "group"]
    form_ajax_refs = {}
    form_args = {
        "probability": {"validators": [NumberRange(min=0, max=100, message=_l(
            "The probability is a number from 0 to 100."))]},
        "group": {"query_factory": all_groups,
                  "description": _l("Only members of this group may move deals into "
                                    "the stage. Empty: everyone.")},
    }

    def on_model_delete(self, model):
        """A stage that deals are in, or that their history mentions, stays: the funnel
        is read from that history. It can be renamed instead."""
        deals = db.session.scalar(select(func.count(Opportunity.id))
                                  .where(Opportunity.stage_id == model.id))
        if deals:
            raise ValidationError(ngettext(
                "The stage %(name)s cannot be deleted: %(num)d opportunity is in it. "
                "Move it to another stage first.",
                "The stage %(name)s cannot be deleted: %(num)d opportunities are in it. "
                "Move them to another stage first.", deals, name=name_label(model)))
        moves = db.session.scalar(select(func.count(StageChange.id)).where(or_(
            StageChange.from_stage_id == model.id, StageChange.to_stage_id == model.id)))
        if moves:
            raise ValidationError(_(
                "The stage %(name)s cannot be deleted: the stage history of opportunities "
                "mentions it (%(num)d moves). Rename it instead.", name=name_label(model),
                num=moves))
