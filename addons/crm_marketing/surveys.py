"""Market surveys (市场调查): a survey is a list of questions (one choice, several
choices, free text, a rating from 1 to 5) that customers answer on a public page,
reached by a signed link (``survey_link``) that mailings offer as {{ survey_url }}.

- The link carries the survey and whom it was sent to (customer, contact, address),
  signed with the site's secret: a forged token gets 404. A link for no one (the
  owner's "Public link (test)") takes answers from anyone who has it.
- One response per person and survey (the contact, else the address, else the
  customer): answering again replaces the earlier answers, and the page says so. A
  link for no one makes a new response each time.
- A closed survey (unticked, or after its closing day) answers with a polite page.
- When the survey belongs to a campaign, its first answer from a person adds one
  campaign response ("survey answer").

A "several choices" question stores one answer row per option ticked, so that the
results count every kind of choice with one GROUP BY."""
from datetime import date

from flask import Blueprint, abort, current_app, g, render_template, request, url_for
from flask_admin.model.form import InlineFormAdmin
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from itsdangerous import BadSignature, URLSafeSerializer
from markupsafe import Markup
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from wtforms import RadioField, SelectMultipleField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, Optional, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from addons.crm_contacts.models import Contact, Customer
from addons.crm_marketing.models import Campaign, CampaignResponse, choice, email_key
from addons.crm_marketing.responses import responded
from core import charts, company, notifications, ratelimit
from core.admin import ModelView
from core.db import db
from core.i18n import language_from_query, mark
from core.models import OwnedMixin, utcnow
from core.record import text_of

QUESTION_KINDS = (mark("choice"), mark("several choices"), mark("text"), mark("rating"))
CHOICE_KINDS = ("choice", "several choices")
RATINGS = (1, 2, 3, 4, 5)
TEXT_LENGTH = 4000          # of a text answer
LATEST_TEXTS = 5            # text answers shown on the results panel, per question
LIST_TEXT_LENGTH = 120      # of an answer in the responses list
POSTS_PER_HOUR = 20         # from one address with one link


# -- the models ----------------------------------------------------------------------------------

class Survey(OwnedMixin, db.Model):
    """A questionnaire for customers, answered on a public page."""

    __tablename__ = "mkt_survey"
    __label__ = mark("Survey")
    id = db.Column(db.Integer, primary_key=True)
    name = db.Column(db.String(200), nullable=False, index=True, info={"label": _l("Name")})
    campaign_id = db.Column(db.ForeignKey("mkt_campaign.id", ondelete="SET NULL"), index=True)
    campaign = db.relationship(Campaign, info={"label": _l("Campaign")})
    introduction = db.Column(db.Text, info={"label": _l("Introduction")})
    thanks = db.Column(db.Text, info={"label": _l("Thank-you text")})
    is_open = db.Column(db.Boolean, nullable=False, default=True, index=True,
                        info={"label": _l("Open for answers")})
    closes_on = db.Column(db.Date, index=True, info={"label": _l("Last day for answers")})
    questions = db.relationship("SurveyQuestion", back_populates="survey",
                                cascade="all, delete-orphan", passive_deletes=True,
                                order_by=lambda: [SurveyQuestion.sequence, SurveyQuestion.id],
                                info={"label": _l("Questions")})

    def __str__(self):
        return self.name

    def is_closed(self, today=None):
        """Not taking answers: unticked, or after its last day."""
        today = today or date.today()
        return not self.is_open or (self.closes_on is not None and self.closes_on < today)


class SurveyQuestion(db.Model):
    __tablename__ = "mkt_survey_question"
    __label__ = mark("Survey question")
    id = db.Column(db.Integer, primary_key=True)
    survey_id = db.Column(db.ForeignKey("mkt_survey.id", ondelete="CASCADE"), nullable=False,
                          index=True)
    survey = db.relationship(Survey, back_populates="questions", info={"label": _l("Survey")})
    sequence = db.Column(db.Integer, nullable=False, default=10, info={"label": _l("Sequence")})
    text = db.Column(db.String(500), nullable=False, info={"label": _l("Question")})
    kind = db.Column(choice(*QUESTION_KINDS, name="mkt_survey_question_kind"), nullable=False,
                     default="choice", index=True, info={"label": _l("Kind")})
    options = db.Column(db.Text, info={"label": _l("Options, one per line")})
    required = db.Column(db.Boolean, nullable=False, default=False,
                         info={"label": _l("Required")})

    def __str__(self):
        return self.text

    def option_list(self):
        """The options, one per line, blank lines and repeats left out."""
        return list(dict.fromkeys(line.strip() for line in (self.options or "").splitlines()
                                  if line.strip()))


class SurveyResponse(db.Model):
    """One person's answers to a survey (the latest: answering again replaces them)."""

    __tablename__ = "mkt_survey_response"
    __label__ = mark("Survey response")
    # One response per person and survey; NULL (a link for no one) never conflicts.
    __table_args__ = (db.UniqueConstraint("survey_id", "respondent"),)
    id = db.Column(db.Integer, primary_key=True)
    survey_id = db.Column(db.ForeignKey("mkt_survey.id"), nullable=False, index=True)
    survey = db.relationship(Survey, info={"label": _l("Survey")})
    customer_id = db.Column(db.ForeignKey("crm_customer.id", ondelete="SET NULL"), index=True)
    customer = db.relationship(Customer, info={"label": _l("Customer")})
    contact_id = db.Column(db.ForeignKey("crm_contact.id", ondelete="SET NULL"), index=True)
    contact = db.relationship(Contact, info={"label": _l("Contact")})
    email = db.Column(db.String(254), index=True, info={"label": _l("Email")})
    # "contact:12", "email:li@example.com" or "customer:7": who answered, for the one
    # response per person; None for a link sent to no one.
    respondent = db.Column(db.String(270), info={"derived": True})
    submitted_at = db.Column(db.DateTime, nullable=False, default=utcnow, index=True,
                             info={"label": _l("Answered at")})
    # The campaign response the first answer made (one per response).
    campaign_response_id = db.Column(db.ForeignKey("mkt_response.id", ondelete="SET NULL"),
                                     index=True, info={"derived": True})
    # Loaded with the responses (one query a page, a chunk of an export).
    answers = db.relationship("SurveyAnswer", back_populates="response", lazy="selectin",
                              cascade="all, delete-orphan", passive_deletes=True,
                              order_by="SurveyAnswer.id", info={"label": _l("Answers")})


class SurveyAnswer(db.Model):
    """The answer to one question: its text (an option, or what was written) or its
    rating. A "several choices" question has one row per option ticked."""

    __tablename__ = "mkt_survey_answer"
    __label__ = mark("Survey answer")
    id = db.Column(db.Integer, primary_key=True)
    response_id = db.Column(db.ForeignKey("mkt_survey_response.id", ondelete="CASCADE"),
                            nullable=False, index=True)
    response = db.relationship(SurveyResponse, back_populates="answers",
                               info={"label": _l("Response")})
    question_id = db.Column(db.ForeignKey("mkt_survey_question.id"), nullable=False,
                            index=True)
    question = db.relationship(SurveyQuestion, lazy="joined", innerjoin=True,
                               info={"label": _l("Question")})
    value = db.Column(db.Text, info={"label": _l("Answer")})
    rating = db.Column(db.Integer, info={"label": _l("Rating")})


# -- the link --------------------------------------------------------------------------------------

SURVEY_SALT = "crm_marketing.survey"

blueprint = Blueprint("crm_marketing_surveys", __name__, url_prefix="/m/s")


def serializer():
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=SURVEY_SALT)


def survey_link(survey, customer_id=None, contact_id=None, email=""):
    """The absolute address of ``survey``'s answer page for one person (a survey or its
    id): signed, so that it cannot be changed to answer for someone else. With nobody
    named, a link that takes anyone's answers."""
    survey_id = survey if isinstance(survey, int) else survey.id
    return notifications.signed_link(f"{blueprint.name}.answer", serializer(),
                                     [survey_id, customer_id, contact_id, email or ""])


def survey_of(campaign_id):
    """The id of the open survey of a campaign (the newest), or None: what a mailing of
    the campaign links to as {{ survey_url }}."""
    if campaign_id is None:
        return None
    return db.session.scalar(select(Survey.id).where(
        Survey.campaign_id == campaign_id, Survey.is_open.is_(True))
        .order_by(Survey.id.desc()).limit(1))


def read_link(token):
    """(survey, customer id, contact id, email) of a link, or 404."""
    try:
        survey_id, customer_id, contact_id, email = notifications.unsigned(serializer(), token)
    except (BadSignature, ValueError, TypeError):
        abort(404)
    numbers = (survey_id, customer_id, contact_id)
    if not isinstance(survey_id, int) or not isinstance(email, str) or not all(
            number is None or type(number) is int for number in numbers):
        abort(404)
    survey = db.session.get(Survey, survey_id)
    if survey is None:
        abort(404)
    return survey, customer_id, contact_id, email


# -- the results -------------------------------------------------------------------------------------

def results(survey):
    """What the results panel shows: the number of responses, and per question
    {"question", "answered" (responses), "counts" [(label, count)] for choices and
    ratings, "average" for a rating, "texts" [(answered at, text)] for a text}. Four
    queries, whatever the number of questions and answers."""
    questions = list(survey.questions)
    ids = [question.id for question in questions]
    total = db.session.scalar(select(func.count()).where(SurveyResponse.survey_id == survey.id))
    answered, counted, texts = {}, {}, {}
    if ids:
        answered = dict(db.session.execute(
            select(SurveyAnswer.question_id, func.count(func.distinct(SurveyAnswer.response_id)))
            .where(SurveyAnswer.question_id.in_(ids)).group_by(SurveyAnswer.question_id)).all())
        chosen = [question.id for question in questions if question.kind != "text"]
        for question_id, value, rating, count in db.session.execute(
                select(SurveyAnswer.question_id, SurveyAnswer.value, SurveyAnswer.rating,
                       func.count())
                .where(SurveyAnswer.question_id.in_(chosen or [0]))
                .group_by(SurveyAnswer.question_id, SurveyAnswer.value, SurveyAnswer.rating)):
            key = rating if rating is not None else value
            counted.setdefault(question_id, {})[key] = count
        texts = latest_texts([question.id for question in questions if question.kind == "text"])
    found = []
    for question in questions:
        counts = counted.get(question.id, {})
        item = {"question": question, "answered": answered.get(question.id, 0),
                "counts": [], "average": None, "texts": texts.get(question.id, [])}
        if question.kind == "rating":
            item["counts"] = [(rating, counts.get(rating, 0)) for rating in RATINGS]
            rated = sum(counts.get(rating, 0) for rating in RATINGS)
            if rated:
                item["average"] = sum(r * counts.get(r, 0) for r in RATINGS) / rated
        elif question.kind in CHOICE_KINDS:
            options = question.option_list()
            # Answers to options since removed are still counted, after the others.
            others = sorted((value for value in counts if value not in options), key=str)
            item["counts"] = [(str(option), counts.get(option, 0))
                              for option in options + others]
        found.append(item)
    return total or 0, found


def latest_texts(question_ids):
    """{question id: [(answered at, text)]}: the latest text answers of each question."""
    if not question_ids:
        return {}
    ranked = select(SurveyAnswer.question_id, SurveyAnswer.value,
                    SurveyResponse.submitted_at,
                    func.row_number().over(partition_by=SurveyAnswer.question_id,
                                           order_by=SurveyAnswer.id.desc()).label("rank")) \
        .join(SurveyResponse, SurveyResponse.id == SurveyAnswer.response_id) \
        .where(SurveyAnswer.question_id.in_(question_ids)).subquery()
    found = {}
    for question_id, value, submitted_at, _rank in db.session.execute(
            select(ranked).where(ranked.c.rank <= LATEST_TEXTS)
            .order_by(ranked.c.question_id, ranked.c.rank)):
        found.setdefault(question_id, []).append((submitted_at, value))
    return found


def chart_of(item):
    """The bar chart of a choice or rating question's answers (inline SVG)."""
    labels = [f"{label} ★" if item["question"].kind == "rating" else label
              for label, _count in item["counts"]]
    return charts.bar_chart(labels, [(_("Answers"), [count for _label, count in item["counts"]])],
                            horizontal=True, description=item["question"].text,
                            height=40 + 34 * len(labels), width=900)


def results_panel(survey):
    total, items = results(survey)
    for item in items:
        item["chart"] = chart_of(item) if item["counts"] and item["answered"] else None
    return Markup(render_template("crm_marketing/survey_results.html", total=total,
                                  items=items, when=text_of))


def answer_lines(response):
    """[(question, [answer text])] of a response, in the order of the questions."""
    by_question = {}
    for answer in response.answers:
        text = str(answer.rating) if answer.rating is not None else answer.value or ""
        by_question.setdefault(answer.question, []).append(text)
    return sorted(by_question.items(), key=lambda item: (item[0].sequence, item[0].id))


def _answers_cell(shorten):
    def format_cell(_view, _context, response, _name):
        lines = []
        for question, texts in answer_lines(response):
            text = "; ".join(texts)
            if shorten and len(text) > LIST_TEXT_LENGTH:
                text = text[:LIST_TEXT_LENGTH] + "…"
            lines.append(Markup("<b>{}:</b> {}").format(question.text, text))
        return Markup('<div class="crm-survey-answers">{}</div>').format(
            Markup("<br>").join(lines))
    return format_cell


def _answers_export(_view, _context, response, _name):
    return "\n".join(f"{question.text}: {'; '.join(texts)}"
                     for question, texts in answer_lines(response))


# -- the screens --------------------------------------------------------------------------------------

class QuestionInline(InlineFormAdmin):
    form_columns = ["id", "sequence", "text", "kind", "options", "required"]
    form_args = {"text": {"validators": [InputRequired()]},
                 "sequence": {"validators": [InputRequired()]},
                 "options": {"description": _l(
                     "For a choice: the options, one per line (at least two).")}}
    form_widget_args = {"options": {"rows": 3}}


def _responses_count(_view, _context, survey, _name):
    return g.get("crm_survey_counts", {}).get(survey.id, 0)


class SurveyView(ModelView):
    column_list = ["name", "campaign", "is_open", "closes_on", "responses", "owner"]
    column_searchable_list = ["name"]
    column_filters = ["is_open", "closes_on", "campaign.name", "owner.username"]
    column_sortable_list = ["name", "is_open", "closes_on"]
    # Related filters take their relation's label (core.admin.scaffold_filters), which
    # keeps their links' names: flt0_campaign_mkt_campaign_name_equals.
    column_labels = {"responses": _l("Responses")}
    column_formatters = {"responses": _responses_count}
    # Counted for a page of the list: an export leaves the figure out.
    column_export_list = ["name", "campaign", "is_open", "closes_on", "owner"]
    column_default_sort = ("id", True)
    form_columns = ["name", "campaign", "is_open", "closes_on", "introduction", "thanks",
                    "owner"]
    column_details_list = ["name", "campaign", "is_open", "closes_on", "introduction",
                           "thanks", "owner", "created_at"]
    details_sections = [(None, ["campaign", "is_open", "closes_on", "owner", "created_at"]),
                        (_l("Introduction"), ["introduction"]),
                        (_l("Thank-you text"), ["thanks"])]
    column_descriptions = {
        "introduction": _l("Shown above the questions."),
        "thanks": _l("Shown once the answers are sent."),
        "closes_on": _l("Answers are taken until the end of this day. Empty: until the "
                        "survey is no longer open."),
    }
    inline_models = [QuestionInline(SurveyQuestion)]
    form_ajax_refs = {"campaign": {"fields": ["name"], "page_size": 10},
                      "owner": {"fields": ["username", "full_name"], "page_size": 10}}
    allow_import = False     # questions come with the survey, on its form

    def get_list(self, page, sort_column, sort_desc, search, filters, execute=True,
                 page_size=None):
        count, rows = super().get_list(page, sort_column, sort_desc, search, filters,
                                       execute=execute, page_size=page_size)
        if execute and rows:
            g.crm_survey_counts = dict(db.session.execute(
                select(SurveyResponse.survey_id, func.count())
                .where(SurveyResponse.survey_id.in_([row.id for row in rows]))
                .group_by(SurveyResponse.survey_id)).all())
        return count, rows

    def validate_form(self, form):
        valid = super().validate_form(form)
        questions = getattr(form, "questions", None)
        if questions is None or request.method != "POST":
            return valid
        return check_questions(questions) and valid

    def on_model_delete(self, survey):
        answered = db.session.scalar(select(func.count()).where(
            SurveyResponse.survey_id == survey.id))
        if answered:
            raise ValidationError(_("This survey has responses: close it instead, or delete "
                                    "its responses first."))
        super().on_model_delete(survey)

    def detail_buttons(self, survey):
        buttons = super().detail_buttons(survey)
        if self.can_edit:
            buttons.append({"label": _("Public link (test)"), "url": survey_link(survey),
                            "icon": "fa-external-link", "style": "btn-outline-secondary"})
        return buttons

    def detail_panels(self, survey):
        panel = {"title": _("Results"), "order": 10, "width": "col-12",
                 "html": results_panel(survey),
                 "link": url_for("survey_response.index_view",
                                 flt0_survey_mkt_survey_name_equals=survey.name),
                 "link_text": _("Responses")}
        return [panel] + super().detail_panels(survey)


def check_questions(questions):
    """Choices have at least two options; a question already answered is not removed
    (its answers would go with it). Errors on the question's fields; True when fine."""
    fine = True
    for entry in questions.entries:
        fields = entry.form
        if questions.should_delete(entry):
            question_id = fields.id.data if "id" in fields else None
            if question_id and str(question_id).isdigit() and db.session.scalar(
                    select(func.count()).where(SurveyAnswer.question_id == int(question_id))):
                fields.text.errors = list(fields.text.errors) + [
                    _("This question has answers: it cannot be removed.")]
                fine = False
            continue
        options = [line for line in (fields.options.data or "").splitlines() if line.strip()]
        if fields.kind.data in CHOICE_KINDS and len(set(map(str.strip, options))) < 2:
            fields.options.errors = list(fields.options.errors) + [
                _("Give at least two options, one per line.")]
            fine = False
    return fine


class SurveyResponseView(ModelView):
    """The answers received (read only: they are the customers' words)."""

    allow_create = allow_edit = allow_import = False
    column_list = ["survey", "submitted_at", "email", "customer", "contact", "answer_list"]
    column_searchable_list = ["email"]
    column_filters = ["survey.name", "submitted_at", "customer.name", "email"]
    column_sortable_list = ["submitted_at", "email", ("survey", "survey.name")]
    column_labels = {"answer_list": _l("Answers"), "answer_full": _l("Answers")}
    column_default_sort = ("id", True)
    column_details_list = ["survey", "submitted_at", "email", "customer", "contact",
                           "answer_full"]
    details_sections = [(None, ["survey", "submitted_at", "email", "customer", "contact"]),
                        (_l("Answers"), ["answer_full"])]
    column_formatters = {"answer_list": _answers_cell(shorten=True),
                         "answer_full": _answers_cell(shorten=False)}
    column_formatters_export = {"answer_list": _answers_export}
    column_export_list = column_list


# -- the public page -------------------------------------------------------------------------------------

blueprint.before_request(language_from_query)


def field_name(question):
    return f"q{question.id}"


def question_field(question):
    """The form field of a question; required ones say what is missing on the field."""
    required = question.required
    if question.kind == "several choices":
        options = question.option_list()
        return SelectMultipleField(
            question.text, choices=[(option, option) for option in options],
            widget=ListWidget(prefix_label=False), option_widget=CheckboxInput(),
            validators=[InputRequired(_l("Choose at least one.")) if required else Optional()])
    if question.kind == "text":
        return TextAreaField(question.text, validators=[
            DataRequired(_l("Please answer this question.")) if required else Optional(),
            Length(max=TEXT_LENGTH)])
    if question.kind == "rating":
        return RadioField(question.text, coerce=int,
                          choices=[(rating, str(rating)) for rating in RATINGS],
                          validators=[InputRequired(_l("Choose a rating from 1 to 5."))
                                      if required else Optional()])
    return RadioField(question.text, choices=[(option, option) for option in
                                              question.option_list()],
                      validators=[InputRequired(_l("Please choose one.")) if required
                                  else Optional()])


def survey_form(questions, previous=None):
    """A form of the survey's questions; on a GET, filled in with ``previous`` answers
    (a response) when there are any."""
    class SurveyForm(FlaskForm):
        pass

    for question in questions:
        setattr(SurveyForm, field_name(question), question_field(question))
    data = {}
    if previous is not None and request.method != "POST":
        for question, texts in answer_lines(previous):
            if question.kind == "several choices":
                data[field_name(question)] = texts
            elif question.kind == "rating":
                data[field_name(question)] = int(texts[0])
            else:
                data[field_name(question)] = texts[0]
    return SurveyForm(data=data)


def respondent_of(customer_id, contact_id, email):
    """Who a link names, as SurveyResponse.respondent keeps it; None for no one."""
    if contact_id is not None:
        return f"contact:{contact_id}"
    if email_key(email):
        return f"email:{email_key(email)}"
    if customer_id is not None:
        return f"customer:{customer_id}"
    return None


def previous_response(survey, respondent, lock=False):
    """The person's earlier response, if any; ``lock``: its row locked until the
    commit, so that two posts at once replace the answers one after the other."""
    if respondent is None:
        return None
    query = select(SurveyResponse).where(SurveyResponse.survey_id == survey.id,
                                         SurveyResponse.respondent == respondent)
    return db.session.scalar(query.with_for_update() if lock else query)


@blueprint.route("/<token>", methods=("GET", "POST"))
def answer(token):
    survey, customer_id, contact_id, email = read_link(token)
    if survey.is_closed():
        return page(survey, closed=True)
    respondent = respondent_of(customer_id, contact_id, email)
    questions = list(survey.questions)
    previous = previous_response(survey, respondent)
    form = survey_form(questions, previous)
    if request.method != "POST":      # GET, or HEAD: never an answer
        return page(survey, form=form, previous=previous)
    if not form.validate_on_submit():
        return page(survey, 400, form=form, previous=previous)
    if not ratelimit.allows("crm_marketing.survey", survey.id, respondent,
                            per_hour=POSTS_PER_HOUR):
        return page(survey, 429, form=form, previous=previous, too_many=True)
    try:
        store(survey, questions, form, customer_id, contact_id, email, respondent)
        db.session.commit()
    except IntegrityError:
        # The same person's first answer sent twice at once: the other one was stored
        # first; this one replaces it.
        db.session.rollback()
        store(survey, questions, form, customer_id, contact_id, email, respondent)
        db.session.commit()
    return page(survey, done=True, replaced=previous is not None)


def store(survey, questions, form, customer_id, contact_id, email, respondent):
    """Write the form's answers: a new response, or the person's earlier one with its
    answers replaced; and the campaign's response for a first answer."""
    response = previous_response(survey, respondent, lock=True) or SurveyResponse(
        survey=survey, respondent=respondent)
    contact = db.session.get(Contact, contact_id) if contact_id is not None else None
    customer = db.session.get(Customer, customer_id) if customer_id is not None else None
    customer = customer or (contact.customer if contact is not None else None)
    response.contact, response.customer = contact, customer
    response.email = (email or (contact.email if contact is not None else "") or "")[:254] \
        or None
    response.submitted_at = utcnow()
    response.answers.clear()
    for question in questions:
        response.answers.extend(answers_of(question, form[field_name(question)].data))
    db.session.add(response)
    if survey.campaign_id is not None and response.campaign_response_id is None:
        made = CampaignResponse(
            campaign_id=survey.campaign_id, kind="survey answer",
            responded_at=response.submitted_at, customer=customer, contact=contact,
            name=(contact.name if contact is not None else customer.name if customer
                  else None), email=response.email, note=survey.name)
        db.session.add(made)
        db.session.flush()
        response.campaign_response_id = made.id
        responded(made)
    db.session.flush()
    return response


def answers_of(question, data):
    """The SurveyAnswer rows of one question's field data (none when left empty)."""
    if question.kind == "several choices":
        return [SurveyAnswer(question=question, value=value) for value in data or []]
    if question.kind == "rating":
        return [SurveyAnswer(question=question, rating=data)] if data else []
    text = (data or "").strip()
    return [SurveyAnswer(question=question, value=text)] if text else []


def page(survey, status=200, **context):
    context.setdefault("form", None)
    ratings = {field_name(question) for question in survey.questions
               if question.kind == "rating"}
    return render_template("crm_marketing/survey_page.html", survey=survey, ratings=ratings,
                           company_name=company.name(), **context), status


@blueprint.errorhandler(404)
def not_found(_error):
    return render_template("crm_marketing/survey_page.html", survey=None, form=None,
                           company_name=company.name(), missing=True), 404
