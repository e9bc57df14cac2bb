"""What the knowledge base, self-service and satisfaction tests share."""
import html
import re
from contextlib import contextmanager

from tests.addons.crm_contacts.helpers import PASSWORD, add_user, user_id
from tests.addons.crm_sales.lead_helpers import insert

__all__ = ["PASSWORD", "add_user", "user_id", "app_context", "insert", "add_article",
           "page_text", "open_web_ticket", "follow_path", "REQUEST"]

REQUEST = {"name": "Li Lei", "email": "li@example.cn", "phone": "138 1234 5678",
           "kind": "request", "subject": "打印机卡纸", "message": "打印机每天都卡纸，怎么办？",
           "website": ""}


@contextmanager
def app_context(suite, commit=True):
    """The models in an app context of the suite's own (a request context, for
    templates and url building), committed at the end."""
    from core.db import db
    app = suite.dispatcher().app
    with app.test_request_context("/"):
        try:
            yield db.session
            if commit:
                db.session.commit()
        finally:
            db.session.rollback()
            db.session.remove()


def add_article(suite, title, body="", visibility="public", language="Chinese", owner=None,
                keywords=None, updated_at="2026-01-01 10:00:00"):
    return insert(suite, "svc_kb_article", title=title, body=body, visibility=visibility,
                  language=language, keywords=keywords, views=0,
                  owner_id=user_id(suite, owner) if owner else None,
                  created_at=updated_at, updated_at=updated_at)


def page_text(response):
    """The page's text, tags and entities gone, spaces folded."""
    text = re.sub(r"<[^>]+>", " ", response.get_data(as_text=True))
    return " ".join(html.unescape(text).split())


def open_web_ticket(suite, client, address="127.0.0.1", **fields):
    """Submit the self-service form from ``address``; returns (response, follow path)."""
    data = dict(REQUEST, **fields)
    data["csrf_token"] = client.csrf_token("/service/request")
    response = client.post("/service/request", data=data,
                           environ_base={"REMOTE_ADDR": address})
    return response, follow_path(response)


def follow_path(response):
    match = re.search(r'href="https?://[^/"]+(/service/ticket/[^"?#]+)"',
                      response.get_data(as_text=True))
    return match.group(1) if match else None
