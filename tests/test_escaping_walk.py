"""Stored text is shown as text on every page: with every addon enabled and its demo
data, markup is written into every text column people fill (names of stages, groups,
teams, customers, tags, user names...), then every screen and page is opened as an
administrator and as a salesperson. No page may carry that markup unescaped, and none
may fail. Models, columns, screens and routes are found at run time, so a new addon is
walked with no edit here."""
import re

import pytest
from sqlalchemy import (
    Enum,
    String,
    Text,
    func,
    inspect,
    select,
    update,
)
from sqlalchemy.orm import Session

from core import company
from core.admin import ModelView, _is_hidden
from core.audit import BOOKKEEPING
from core.db import db
from core.models import OwnedMixin, Option, User
from core.registry import Registry
from tests.conftest import ADMIN_PASSWORD, FIXTURE_ADDONS, ROOT, make_suite
from tests.core.test_permission_matrix import make_record

PASSWORD = "walk password 1"
# What a hostile user types: markup (the tag says which column it came from), and
# %-placeholders, which a string formatted by gettext would choke on.
HOSTILE = '<b data-x="xss">{tag}</b><img src=x onerror=alert(1)>%s%(x)s'
MARKERS = ('<b data-x="xss">', "<img src=x")
# How a tag shows once escaped: which columns reached some page.
SHOWN = re.compile(r"(?:&lt;b data-x=&#34;xss&#34;&gt;|&lt;img src=x)H(\d+)_")
# Core columns that hold names the program reads (codes, states, model names, JSON,
# links it made), not text people write. Every other text column gets the markup.
MACHINE = {
    "AddonState.installed_version", "Group.code", "User.language", "Access.model",
    "Access.letters", "Access.scope", "AuditEntry.model", "AuditEntry.action",
    "AuditEntry.changes", "JobState.last_status", "Message.channel", "Message.status",
    "Message.related_model", "MessageAttachment.content_type", "Notification.link",
    "Notification.key", "Option.addon", "Option.key", "Option.value",
    "SavedFilter.endpoint", "SavedFilter.query",
    # Workflows and approvals: names of models, fields and choices, and JSON.
    "TransitionRight.model", "TransitionRight.transition", "TransitionRight.groups",
    "ApprovalPolicy.model", "ApprovalPolicy.fields", "ApprovalPolicy.addon",
    "ApprovalPolicy.key", "ApprovalCondition.field", "ApprovalCondition.operator",
    "ApprovalStep.approver", "ApprovalStep.rule", "ApprovalRequest.model",
    "ApprovalRequest.state", "ApprovalRequest.steps", "ApprovalRequest.snapshot",
    "ApprovalDecision.decision", "ApprovalDecision.via", "ApprovalLink.id",
}
# Pages whose query arguments show other data than the plain URL (by endpoint; an
# endpoint that is not there, its addon missing, is skipped).
EXTRA_QUERIES = {
    "search.index": ["q=H", "q=xss"],
    "calendar.index_view": ["view=week", "view=month&who=team"],
    "sales_dashboard.index_view": ["period=quarter", "period=year"],
    "pipeline.index_view": ["q=H"],
    "pipeline.grouped_view": ["group=stage", "group=owner", "group=month"],
    "opportunity.grouped_view": ["group=stage", "group=owner", "group=month"],
}
SKIPPED_ENDPOINTS = {"static", "admin.static", "root"}


# -- the installation ------------------------------------------------------------------

def text_columns(model):
    """The columns of ``model`` that hold text people write."""
    return [column for column in inspect(model).columns
            if isinstance(column.type, (String, Text)) and not isinstance(column.type, Enum)
            and not column.primary_key and not column.foreign_keys and not _is_hidden(column)
            and column.key not in BOOKKEEPING
            and f"{model.__name__}.{column.key}" not in MACHINE]


def hostile(number, row, length):
    """The markup for column ``number`` of row ``row``, cut to the column's length;
    None when the column is too short to hold any markup."""
    tag = f"H{number}_{row}"
    for text in (HOSTILE.format(tag=tag), MARKERS[0] + tag, MARKERS[1] + tag):
        if length is None or len(text) <= length:
            return text
    return None


def models_in(session):
    """Every mapped model whose table this database has (the core's and the enabled
    addons'), by name."""
    tables = set(inspect(session.connection()).get_table_names())
    return sorted((m.class_ for m in db.Model.registry.mappers if m.local_table.name in tables),
                  key=lambda model: model.__name__)


def link_first_rows(session, model):
    """A link the demo leaves empty everywhere (a stage's group) is set on the first
    row, so that the pages showing the related record's name are walked too."""
    first = session.scalar(select(func.min(model.id))) if "id" in model.__table__.c else None
    for column in model.__table__.columns:
        target = next(iter(column.foreign_keys)).column.table if column.foreign_keys else None
        if first is None or target is None or target is model.__table__ or not column.nullable \
                or column.key in BOOKKEEPING or session.scalar(
                    select(func.count()).where(column.is_not(None))):
            continue
        related = session.scalar(select(func.min(next(iter(target.primary_key)))))
        if related is not None:
            session.execute(update(model).where(model.id == first).values({column.key: related}))


def write_markup(session, model, columns):
    """The markup in every text column of every row of ``model``; ``columns`` gets the
    name of each column that holds it."""
    keys = inspect(model).primary_key
    rows = session.execute(select(*keys)).all()
    for column in text_columns(model):
        length = column.type.length if isinstance(column.type, String) else None
        if hostile(0, 0, length) is None:
            continue   # too short for any markup (a currency code)
        number = len(columns)
        columns.append(f"{model.__name__}.{column.key}")
        for row, key in enumerate(rows):
            session.execute(update(model).where(*(k == v for k, v in zip(keys, key))).values(
                {column.key: hostile(number, row, length)}))


def fill(session, salesperson_id):
    """One record at least of every model with text columns; the salesperson owns every
    owned record (so both users see them); links empty everywhere set on a first row;
    the markup in every text column of every row. Returns the tagged columns and the
    models left empty."""
    empty = []
    for model in models_in(session):
        if text_columns(model) and not session.scalar(select(func.count()).select_from(model)):
            try:
                with session.begin_nested():
                    make_record(session, model, salesperson_id)
            except Exception as exc:   # noqa: BLE001  (reported, and checked for screens)
                empty.append(f"{model.__name__}: {exc.__class__.__name__}")
    columns = []
    for model in models_in(session):
        if issubclass(model, OwnedMixin):
            session.execute(update(model).values(owner_id=salesperson_id))
        link_first_rows(session, model)
        write_markup(session, model, columns)
    return columns, empty


def fill_options(session, app, columns):
    """Settings people type text into: the company's details and the enabled addons'
    text settings (the others are numbers and switches, checked when saved)."""
    state = app.extensions["crm"]
    wanted = [(company.OPTION_ADDON, key) for key in company.FIELDS] + [
        (name, key) for name in state.enabled
        for key, spec in state.registry.addons[name].manifest["settings"].items()
        if spec["type"] == "text"]
    for addon, key in wanted:
        session.add(Option(addon=addon, key=key, value=hostile(len(columns), 0, None)))
        columns.append(f"setting {addon}.{key}")


@pytest.fixture
def hostile_suite(tmp_path, database_url):
    paths = [ROOT / "addons", FIXTURE_ADDONS]
    names = [name for name, addon in Registry(paths).addons.items() if addon.installable]
    suite = make_suite(tmp_path, database_url, addon_paths=paths, enabled=names, demo=True)
    dispatcher = suite.dispatcher()
    app = dispatcher.app
    assert app.extensions["crm"].enabled == names
    codes = [code for (code,) in suite.sql("SELECT code FROM core_group") if code.endswith("_user")]
    assert suite.run("create-user", "--username", "walk_sales", "--password", PASSWORD,
                     "--groups", ",".join(codes)).exit_code == 0
    # Signed in before the user names change: the session holds whatever they become.
    clients = {"admin": suite.client(dispatcher), "salesperson": suite.client(dispatcher)}
    clients["admin"].login("admin", ADMIN_PASSWORD)
    clients["salesperson"].login("walk_sales", PASSWORD)
    with app.app_context():
        engine = db.engine
    with Session(engine) as session:
        salesperson = session.scalar(select(User.id).where(User.username == "walk_sales"))
        columns, empty = fill(session, salesperson)
        fill_options(session, app, columns)
        session.commit()
    yield app, clients, columns, empty
    suite.close()


# -- the pages ---------------------------------------------------------------------------

def first_id(app, model):
    with app.app_context():
        return db.session.scalar(select(func.min(model.id)))


def screen_urls(app, view):
    """A screen's list (also searched), the details and edit form of its first record,
    its create form (also with each related record given, as links from other pages
    do), and the look-ups of its related records."""
    url, record = view.url, first_id(app, view.model)
    urls = [f"{url}/", f"{url}/?search=H", f"{url}/new/"]
    if record is not None:
        urls += [f"{url}/details/?id={record}", f"{url}/edit/?id={record}"]
    related = [(r.key, first_id(app, r.mapper.class_))
               for r in inspect(view.model).relationships if r.direction.name == "MANYTOONE"
               and "id" in r.mapper.columns]
    given = "&".join(f"{key}={value}" for key, value in related if value is not None)
    if given:
        urls.append(f"{url}/new/?{given}")
    urls += [f"{url}/ajax/lookup/?name={name}&query=" for name in view._form_ajax_refs or {}]
    return urls


def route_urls(app, views):
    """Every GET route with no arguments (or only an id): the pages outside the
    generated screens, and a screen's own pages, with its first record's id."""
    by_endpoint = {view.endpoint: view for view in views}
    urls = []
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.endpoint in SKIPPED_ENDPOINTS \
                or set(rule.arguments) - {"id"}:
            continue
        view = by_endpoint.get(rule.endpoint.split(".")[0])
        record = first_id(app, view.model) if view is not None else None
        if "id" in rule.arguments:
            if record is not None:
                urls.append(rule.rule.replace("<int:id>", str(record)).replace("<id>", str(record)))
            continue
        urls.append(rule.rule)
        if record is not None:
            urls.append(f"{rule.rule}?id={record}")
        urls += [f"{rule.rule}?{query}" for query in EXTRA_QUERIES.get(rule.endpoint, [])]
    return urls


def text_of(response):
    """The body of a page or of JSON; "" for a PDF, a spreadsheet, a download."""
    textual = response.mimetype.startswith("text/") or response.mimetype == "application/json"
    return response.get_data(as_text=True) if textual else ""


def problems_of(who, url, response):
    if response.status_code >= 500:
        return [f"{who} {url}: {response.status_code}"]
    body = text_of(response)
    found = []
    for marker in MARKERS:
        at = body.find(marker)
        if at >= 0:
            found.append(f"{who} {url}: unescaped {body[max(0, at - 80):at + 40]!r}")
    return found


def test_stored_markup_is_shown_as_text_on_every_page(hostile_suite):
    app, clients, columns, empty = hostile_suite
    views = [view for view in app.extensions["admin"][0]._views if isinstance(view, ModelView)]
    screened = {view.model.__name__ for view in views}
    assert not [note for note in empty if note.split(":")[0] in screened], empty
    urls = [url for view in views for url in screen_urls(app, view)] + route_urls(app, views)
    urls = list(dict.fromkeys(urls))
    assert len(urls) > 100
    problems, shown = [], set()
    for who, client in clients.items():
        for url in urls:
            response = client.get(url)
            problems += problems_of(who, url, response)
            shown.update(int(n) for n in SHOWN.findall(text_of(response)))
    unseen = [name for number, name in enumerate(columns) if number not in shown]
    print(f"{len(urls)} URLs, {len(columns)} text columns; not shown on any page: "
          f"{', '.join(unseen) or 'none'}; models left empty: {', '.join(empty) or 'none'}")
    assert not problems, "\n".join(problems)
