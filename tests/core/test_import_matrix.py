"""Every import screen of every enabled addon, for every group that may create there,
found at run time: a row naming a related record outside the user's record rules gets
"not found" (and the same row naming the user's own record does not), and a file
setting a field the screen's form does not set is refused whole."""
import csv
import html
import io
import re

from sqlalchemy import inspect, select
from sqlalchemy.orm import Session

from core.admin import readonly_fields
from core.db import db
from core.models import ADMIN_GROUP, Access, Group, OwnedMixin, User
from core.transfer import _display_column, is_required
from tests.core.test_permission_matrix import matrix  # noqa: F401  (a fixture)
from tests.core.test_permission_matrix import PASSWORD, letters_of, make_record, screens


def import_screens(app):
    return [view for view in screens(app) if view.allow_import and view.allow_create]


def access(app, code, model_name):
    """(letters, scope) of a group on a model, as the database holds them."""
    with app.app_context():
        row = db.session.execute(select(Access.letters, Access.scope).join(Group).where(
            Group.code == code, Access.model == model_name)).first()
    return tuple(row) if row else ("", "own")


def related_model(target):
    return target.mapper.class_


def display_value(record, model):
    mapper = inspect(model)
    code = mapper.columns.get("code")
    column = code if code is not None and code.unique else _display_column(mapper)
    return str(getattr(record, column.key))


def new_record(app, model, owner_name):
    """A record of ``model`` owned by ``owner_name`` (for User: that user): its value
    as a file names it."""
    with app.app_context():
        engine = db.engine
    with Session(engine) as session:
        owner = session.scalar(select(User).where(User.username == owner_name))
        if model is User:
            return owner.username
        record = make_record(session, model, owner.id)
        session.commit()
        return display_value(record, model)


def dummy(target):
    """A cell for a required column; right or wrong, it only has to be there."""
    kind = type(target.type).__name__ if hasattr(target, "type") else ""
    return {"Boolean": "no", "Date": "2026-01-01", "DateTime": "2026-01-01 10:00",
            "Integer": "1", "Numeric": "1"}.get(kind, getattr(target.type, "enums", ["x"])[0]
                                              if kind == "Enum" else "x")


def check_file(client, view, header, row):
    """Upload a one-row file on the screen, each column mapped to the field of its name,
    and run the dry run: (error, [(row, column, message)])."""
    url = f"{view.url}/import/"
    buffer = io.StringIO()
    csv.writer(buffer).writerows([header, row])
    token = client.csrf_token(url)
    page = client.post(url, data={"csrf_token": token, "file": (
        io.BytesIO(buffer.getvalue().encode()), "rows.csv")}).get_data(as_text=True)
    upload = re.search(r'name="token"[^>]*value="([^"]+)"', page)
    assert upload, page[-2000:]
    page = client.post(url, data={"csrf_token": token, "token": upload.group(1),
                                  "step": "check", **{f"map:{i}": name
                                                      for i, name in enumerate(header)}})
    assert page.status_code == 200, (url, page.status_code)
    text = page.get_data(as_text=True)
    error = re.search(r'crm-import-error">([^<]*)<', text)
    found = re.findall(r"<tr><td>(\d+)</td><td>([^<]*)</td><td>([^<]*)</td></tr>", text)
    return (html.unescape(error.group(1)) if error else None,
            [(int(r), c, html.unescape(m)) for r, c, m in found])


def test_every_import_screen_for_every_group(matrix):  # noqa: F811
    problems = fields_not_set_by_the_form(*matrix) + records_outside_the_rules(*matrix)
    assert not problems, "\n".join(problems)


def fields_not_set_by_the_form(suite, dispatcher, codes):
    app = dispatcher.app
    client = suite.admin_client(dispatcher)
    problems, checked = [], 0
    for view in import_screens(app):
        with app.app_context():
            fields = view.import_fields()
        refused = sorted(readonly_fields(view.model)) + ["id"] + [
            name for name in ("created_by", "updated_at") if hasattr(view.model, name)]
        assert not set(refused) & set(fields), view.url
        error, _rows = check_file(client, view, refused, ["x"] * len(refused))
        if not error or "cannot be imported: " + ", ".join(refused) not in error:
            problems.append(f"{view.url}: {error}")
        checked += 1
    assert checked >= 3
    return problems


def records_outside_the_rules(suite, dispatcher, codes):
    app = dispatcher.app
    problems, checked = [], 0
    for code in [c for c in codes if c != ADMIN_GROUP]:
        username = f"u_{code}"
        client = suite.client(dispatcher)
        client.login(username, PASSWORD)
        for view in import_screens(app):
            if not all(letter in letters_of(app, code, view) for letter in "rc"):
                continue
            with app.app_context():
                fields = view.import_fields()
            required = {name: target for name, target in fields.items() if is_required(target)}
            for name, target in fields.items():
                if hasattr(target, "type"):
                    continue
                model = related_model(target)
                rule_model = view.model if model is User else model
                if not (model is User and issubclass(view.model, OwnedMixin)
                        or issubclass(model, OwnedMixin)) \
                        or access(app, code, rule_model.__name__)[1] != "own":
                    continue   # every such record is theirs to name: nothing to hide
                hidden = new_record(app, model, "admin")
                own = new_record(app, model, username)
                header = [name] + [other for other in required if other != name]
                filler = [dummy(required[other]) if hasattr(required[other], "type")
                          else new_record(app, related_model(required[other]), username)
                          for other in header[1:]]
                # Their own record is theirs to name, if they may read that model at all.
                may_read = model is User or "r" in access(app, code, model.__name__)[0]
                for value, expect_hidden in ((hidden, True), (own, not may_read)):
                    error, found = check_file(client, view, header, [value] + filler)
                    said = (2, name, f"{value} was not found") in found
                    if error or said != expect_hidden:
                        problems.append(f"{code} {view.url} {name}={value}: {error or found}")
                checked += 1
    assert checked >= 3, checked
    return problems
