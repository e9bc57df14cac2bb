"""Small helpers the crm_contacts tests share (and the other addons' tests: users and
the app of an installation)."""
import csv
from contextlib import contextmanager

PASSWORD = "a long password 1"
NEW = "/admin/customer/new/"


def add_user(suite, username, *groups):
    args = ["--groups", ",".join(groups)] if groups else []
    result = suite.run("create-user", "--username", username, "--password", PASSWORD, *args)
    assert result.exit_code == 0, result.output
    client = suite.client()
    client.login(username, PASSWORD)
    return client


def user_id(suite, username):
    return suite.sql("SELECT id FROM core_user WHERE username = :u", u=username)[0][0]


def user(suite, username, *groups):
    """A signed-in client of a new user, and the user's id."""
    client = add_user(suite, username, *groups)
    return client, user_id(suite, username)


@contextmanager
def app_of(suite):
    """The installation's app, in an application context."""
    app = suite.app()
    with app.app_context():
        yield app


def create_customer(client, confirm=False, **fields):
    """POST the create form; returns the response."""
    data = {"kind": "company", "stage": "prospect", **fields}
    if confirm:
        data["crm_confirmed"] = "1"
    return client.post_form(NEW, data, token_from=NEW)


def write_csv(path, header, rows):
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return str(path)


def import_customers(suite, tmp_path, rows, header=("name", "phone", "email", "grade")):
    path = write_csv(tmp_path / "customers.csv", header, rows)
    result = suite.run("import", "customer", path)
    assert result.exit_code == 0, result.output
    return result
