"""Pages and messages as people read them: a styled page for a fault of ours, counts in
words that agree with the number, addons by their names, and a question before one is
switched off."""
import html

from tests.core.test_transfer import form_fields, upload


def test_a_fault_of_ours_shows_the_sites_own_page_and_writes_nothing(notes_suite):
    client = notes_suite.admin_client()
    app = client.application.app
    before = notes_suite.sql("SELECT count(*) FROM fixture_note")

    def broken():
        from core.db import db
        db.session.execute(db.text("UPDATE fixture_note SET title = 'half done'"))
        raise RuntimeError("a bug")

    app.view_functions["healthz"] = broken
    response = client.get("/healthz")
    page = response.get_data(as_text=True)
    assert response.status_code == 500
    assert "Something went wrong on our side and nothing was saved." in page
    assert 'href="/admin/"' in page and "a bug" not in page
    assert notes_suite.sql("SELECT count(*) FROM fixture_note WHERE title = 'half done'") \
        == [(0,)] and notes_suite.sql("SELECT count(*) FROM fixture_note") == before


def test_one_problem_is_one_problem(notes_suite):
    admin = notes_suite.admin_client()
    page = upload(admin, "one.csv", b"title,priority\nFine,1\nBad,x\n").get_data(as_text=True)
    page = admin.post_form("/admin/note/import/", dict(form_fields(page), step="check"),
                           token_from="/admin/note/import/").get_data(as_text=True)
    assert "1 problem: put it right and check again" in page


def test_addons_go_by_their_names_and_switching_one_off_asks_first(notes_suite):
    client = notes_suite.admin_client()
    page = html.unescape(client.get("/admin/addons/").get_data(as_text=True))
    assert 'data-confirm="Disable Notes? Its menus, screens and jobs are hidden' in page
    response = client.post_form("/admin/addons/disable/fixture_notes", {},
                                token_from="/admin/addons/")
    assert response.status_code == 302
    page = client.get("/admin/addons/").get_data(as_text=True)
    assert "Disabled Notes. Its records are kept." in html.unescape(page)
    assert "Disabled fixture_notes" not in page
