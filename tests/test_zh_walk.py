"""Chinese is complete and no internal name reaches a page: with every addon of the suite
enabled and its demo data, the administrator (language zh_Hans_CN) opens every screen
(list, create, details and edit of the first record, merge of the first two) and every
other page of the admin (settings, permissions, reassignment, import, account...). A
page fails when what a reader sees of it (its text without scripts and styles; the
placeholders, tooltips and button captions among its attributes; the filter names
Flask-Admin's scripts show) holds

- an English word of three letters or more that is not a value stored in the database
  (the demo's customer names, emails, codes, units: what people typed may be Latin),
  not an acronym (PDF, CNY) and not in code (a command to type);
- a text of the catalogs left in English (its msgid, where a translation exists);
- a model's class name (SalesOrder) or a column's name (owner_id).

Screens, models, columns and pages are found at run time, so a new addon is walked
with no edit here."""
import io
import json
import re
from html.parser import HTMLParser

import pytest
from babel.messages.pofile import read_po
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.admin import ModelView
from core.db import db
from core.i18n import LANGUAGES, model_class
from core.registry import Registry
from tests.conftest import ADMIN_PASSWORD, ROOT, make_suite
from tests.test_escaping_walk import models_in, text_columns

LANGUAGE = "zh_Hans_CN"
WORD = re.compile(r"[A-Za-z][A-Za-z'’]*[A-Za-z]|[A-Za-z]")
# Latin that belongs in a Chinese page: acronyms (PDF, CNY, STARTTLS) and the names of
# the languages, each written in its own.
ACRONYM = re.compile(r"^[A-Z]{2,8}$")
FILE_TYPE = re.compile(r"(?<=\.)(csv|xlsx|pdf)\b")   # ".csv or .xlsx files"
LINK = re.compile(r"\bhttps?://\S+")                  # an address to copy
SKIPPED_TAGS = {"script", "style", "template", "noscript"}
# Text written as code: a command to type, shown as it is (names are still checked).
LITERAL_TAGS = {"code", "kbd", "samp"}
# Code marked data-interface: a name a program uses (a field of the REST API, its JSON
# type), which is what it is in every language: not checked at all.
INTERFACE_ATTRIBUTE = "data-interface"
SHOWN_ATTRIBUTES = ("placeholder", "data-placeholder", "title", "alt")
SKIPPED_ENDPOINTS = {"static", "admin.static", "root"}


def filter_texts(groups):
    """What the list's filter menu shows of Flask-Admin's filter data: the name of each
    filter, its operations and the labels of its options."""
    for name, filters in groups.items():
        yield name
        for entry in filters:
            yield entry["operation"]
            for _value, text in entry.get("options") or []:
                yield text


# Data that Flask-Admin's scripts turn into text people read, in hidden elements (by id).
JSON_DATA = {
    "filter-groups-data": filter_texts,
    "actions-confirmation-data": lambda confirmations: confirmations.values(),
}


class VisibleText(HTMLParser):
    """The texts of a page as a reader sees them, each with whether it is code: its text
    nodes and the attribute values people read."""

    def __init__(self, depth=0):
        super().__init__(convert_charrefs=True)
        self.depth = depth
        self.nodes = []
        self._skipping = 0
        self._literal = 0
        self._interface = 0
        self._data = None   # the reader of the JSON data element being read

    def handle_starttag(self, tag, attrs):
        if tag in SKIPPED_TAGS:
            self._skipping += 1
        attributes = dict(attrs)
        if tag in LITERAL_TAGS:
            self._literal += 1
            self._interface += INTERFACE_ATTRIBUTE in attributes
        self._data = JSON_DATA.get(attributes.get("id"))
        if not self._skipping:
            # Attribute values people read: placeholders, tooltips, button captions.
            shown = [attributes.get(name) for name in SHOWN_ATTRIBUTES]
            if tag == "input" and attributes.get("type") in ("submit", "button", "reset"):
                shown.append(attributes.get("value"))
            self.nodes += [(" ".join(text.split()), False) for text in shown
                           if text and text.strip()]

    def handle_endtag(self, tag):
        if tag in SKIPPED_TAGS and self._skipping:
            self._skipping -= 1
        if tag in LITERAL_TAGS and self._literal:
            self._literal -= 1
            self._interface = min(self._interface, self._literal)
        self._data = None

    def handle_data(self, data):
        if self._skipping or self._interface or not data.strip():
            return
        if data.lstrip().startswith("<") and self.depth < 3 and not self._data:
            # A form's template for new lines, kept as text (within another's, twice).
            self.nodes += visible_text(data, self.depth + 1)
            return
        texts = self._data(json.loads(data)) if self._data else [data]
        self.nodes += [(" ".join(str(text).split()), bool(self._literal)) for text in texts]


def visible_text(html, depth=0):
    parser = VisibleText(depth)
    parser.feed(html)
    parser.close()
    return parser.nodes


def catalog_texts():
    """{English msgid: its translation} of every catalog of the suite."""
    texts = {}
    for path in [ROOT / "core"] + sorted((ROOT / "addons").glob("*")):
        po = path / "translations" / LANGUAGE / "LC_MESSAGES" / "messages.po"
        if not po.is_file():
            continue
        with open(po, "rb") as handle:
            for message in read_po(handle):
                if message.id and isinstance(message.id, str) and message.string \
                        and not message.fuzzy and message.string != message.id:
                    texts[message.id] = message.string
    # The language switcher names each language in itself ("English" on a Chinese page
    # too), even where the same word is also a value shown translated elsewhere.
    for name in LANGUAGES.values():
        texts.pop(name, None)
    return texts


def stored_words(session, translated):
    """The words of every text people stored (names, emails, codes, units): Latin
    that may show. A stored value that has a translation (a default stage's name) must
    show translated, so its words are not among them."""
    words = set()
    for model in models_in(session):
        for column in text_columns(model):
            for value in session.scalars(select(column).distinct()):
                if value and value not in translated:
                    words.update(WORD.findall(str(value)))
    return words


def internal_names(session):
    """The class names of the models and the names of the columns with a "_"."""
    classes, columns = set(), set()
    for mapper in db.Model.registry.mappers:
        classes.add(mapper.class_.__name__)
        columns.update(key for key in mapper.columns.keys() if "_" in key)
        columns.update(key for key in mapper.relationships.keys() if "_" in key)
    return classes, columns


@pytest.fixture(scope="module")
def zh_site(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("zh")
    paths = [ROOT / "addons"]
    names = [name for name, addon in Registry(paths).addons.items() if addon.installable]
    suite = make_suite(tmp_path, f"sqlite:///{tmp_path / 'crm.db'}", addon_paths=paths,
                       enabled=names, demo=True)
    suite.sql("UPDATE core_user SET language = :language WHERE username = 'admin'",
              language=LANGUAGE)
    dispatcher = suite.dispatcher()
    app = dispatcher.app
    assert app.extensions["crm"].enabled == names
    client = suite.client(dispatcher)
    client.login("admin", ADMIN_PASSWORD)
    translated = catalog_texts()
    with app.app_context():
        engine = db.engine
    with Session(engine) as session:
        stored = stored_words(session, translated)
        classes, columns = internal_names(session)
    stored |= {word for name in LANGUAGES.values() for word in WORD.findall(name)}
    stored = (stored, {word.lower() for word in stored})   # as written, and any case
    yield app, client, translated, stored, classes, columns
    suite.close()


def first_ids(app, model, count):
    with app.app_context():
        return db.session.scalars(select(model.id).order_by(model.id).limit(count)).all()


def screen_urls(app, view):
    """A screen's list, its create form, its first record's details and edit form, and
    the merge of its first two records where it merges."""
    urls = [f"{view.url}/"]
    if view.allow_create:
        urls.append(f"{view.url}/new/")
    records = first_ids(app, view.model, 2)
    record = records[0] if records else None
    if view.allow_merge and len(records) == 2:
        urls.append(f"{view.url}/merge/?ids={records[0]},{records[1]}")
    if record is not None:
        if view.can_view_details:
            urls.append(f"{view.url}/details/?id={record}")
        if view.allow_edit:
            urls.append(f"{view.url}/edit/?id={record}")
    return urls


def page_urls(app):
    """Every other page of the admin: its GET routes without arguments."""
    urls = []
    for rule in app.url_map.iter_rules():
        if "GET" in rule.methods and not rule.arguments and rule.rule.startswith("/admin/") \
                and rule.endpoint not in SKIPPED_ENDPOINTS and "/ajax/" not in rule.rule \
                and "/export/" not in rule.rule:
            urls.append(rule.rule)
    return urls


def problems_of(url, nodes, translated, stored, classes, columns):
    """What is wrong with a page's texts. A word stored in the database (a demo
    customer's name, "Contact us") may show; a label left English that happens to be
    stored as well is still caught whole, as an untranslated text of the catalogs."""
    stored, allowed = stored
    found = []
    for node, literal in nodes:
        if node in translated and not literal:
            found.append(f"{url}: untranslated {node!r}")
            continue
        for word in WORD.findall(FILE_TYPE.sub("", LINK.sub("", node))):
            if word in classes and word not in stored:
                found.append(f"{url}: model name {word!r} in {node!r}")
            elif len(word) >= 3 and word.lower() not in allowed and not ACRONYM.match(word) \
                    and not literal:
                found.append(f"{url}: English {word!r} in {node!r}")
        for name in columns:
            if re.search(rf"(?<![\w.]){re.escape(name)}(?!\w)", node):
                found.append(f"{url}: column name {name!r} in {node!r}")
    return found


def test_every_page_reads_in_chinese(zh_site):
    app, client, translated, stored, classes, columns = zh_site
    views = [view for view in app.extensions["admin"][0]._views if isinstance(view, ModelView)]
    urls = [url for view in views for url in screen_urls(app, view)] + page_urls(app)
    urls = list(dict.fromkeys(urls))
    assert len(urls) > 60
    problems = []
    for url in urls:
        response = client.get(url)
        if response.status_code >= 500:
            problems.append(f"{url}: {response.status_code}")
        # A redirect (a page that leads elsewhere, such as a merge without records) or
        # a refusal (a page this screen does not offer) has nothing to read.
        if response.status_code != 200 or response.mimetype != "text/html":
            continue
        problems += problems_of(url, visible_text(response.get_data(as_text=True)),
                                translated, stored, classes, columns)
    problems = list(dict.fromkeys(problems))
    assert not problems, f"{len(problems)} problems on {len(urls)} pages:\n" + "\n".join(problems)


def page_text(client, url, **kwargs):
    response = client.post(url, **kwargs) if kwargs else client.get(url)
    assert response.status_code == 200, f"{url}: {response.status_code}"
    return " ".join(text for text, _literal in visible_text(response.get_data(as_text=True)))


def test_the_defects_seen_read_right_now(zh_site):
    """What was reported, each where it was seen (the screens of the suite's addons)."""
    app, client, _translated, _stored, _classes, _columns = zh_site
    # An empty pick-list invites a choice, not "Please select model" (请选择模型).
    form = client.get("/admin/contact/new/").get_data(as_text=True)
    assert 'data-placeholder="请选择…"' in form and "请选择模型" not in form
    # Quantities delivered and returned are headed as quantities, not as a state or money.
    with app.app_context():
        order = db.session.scalar(select(model_class("SalesOrder").id).limit(1))
    delivery = page_text(client, f"/admin/delivery/new/?order={order}")
    assert "已发货" in delivery and "已退货" in delivery and "发货状态" not in delivery
    assert "发货状态" in page_text(client, "/admin/sales-order/")
    # Models by their names on the permissions grid and the reassignment page.
    assert "销售订单" in page_text(client, "/admin/permissions/")
    assert "客户退货" in page_text(client, "/admin/reassign/")
    # An import's problem names the field as the file does (its label) and says what is
    # wrong in words: no model or column name ("no single User with username nobody").
    token = client.csrf_token("/admin/customer/import/")
    content = "名称,负责人\nAcme,nobody\n".encode()
    upload = client.post("/admin/customer/import/", data={
        "csrf_token": token, "file": (io.BytesIO(content), "c.csv")},
        content_type="multipart/form-data").get_data(as_text=True)
    fields = dict(re.findall(r'name="(token|map:\d+)" value="([^"]*)"', upload))
    for select_name, options in re.findall(r'<select name="(map:\d+)"(.*?)</select>', upload,
                                           re.S):
        chosen = re.search(r'<option value="([^"]*)" selected', options)
        fields[select_name] = chosen.group(1) if chosen else ""
    checked = page_text(client, "/admin/customer/import/", data=dict(
        fields, step="check", csrf_token=token))
    problem = re.search(r"问题 (.*)", checked).group(1)
    assert "负责人" in problem and "nobody" in problem, checked
    assert not re.search(r"\b(User|username|owner)\b", checked), checked
