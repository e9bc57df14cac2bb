"""The knowledge base: answers in folders, each a draft (its author's only), internal
(every service user) or public (the self-service page too), in Chinese or English.

An article's body is plain text, shown by ``render_body``: a blank line starts a
paragraph, lines starting with "- " make a list. Nothing a user writes is ever taken as
HTML. Agents put an article into a reply through ``ArticleView.insertable`` (JSON)."""
import re

from flask import jsonify, request, url_for
from flask_admin import expose
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from markupsafe import Markup, escape
from sqlalchemy import and_, case, or_, select, true
from wtforms.validators import ValidationError

from addons.crm_service.models import KbArticle
from core import permissions
from core.admin import ModelView
from core.db import db

INSERTABLE_LIMIT = 10
TERM_LIMIT = 5          # words of a search that count; more only cost time
BULLET = re.compile(r"^\s*[-*•]\s+")
# The visitor's language (the locale) -> the articles' language column.
ARTICLE_LANGUAGE = {"zh_Hans_CN": "Chinese", "en": "English"}


# -- search and display, shared by the screens and the public page ------------------------------

def matching(text):
    """Articles whose title, keywords or body contain every word of ``text`` (a
    substring, so "退款" is found inside a sentence; % and _ match only themselves)."""
    terms = text.split()[:TERM_LIMIT]
    return and_(true(), *(or_(KbArticle.title.icontains(term, autoescape=True),
                              KbArticle.keywords.icontains(term, autoescape=True),
                              KbArticle.body.icontains(term, autoescape=True))
                          for term in terms))


def best_first(text):
    """Order: the first word in the title, then in the keywords, then the newest."""
    terms = text.split()
    rank = case((KbArticle.title.icontains(terms[0], autoescape=True), 0),
                (KbArticle.keywords.icontains(terms[0], autoescape=True), 1),
                else_=2) if terms else None
    return [order for order in (rank, KbArticle.updated_at.desc(), KbArticle.id.desc())
            if order is not None]


def render_body(text):
    """An article's plain text as safe HTML: paragraphs, line breaks, "- " lists."""
    blocks = re.split(r"\n\s*\n", (text or "").replace("\r\n", "\n").strip())
    return Markup("").join(_block(block) for block in blocks if block.strip())


def _block(block):
    lines = block.split("\n")
    if all(BULLET.match(line) for line in lines):
        return Markup("<ul>{}</ul>").format(Markup("").join(
            Markup("<li>{}</li>").format(BULLET.sub("", line)) for line in lines))
    return Markup("<p>{}</p>").format(Markup("<br>").join(escape(line) for line in lines))


def no_folder_loop(form, field):
    """A folder may not sit inside itself, nor inside one of its own sub-folders."""
    edited = request.args.get("id", type=int)
    parent = field.data
    seen = set()
    while parent is not None and edited is not None and parent.id not in seen:
        if parent.id == edited:
            raise ValidationError(_("A folder cannot be inside itself or its sub-folders."))
        seen.add(parent.id)
        parent = parent.parent


# -- the screens ---------------------------------------------------------------------------------

class ArticleView(ModelView):
    column_list = ["title", "folder", "language", "visibility", "product", "views", "owner",
                   "updated_at"]
    column_sortable_list = ["title", ("folder", "folder.name"), "language", "visibility",
                            "views", "updated_at"]
    column_filters = ["language", "visibility", "folder.name", "product.name",
                      "owner.username", "updated_at"]
    column_searchable_list = ["title", "keywords", "body"]
    column_default_sort = ("updated_at", True)
    form_columns = ["title", "folder", "language", "visibility", "keywords", "product", "body",
                    "owner"]
    form_args = {"body": {"description": _l(
        "Plain text. A blank line starts a new paragraph; lines starting with “- ” make "
        "a list.")},
        "keywords": {"description": _l("Other words people search with, separated by spaces.")}}
    form_widget_args = {"body": {"rows": 14}}
    column_details_list = ["title", "folder", "language", "visibility", "keywords", "product",
                           "owner", "views", "created_at", "updated_at", "body"]
    details_sections = [
        (None, ["title", "folder", "language", "visibility", "keywords", "product", "owner",
                "views", "created_at", "updated_at"]),
        (_l("Answer"), ["body"]),
    ]
    column_formatters_detail = {
        "body": lambda view, context, article, name: Markup(
            '<div class="crm-kb-body">{}</div>').format(render_body(article.body)),
    }

    def detail_buttons(self, record):
        """A public article: the page customers see it on."""
        if record.visibility != "public":
            return []
        return [{"label": _("Self-service page"), "icon": "fa-globe",
                 "style": "btn-outline-secondary",
                 "url": url_for("crm_service_public.article", article_id=record.id)}]

    def _apply_search(self, query, count_query, joins, count_joins, search):
        # The same search as the self-service page and the reply form's look-up.
        condition = self.with_custom_search(matching(search), search)
        return (query.filter(condition), count_query.filter(condition)
                if count_query is not None else None, joins, count_joins)

    @expose("/insertable/")
    def insertable(self):
        """Published articles (internal and public) the user may read that match
        ?q=, best first, for the ticket reply form to insert: {"articles": [{id, title,
        text}]}. Drafts are left out: they are not answers yet."""
        text = request.args.get("q", "").strip()[:200]
        query = permissions.apply_rules(
            select(KbArticle).where(KbArticle.visibility.in_(("internal", "public"))),
            KbArticle)
        if text:
            query = query.where(matching(text))
        articles = db.session.scalars(
            query.order_by(*best_first(text)).limit(INSERTABLE_LIMIT)).all()
        return jsonify(articles=[{"id": article.id, "title": article.title,
                                  "text": article.body} for article in articles])


class FolderView(ModelView):
    column_list = ["name", "parent", "sequence"]
    column_sortable_list = ["name", ("parent", "parent.name"), "sequence"]
    column_default_sort = "sequence"
    column_searchable_list = ["name"]
    column_filters = ["name", "parent.name"]
    form_columns = ["name", "parent", "sequence"]
    form_args = {"parent": {"validators": [no_folder_loop]}}


def public_articles(text="", language=None, limit=50):
    """Public articles matching ``text`` (all when empty), those in ``language`` (the
    column's value, "Chinese" or "English") first, then the best and newest."""
    query = select(KbArticle).where(KbArticle.visibility == "public")
    if text:
        query = query.where(matching(text))
    order = [case((KbArticle.language == language, 0), else_=1)] if language else []
    return db.session.scalars(query.order_by(*order, *best_first(text)).limit(limit)).all()


def public_article(article_id):
    """A public article, counted as read once more; None when there is none."""
    article = db.session.scalar(select(KbArticle).where(
        KbArticle.id == article_id, KbArticle.visibility == "public"))
    if article is not None:
        # One statement, so reads at the same moment all count (no read-modify-write).
        db.session.execute(db.update(KbArticle).where(KbArticle.id == article.id)
                           # updated_at as it was: a read is no change of the answer
                           .values(views=KbArticle.views + 1, updated_at=KbArticle.updated_at)
                           .execution_options(synchronize_session=False))
        db.session.commit()
    return article

