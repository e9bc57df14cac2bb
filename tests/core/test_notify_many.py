"""notifications.notify_many: many reminders in one statement, each user's language,
once per (user, key), e-mail copies for those who chose them."""
from flask_babel import gettext as _

from core import notifications
from core.db import db
from core.models import User
from tests.core import test_reminders

office = test_reminders.office   # the fixture: two users, amy and ben


def test_notify_many_writes_once_in_each_language_and_emails_copies(office):
    suite, app, uid = office
    suite.sql("UPDATE core_user SET language = 'zh_Hans_CN', notify_by_email = :t "
              "WHERE username = 'ben'", t=True)
    amy, ben = db.session.get(User, uid("amy")), db.session.get(User, uid("ben"))
    reminders = [([amy, ben], lambda: _("Reminders"), lambda: "body", "/admin/today/", "k:1"),
                 ([amy], lambda: "Plain", None, None, None)]
    assert notifications.notify_many(reminders) == 3
    # Again: the keyed ones are there already; the keyless one is written again.
    assert notifications.notify_many(reminders) == 1
    db.session.commit()
    rows = suite.sql("SELECT u.username, n.title, n.body, n.link FROM core_notification n "
                     "JOIN core_user u ON u.id = n.user_id WHERE n.key = 'k:1' ORDER BY 1")
    assert [tuple(row) for row in rows] == [("amy", "Reminders", "body", "/admin/today/"),
                                            ("ben", "提醒", "body", "/admin/today/")]
    # Only ben chose e-mail: one copy, with the link made absolute.
    mails = suite.sql("SELECT recipients, subject, body_text FROM core_message ORDER BY id")
    assert len(mails) == 1 and "ben@example.com" in mails[0][0]
    assert mails[0][1] == "提醒" and mails[0][2].endswith("/admin/today/")
    assert notifications.notify_many([]) == 0
