"""Every registered screen of every enabled addon, for every group: allowed what the
group's access letters allow, refused (403, or the login page for visitors) the rest,
and a refused request changes nothing. Screens and groups are found at run time, so a
new addon's screens are covered with no edit here. Of the groups with the same rights on
a screen's model, one is tried there (groups_per_case)."""
import datetime
import decimal
import io
import re
import uuid

import pytest
from flask import url_for
from openapi_spec_validator import validate
from sqlalchemy import (
    Boolean,
    create_engine,
    Date,
    DateTime,
    Float,
    Enum,
    Integer,
    LargeBinary,
    Numeric,
    String,
    Text,
    func,
    select,
)
from sqlalchemy.orm import Session

from flask_login import login_user

from core import api
from core import record as record_page
from core import workflow
from core.admin import ModelView
from core.db import db
from core.models import ADMIN_GROUP, INTEGRATION_GROUP, Access, Group, OwnedMixin, User
from core.views import CoreModelView
from tests.conftest import FIXTURE_ADDONS, ROOT, make_suite

PASSWORD = "matrix password 1"


def enable_everything(suite):
    listing = suite.run("addons", "list").output
    for line in listing.splitlines():
        name, _, state = line.partition("\t")
        if state.startswith("disabled"):
            assert suite.run("addons", "enable", name).exit_code == 0


def every_addon_and_a_user_per_group(suite):
    enable_everything(suite)
    codes = group_codes(suite)
    for code in codes + ["nogroup"]:
        groups = [] if code == "nogroup" else ["--groups", code]
        assert suite.run("create-user", "--username", f"u_{code}", "--password", PASSWORD,
                         *groups).exit_code == 0


def group_codes(suite):
    """Every group's code, but the integration group's: its members never sign in (its
    own test: tests/addons/test_api.py), and what they may do is their other groups'."""
    engine = create_engine(suite.database_url)
    try:
        with engine.connect() as connection:
            return connection.scalars(select(Group.code).where(
                Group.code != INTEGRATION_GROUP).order_by(Group.code)).all()
    finally:
        engine.dispose()


@pytest.fixture
def matrix(tmp_path, database_url):
    suite = make_suite(tmp_path, database_url, addon_paths=[ROOT / "addons", FIXTURE_ADDONS],
                       prepare=every_addon_and_a_user_per_group)
    yield suite, suite.dispatcher(), group_codes(suite)
    suite.close()


def screens(app):
    admin = app.extensions["admin"][0]
    return [view for view in admin._views if isinstance(view, ModelView)]


def letters_of(app, code, view):
    """What the group may do on the screen, per the database (as edited by admins)."""
    if code == ADMIN_GROUP:
        return "rwcdx"
    if code in ("anonymous", "nogroup") or isinstance(view, CoreModelView):
        return ""
    with app.app_context():
        return db.session.scalar(select(Access.letters).join(Group).where(
            Group.code == code, Access.model == view.permission_model)) or ""


def rights_on(app, code, model_name):
    """(letters, scope) of the group on a model, per the database."""
    with app.app_context():
        row = db.session.execute(select(Access.letters, Access.scope).join(Group).where(
            Group.code == code, Access.model == model_name)).first()
    return tuple(row) if row else ("", "")


def groups_per_case(app, codes, cases, key):
    """{group: [case, ...]}: for each case (a screen, a transition), one group of each
    different ``key(code, case)``, the rights that decide the outcome there. Groups with
    the same rights on a model meet the same checks, so trying one of them is enough; which
    one turns with the case, so that every group is tried somewhere."""
    plan = {code: [] for code in codes}
    for index, case in enumerate(cases):
        alike = {}
        for code in codes:
            alike.setdefault(key(code, case), []).append(code)
        for members in alike.values():
            plan[members[index % len(members)]].append(case)
    return plan


def model_for_table(table):
    return next(m.class_ for m in db.Model.registry.mappers if m.local_table is table)


def made_up(column):
    """A value for a required column of a record made where the demo made none."""
    kind = column.type
    if isinstance(kind, Enum):
        return kind.enums[0]
    if isinstance(kind, (String, Text)):
        return ("m" + uuid.uuid4().hex)[:min(getattr(kind, "length", None) or 32, 32)]
    if isinstance(kind, LargeBinary):
        return b"x"
    if isinstance(kind, Boolean):
        return False
    if isinstance(kind, Float):
        return 1.0
    if isinstance(kind, Numeric):
        return decimal.Decimal(1)
    if isinstance(kind, Integer):
        return 1
    if isinstance(kind, DateTime):
        return datetime.datetime.now()
    if isinstance(kind, Date):
        return datetime.date.today()
    raise AssertionError(f"no made-up value for {column}")


# Optional columns that a record shown on its model's screen has all the same: a library
# document is in a folder (a file attached to a record names the record instead).
ALSO_FILLED = {("crm_document", "folder_id")}


def make_record(session, model, owner_id):
    """A record of any model, with made-up values for its required columns."""
    values = {}
    for column in model.__table__.columns:
        if (column.nullable and (model.__tablename__, column.key) not in ALSO_FILLED) \
                or column.default is not None or column.server_default is not None \
                or (column.primary_key and isinstance(column.type, Integer)):
            continue
        if column.foreign_keys:
            target = model_for_table(next(iter(column.foreign_keys)).column.table)
            values[column.key] = owner_id if target is User else \
                make_record(session, target, owner_id).id
        else:
            values[column.key] = made_up(column)
    record = model(**values)
    if isinstance(record, OwnedMixin):
        record.owner_id = owner_id
    session.add(record)
    session.flush()
    return record


def fresh_record(app, model, username):
    with app.app_context():
        engine = db.engine
    with Session(engine) as session:
        owner = session.scalar(select(User.id).where(User.username == username))
        record = make_record(session, model, owner)
        session.commit()
        return record.id


def count(app, model):
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


def outcome(response):
    if response.status_code == 302 and response.headers["Location"].startswith("/login"):
        return "login"
    if response.status_code == 403:
        return "denied"
    assert response.status_code in (200, 302), response.status_code
    return "ok"


def check_screen(client, app, view, who, letters, problems):
    url = view.url
    username = "u_nogroup" if who == "anonymous" else f"u_{who}"
    refused = "login" if who == "anonymous" else "denied"

    def expect(name, response, needed):
        want = "ok" if all(letter in letters for letter in "r" + needed) else refused
        got = outcome(response)
        if got != want:
            problems.append(f"{who} {name} {url}: {got}, expected {want}")
        return got == "ok"

    # A real token, so that what refuses a request is the permission check, not CSRF.
    token = client.csrf_token("/login" if who == "anonymous" else "/admin/")
    record_id = fresh_record(app, view.model, username)
    expected = count(app, view.model)
    expect("list", client.get(f"{url}/"), "r")
    expect("detail", client.get(f"{url}/details/?id={record_id}"), "r")
    if view.allow_export:
        expect("export", client.get(f"{url}/export/csv/"), "x")
    elif outcome(client.get(f"{url}/export/csv/")) == "ok":
        problems.append(f"{who} export {url}: ok, but the screen offers no export")
    for name in (view._form_ajax_refs or {}):
        expect(f"lookup {name}", client.get(f"{url}/ajax/lookup/?name={name}&query="), "r")
    if view.allow_create and view.allow_import:
        expect("import form", client.get(f"{url}/import/"), "c")
    if view.allow_create:
        expect("create form", client.get(f"{url}/new/"), "c")
        response = client.post(f"{url}/new/", data={"csrf_token": token})
        if expect("create", response, "c") and response.status_code == 302:
            expected += 1   # a model whose fields are all optional: an empty form is valid
    if view.allow_edit:
        expect("edit form", client.get(f"{url}/edit/?id={record_id}"), "w")
        expect("edit", client.post(f"{url}/edit/?id={record_id}", data={"csrf_token": token}),
               "w")
    if view.allow_delete:
        if expect("delete", client.post(f"{url}/delete/", data={
                "id": record_id, "csrf_token": token}), "d"):
            expected -= 1
        other = fresh_record(app, view.model, username)
        expected += 1
        if expect("bulk delete", client.post(f"{url}/action/", data={
                "action": "delete", "rowid": other, "csrf_token": token}), "d"):
            expected -= 1
    if count(app, view.model) != expected:
        problems.append(f"{who} {url}: {count(app, view.model)} rows, expected {expected}")


@pytest.mark.parametrize("who", ["anonymous", "nogroup", ADMIN_GROUP, "each group"])
def test_every_screen_for_every_group(matrix, who):
    suite, dispatcher, codes = matrix
    app = dispatcher.app
    if who == "each group":
        plan = groups_per_case(app, [c for c in codes if c != ADMIN_GROUP], screens(app),
                               lambda code, view: rights_on(app, code, view.permission_model))
    else:
        plan = {who: screens(app)}
    problems = []
    checked = 0
    for code, views in plan.items():
        client = suite.client(dispatcher)
        if code != "anonymous":
            client.login(f"u_{code}", PASSWORD)
        for view in views:
            check_screen(client, app, view, code, letters_of(app, code, view), problems)
            # Every request gives its connection back (a streamed export once kept it
            # until the garbage collector ran, and a long run emptied the pool).
            if dispatcher._engine.pool.checkedout():
                problems.append(f"{code} {view.url}: a database connection kept after "
                                "the requests ended")
            checked += 1
    assert checked >= len(screens(app)) >= 8   # the fixture addons' 4 and the core's 4
    assert not problems, "\n".join(problems)


# -- the REST API: every screen's records, as each group may read them ------------------

def api_key(client):
    """A token made on the user's account page, naming no model (all they may read),
    that may write (as far as the user may)."""
    client.post_form("/admin/account/tokens", {"name": "matrix", "days": "30",
                                               "access": "write"},
                     token_from="/admin/account/")
    page = client.get("/admin/account/").get_data(as_text=True)
    return re.search(r'value="(crm_[0-9a-f]{8}_[\w-]+)"', page).group(1)


# letter: (method, the screen's allow_<kind>, what answers when it may)
API_WRITES = {"c": ("POST", "create", {201, 409, 422}), "w": ("PATCH", "edit", {200, 409, 422}),
              "d": ("DELETE", "delete", {204, 409})}


def api_write_problems(client, headers, view, letters, code, record_id):
    """An empty POST, an empty PATCH and a DELETE (with the record's ETag) of a record
    made for the user: 403 without read access or the letter, 405 where the screen does
    not make that write from values, otherwise an answer, never a server error."""
    problems = []
    for letter, (method, kind, done) in API_WRITES.items():
        page = f"{kind}_view"
        makes = (getattr(view, f"allow_{kind}")
                 and getattr(type(view), page) is getattr(ModelView, page)
                 and (letter != "c" or view.allow_import))
        wanted = {403} if "r" not in letters else {405} if not makes \
            else {403} if letter not in letters else done
        path = f"/api/v1/{view.endpoint}" + ("" if letter == "c" else f"/{record_id}")
        version = {}
        if letter != "c" and "r" in letters:
            read = client.get(path, headers=headers)
            if read.status_code == 404:   # (a screen of some records only: see below)
                continue
            version = {"If-Match": read.headers["ETag"]}
        response = client.open(path, method=method, headers={**headers, **version},
                               data=None if letter == "d" else "{}",
                               content_type="application/json")
        if response.status_code not in wanted:
            problems.append(f"{code} {method} {path}: {response.status_code}, expected "
                            f"{sorted(wanted)}: {response.get_data(as_text=True)[:300]}")
    return problems


@pytest.mark.parametrize("who", ["nogroup", ADMIN_GROUP, "each group"])
def test_the_api_reads_every_screen_as_each_group_may(matrix, who, monkeypatch):
    """/api/v1/<screen>, and /api/v1/<screen>/<id> of the first record it lists (of a
    record made for the user, when it lists none): 200 with read access, 403 without, for
    every screen of every enabled addon (core.api reads through the screen, so its checks
    are the screen's). Then the writes, as api_write_problems expects them, and the
    group's OpenAPI document."""
    # One token walks every screen in seconds: more than a token's rate allows.
    monkeypatch.setattr(api, "REQUESTS_PER_MINUTE", 1_000_000)
    suite, dispatcher, codes = matrix
    app = dispatcher.app
    views = screens(app)
    if who == "each group":
        plan = groups_per_case(app, [c for c in codes if c != ADMIN_GROUP], views,
                               lambda code, view: rights_on(app, code, view.permission_model))
    else:
        plan = {who: views}
    problems = []
    for code, cases in plan.items():
        client = suite.client(dispatcher)
        client.login(f"u_{code}", PASSWORD)
        headers = {"Authorization": f"Bearer {api_key(client)}"}
        for view in cases:
            letters = letters_of(app, code, view)
            want = 200 if "r" in letters else 403
            record_id = made = fresh_record(app, view.model, f"u_{code}")
            listed = client.get(f"/api/v1/{view.endpoint}", headers=headers)
            rows = listed.get_json().get("data") if listed.status_code == 200 else None
            # A screen of some records only (complaints among tickets) may not list the
            # one made here: its address then says there is none.
            want_one = 404 if rows == [] else want
            record_id = rows[0]["id"] if rows else record_id
            one = client.get(f"/api/v1/{view.endpoint}/{record_id}", headers=headers)
            for response, url, wanted in ((listed, view.endpoint, want),
                                          (one, f"{view.endpoint}/{record_id}", want_one)):
                if response.status_code != wanted:
                    problems.append(f"{code} /api/v1/{url}: {response.status_code}, "
                                    f"expected {wanted}")
            problems += api_write_problems(client, headers, view, letters, code, made)
        # The OpenAPI document of what this group may do: valid, whatever the models.
        validate(client.get("/api/v1/openapi.json", headers=headers).get_json())
    assert not problems, "\n".join(problems)


# -- transitions: every declared workflow of every enabled addon, found at run time --------

def declared_transitions(app):
    """(screen, workflow, transition) of every transition a person could make, each on
    the first screen that shows its model's records."""
    with app.test_request_context():
        flows = workflow.declared()
    found = []
    for name, flow in sorted(flows.items()):
        screen = next((view for view in screens(app) if view.model.__name__ == name
                       and view.can_view_details is not False
                       and not isinstance(view, CoreModelView)), None)
        if screen is None:
            continue
        for transition in flow.transitions.values():
            # The others are made by their own pages (a quote's sending form), which
            # call the same engine; their addons' tests cover them.
            if transition.target != workflow.ANY and transition.button:
                found.append((screen, flow, transition))
    return found


def record_in_state(app, model, flow, transition, username):
    """A record of ``model`` owned by ``username`` in a state ``transition`` leaves."""
    record_id = fresh_record(app, model, username)
    if transition.sources != workflow.ANY and not flow.relation:
        with app.app_context():
            engine = db.engine
        with Session(engine) as session:   # outside the app: the workflow guard is not on
            record = session.get(model, record_id)
            setattr(record, flow.field, transition.sources[0])
            session.commit()
    return record_id


def state_of(app, model, flow, record_id):
    with app.app_context():
        return db.session.scalar(select(getattr(model, flow.field)).where(model.id == record_id))


def may_by_rights(app, code, screen, transition):
    """Independently of core.workflow: the group's letters, and the groups the
    transition declares (nothing is narrowed here)."""
    if transition.groups == ():
        return False
    letters = letters_of(app, code, screen)
    if "r" not in letters or "w" not in letters:
        return False
    return code == ADMIN_GROUP or transition.groups is None or code in transition.groups


def why_refused(app, model, record_id, transition, username):
    """What the engine says of the transition for the user (conditions, approvals)."""
    with app.test_request_context():
        user = db.session.scalar(select(User).where(User.username == username))
        record = db.session.get(model, record_id)
        return workflow.refusal(record, transition, user)


@pytest.mark.parametrize("path", ["button", "bulk", "api"])
def test_every_transition_for_every_group(matrix, path):
    """A transition the user may not make is refused on the record page's button, in
    bulk actions and through the API, and changes nothing; one they may make is made,
    unless its condition (or a pending approval) says why not."""
    suite, dispatcher, codes = matrix
    app = dispatcher.app
    transitions = declared_transitions(app)
    assert transitions, "no declared workflow: the matrix would check nothing"
    plan = groups_per_case(app, codes + ["nogroup"], transitions, lambda code, case: (
        rights_on(app, code, case[0].permission_model),
        may_by_rights(app, code, case[0], case[2])))
    problems = []
    for code, cases in plan.items():
        client = suite.client(dispatcher)
        username = f"u_{code}"
        client.login(username, PASSWORD)
        token = client.csrf_token("/admin/")
        headers = {"Authorization": f"Bearer {api_key(client)}"} if path == "api" else {}
        for screen, flow, transition in cases:
            model = screen.model
            record_id = record_in_state(app, model, flow, transition, username)
            before = state_of(app, model, flow, record_id)
            if path == "button":
                response = client.post(
                    f"{screen.url}/transition/{transition.name}/?id={record_id}",
                    data={"csrf_token": token})
            elif path == "api":
                address = f"/api/v1/{screen.endpoint}/{record_id}"
                version = client.get(address, headers=headers).headers.get("ETag", "")
                response = client.post(f"{address}/actions/{transition.name}",
                                       headers={**headers, "If-Match": version})
            else:
                response = client.post(f"{screen.url}/action/", data={
                    "action": f"transition:{transition.name}", "rowid": record_id,
                    "csrf_token": token})
            after = state_of(app, model, flow, record_id)
            label = f"{code} {transition.model}.{transition.name} ({path})"
            if response.status_code >= 500:
                problems.append(f"{label}: {response.status_code}")
            elif not may_by_rights(app, code, screen, transition):
                if after != before:
                    problems.append(f"{label}: made, but the group may not")
            elif after == before and why_refused(app, model, record_id, transition,
                                                 username) is None:
                problems.append(f"{label}: refused, but the group may make it")
    assert not problems, "\n".join(problems)


def test_the_command_line_refuses_what_the_group_may_not(matrix):
    suite, dispatcher, codes = matrix
    app = dispatcher.app
    problems = []
    tried = set()
    for screen, flow, transition in declared_transitions(app):
        refused = [code for code in codes + ["nogroup"]
                   if not may_by_rights(app, code, screen, transition)]
        # One transition of each workflow, by one group refused by rights, is enough
        # here: the command goes through the same check as the screens, which
        # test_every_transition_for_every_group tries for every transition and group
        # (each command builds an app: a second a run).
        if transition.model in tried or not refused:
            continue
        tried.add(transition.model)
        for code in refused[:1]:
            record_id = record_in_state(app, screen.model, flow, transition, f"u_{code}")
            before = state_of(app, screen.model, flow, record_id)
            result = suite.run("transition", screen.model.__name__, str(record_id),
                               transition.name, "--user", f"u_{code}")
            if result.exit_code == 0 or state_of(app, screen.model, flow, record_id) != before:
                problems.append(f"{code} {transition.model}.{transition.name}: "
                                f"exit {result.exit_code}")
    assert not problems, "\n".join(problems)


# -- addresses that act on a record of any model (files on any record) --------------------
#
# A screen may offer addresses checked against the rights on another record (the one a
# file is attached to) instead of its own model's letters: it lists them in
# ``record_endpoints`` ({endpoint: the letter needed on that record's model}), names its
# columns that point at the record in ``record_columns`` (model name, id), and says with
# ``attaches_to(model)`` which models' records it serves. Each address takes the record
# as ?record=Model:id, or one of its rows as <id>. All found here at run time.

def record_endpoint_screens(app):
    return [view for view in screens(app) if getattr(view, "record_endpoints", None)]


def own_endpoints(view):
    """The addresses the screen adds to those every screen has."""
    return {name for _url, name, _methods in type(view)._urls} - {
        name for _url, name, _methods in ModelView._urls}


def rows_on(app, view, model_name, record_id):
    name_column, id_column = (getattr(view.model, c) for c in view.record_columns)
    with app.app_context():
        return db.session.scalars(select(view.model.id).where(
            name_column == model_name, id_column == record_id).order_by(view.model.id)).all()


def record_addresses(app, view):
    """(endpoint, method, takes a row's id) of each of the screen's record addresses:
    those naming the record first, then those reading a row, then those changing one."""
    found = []
    for rule in app.url_map.iter_rules():
        prefix, _dot, name = rule.endpoint.partition(".")
        if prefix == view.endpoint and name in view.record_endpoints:
            method = "POST" if "POST" in rule.methods else "GET"
            found.append(("id" in rule.arguments, method == "POST", name, method))
    return [(name, method, by_row) for by_row, _post, name, method in sorted(found)]


def address(app, view, name, record, row_id):
    with app.test_request_context():
        return url_for(f"{view.endpoint}.{name}", id=row_id, record=record)


def send(client, method, url, token):
    if method == "GET":
        return client.get(url)
    return client.post(url, data={"csrf_token": token, "files": (
        io.BytesIO(b"matrix file\n"), "matrix.txt")}, content_type="multipart/form-data")


def record_outcome(response):
    if response.status_code == 302 and response.headers["Location"].startswith("/login"):
        return "login"
    if response.status_code in (403, 404):
        return "refused"
    return "ok" if response.status_code in (200, 302) else str(response.status_code)


def check_record_endpoints(client, admin, app, view, who, model_screen, problems):
    model = model_screen.model
    username = "u_nogroup" if who == "anonymous" else f"u_{who}"
    letters = letters_of(app, who, model_screen)
    record_id = fresh_record(app, model, username)
    reference = f"{model.__name__}:{record_id}"
    served = view.attaches_to(model)
    token = client.csrf_token("/login" if who == "anonymous" else "/admin/")
    addresses = record_addresses(app, view)

    def row_id():
        rows = rows_on(app, view, model.__name__, record_id)
        return rows[-1] if rows else 0

    for name, method, by_row in addresses:
        if by_row and served and not row_id():
            # A row to read or remove: added by the administrator, who may.
            for adding, adding_method, _by_row in addresses:
                if not _by_row and adding_method == "POST":
                    send(admin, "POST", address(app, view, adding, reference, 0),
                         admin.csrf_token("/admin/"))
        before = rows_on(app, view, model.__name__, record_id)
        got = record_outcome(send(client, method, address(app, view, name, reference,
                                                          row_id()), token))
        if who == "anonymous":
            want = "login"
        elif served and all(letter in letters for letter in "r" + view.record_endpoints[name]):
            want = "ok"
        else:
            want = "refused"
        if got != want:
            problems.append(f"{who} {name} on {reference}: {got}, expected {want}")
        if got != "ok" and rows_on(app, view, model.__name__, record_id) != before:
            problems.append(f"{who} {name} on {reference}: refused, but rows changed")


@pytest.mark.parametrize("who", ["anonymous", "nogroup", ADMIN_GROUP, "each group"])
def test_record_endpoints_for_every_group_and_model(matrix, who):
    """Every address acting on a record of any model, for every group and every model
    with a screen: allowed where the group may read the record (and write it, where the
    address changes something), refused otherwise, and a refusal changes nothing."""
    suite, dispatcher, codes = matrix
    app = dispatcher.app
    views = record_endpoint_screens(app)
    if not views:
        pytest.skip("no enabled addon offers addresses on records of any model")
    for view in views:
        assert own_endpoints(view) == set(view.record_endpoints), \
            f"{view.endpoint}: every address it adds must be in record_endpoints"
    # One screen per model: the first that shows its records, as core.record finds it.
    model_screens = {}
    for screen in screens(app):
        if screen.can_view_details is not False:
            model_screens.setdefault(screen.model, screen)
    cases = [(view, model_screen) for view in views for model_screen in model_screens.values()]
    if who == "each group":
        plan = groups_per_case(app, [c for c in codes if c != ADMIN_GROUP], cases,
                               lambda code, case: rights_on(app, code,
                                                            case[1].permission_model))
    else:
        plan = {who: cases}
    admin = suite.client(dispatcher)
    admin.login(f"u_{ADMIN_GROUP}", PASSWORD)
    problems = []
    checked = 0
    for code, its_cases in plan.items():
        client = suite.client(dispatcher)
        if code != "anonymous":
            client.login(f"u_{code}", PASSWORD)
        for view, model_screen in its_cases:
            if code != ADMIN_GROUP and not view.attaches_to(model_screen.model) \
                    and checked % 5:
                checked += 1
                continue   # models it does not serve: refused to all, a few checked
            check_record_endpoints(client, admin, app, view, code, model_screen, problems)
            checked += 1
    assert checked
    assert not problems, "\n".join(problems)


# -- a field hidden for a group (core.layout), on every screen of every addon ---------------

def hideable_field(view):
    """A field of the screen's own table that a record page shows and no new record
    needs: the one hidden in the test below."""
    required = view.required_fields()
    columns = view.model.__table__.columns
    return next((name for name in view.layout_fields() if name in columns
                 and name not in required and not columns[name].primary_key), None)


def test_a_field_hidden_for_a_group_is_hidden_on_every_path(matrix):
    """On each customisable screen, a field hidden (Settings > Customise) for one group
    that may read it: its members do not get it on the list, the record page, the forms,
    the export or the import; the administrator still does."""
    from core import layout
    from core.customise_views import screens as customisable
    suite, dispatcher, codes = matrix
    admin = suite.client(dispatcher)
    admin.login(f"u_{ADMIN_GROUP}", PASSWORD)
    cases = []
    app = dispatcher.app
    with app.test_request_context():
        login_user(suite_user(app, f"u_{ADMIN_GROUP}"))
        fields = [(view, hideable_field(view)) for view in customisable().values()]
    for index, (view, field) in enumerate(fields):
        readers = [code for code in codes if code != ADMIN_GROUP
                   and "r" in rights_on(app, code, view.permission_model)[0]]
        if readers and field is not None:
            cases.append((view.endpoint, view.model, field, readers[index % len(readers)]))
    # The first rule set on its screen; the others written as that screen writes them,
    # all at once (one app built again, not one per rule).
    endpoint, model, field, code = cases[0]
    url = f"/admin/customise/{model.__name__}/layout/{field}/"
    response = admin.post_form(url, {"section": "=", f"group-{code}": "hidden"},
                               token_from=url)
    assert response.status_code == 302, (url, response.status_code)
    with app.app_context():
        for endpoint, model, field, code in cases[1:]:
            assert not layout.check_rule(False, False, {code: layout.HIDDEN}, set(codes))
            layout.save_rule(db.session, model.__name__, field, None, False,
                             {code: layout.HIDDEN}, app.extensions["crm"].registry)
        db.session.commit()
    assert len(cases) >= 8
    app = dispatcher.app   # built again: the rules changed the revision
    problems = []
    for endpoint, model, field, code in cases:
        view = next(v for v in screens(app) if v.endpoint == endpoint)
        user = suite.client(dispatcher)
        user.login(f"u_{code}", PASSWORD)
        letters = letters_of(app, code, view)
        record_id = fresh_record(app, model, f"u_{code}")
        pages = [("list", f"{view.url}/", f"col-{field}"),
                 ("record page", f"{view.url}/details/?id={record_id}", f'data-field="{field}"')]
        if "c" in letters and view.allow_create:
            pages.append(("create form", f"{view.url}/new/", f'name="{field}"'))
        if "w" in letters and view.allow_edit:
            pages.append(("edit form", f"{view.url}/edit/?id={record_id}", f'name="{field}"'))
        for what, url, marker in pages:
            if marker not in part(admin.get(url), what):
                continue   # not there for anyone: nothing to check
            if marker in part(user.get(url), what):
                problems.append(f"{code} sees {field} on the {what} {url}")
        with app.test_request_context():
            label = str(record_page.field_label(view, field))
        if "x" in letters and view.allow_export:
            header = user.get(f"{view.url}/export/csv/").get_data(as_text=True).split("\n")[0]
            if label in header.split(","):
                problems.append(f"{code} exports {field} from {view.url}")
        with app.test_request_context():
            login_user(suite_user(app, f"u_{code}"))
            if field in view.import_fields() or field in view.import_fields(read_only_too=True):
                problems.append(f"{code} may import {field} on {view.url}")
    assert not problems, "\n".join(problems)


def part(response, what):
    """The page, or a form page's record form (not a picker above it)."""
    text = response.get_data(as_text=True)
    return text.partition('class="admin-form')[2] if "form" in what else text


def suite_user(app, username):
    with app.app_context():
        user = db.session.scalar(select(User).where(User.username == username))
        db.session.expunge(user)
        return user
