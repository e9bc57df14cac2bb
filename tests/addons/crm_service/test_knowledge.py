"""The knowledge base screens: who sees drafts, internal and public articles, the
search (Chinese inside a sentence), the safe rendering of an answer, the folders, and
the JSON look-up the reply form inserts articles from."""
import json

from tests.addons.crm_service.public_helpers import add_article, add_user, insert, page_text

NEW = "/admin/kb-article/new/"


def new_article(client, **fields):
    data = {"title": "Refunds", "language": "Chinese", "visibility": "draft",
            "body": "如需退款，请联系我们。", **fields}
    return client.post_form(NEW, data, token_from=NEW)


def insertable(client, query=""):
    response = client.get(f"/admin/kb-article/insertable/?q={query}")
    assert response.status_code == 200, response.status_code
    return json.loads(response.get_data(as_text=True))["articles"]


def test_drafts_are_their_authors_internal_for_service_users_public_for_all(service_suite):
    ann = add_user(service_suite, "ann", "service_agent")
    bob = add_user(service_suite, "bob", "service_agent")
    assert new_article(ann, title="Ann's draft").status_code == 302
    assert new_article(ann, title="Internal prices", visibility="internal").status_code == 302
    assert new_article(ann, title="Public refunds", visibility="public").status_code == 302
    assert service_suite.sql("SELECT u.username FROM svc_kb_article a JOIN core_user u "
                             "ON u.id = a.owner_id ORDER BY a.id") == [("ann",)] * 3
    mine = page_text(ann.get("/admin/kb-article/"))
    assert "Ann's draft" in mine and "Internal prices" in mine
    theirs = page_text(bob.get("/admin/kb-article/"))
    assert "Ann's draft" not in theirs and "Internal prices" in theirs and "Public refunds" in theirs
    assert bob.get("/admin/kb-article/details/?id=1").status_code == 404
    assert bob.get("/admin/kb-article/edit/?id=1").status_code == 404
    assert ann.get("/admin/kb-article/details/?id=1").status_code == 200
    # A public article's page links to where customers read it; others do not.
    assert 'href="/service/article/3"' in ann.get("/admin/kb-article/details/?id=3").get_data(
        as_text=True)
    assert "/service/article/" not in ann.get("/admin/kb-article/details/?id=2").get_data(
        as_text=True)
    # Users outside service see none of it; visitors see the public one only.
    sales = add_user(service_suite, "sam", "contacts_user")
    assert sales.get("/admin/kb-article/").status_code == 403
    assert sales.get("/admin/kb-article/insertable/?q=").status_code == 403
    public = page_text(service_suite.client().get("/service/?lang=en"))
    assert "Public refunds" in public and "Internal prices" not in public and "draft" not in public


def test_list_search_finds_chinese_in_a_sentence_and_escapes_wildcards(service_suite):
    add_article(service_suite, "售后说明", "如果您需要退款，请在七天内联系客服。", visibility="internal")
    add_article(service_suite, "Shipping", "We ship in 2 days.", visibility="internal",
                language="English", keywords="delivery 运费")
    add_article(service_suite, "50% off", "Sale.", visibility="internal", language="English")
    agent = add_user(service_suite, "ann", "service_agent")
    found = page_text(agent.get("/admin/kb-article/?search=退款"))
    assert "售后说明" in found and "Shipping" not in found
    assert "Shipping" in page_text(agent.get("/admin/kb-article/?search=运费"))
    assert "Shipping" in page_text(agent.get("/admin/kb-article/?search=SHIP+days"))
    percent = page_text(agent.get("/admin/kb-article/?search=50%25"))
    assert "50% off" in percent and "Shipping" not in percent
    nothing = page_text(agent.get("/admin/kb-article/?search=%25"))
    assert "售后说明" not in nothing and "Shipping" not in nothing and "50% off" in nothing


def test_answer_is_shown_as_safe_paragraphs_and_lists(service_suite):
    agent = add_user(service_suite, "ann", "service_agent")
    body = "Step one\nthen two\n\n- <img src=x onerror=alert(1)>\n- **b**"
    assert new_article(agent, title="<script>x</script>", body=body,
                       visibility="internal").status_code == 302
    page = agent.get("/admin/kb-article/details/?id=1").get_data(as_text=True)
    assert "<p>Step one<br>then two</p>" in page
    assert "<li>&lt;img src=x onerror=alert(1)&gt;</li><li>**b**</li>" in page
    assert "<script>x</script>" not in page and "&lt;script&gt;x&lt;/script&gt;" in page


def test_insertable_gives_published_articles_best_first(service_suite):
    ann = add_user(service_suite, "ann", "service_agent")
    user = service_suite.sql("SELECT id FROM core_user WHERE username = 'ann'")[0][0]
    add_article(service_suite, "Printer jams", "如果卡纸，请打开后盖。", visibility="internal",
                updated_at="2026-01-01 10:00:00")
    add_article(service_suite, "退款流程", "请联系客服", visibility="public",
                updated_at="2026-01-02 10:00:00")
    add_article(service_suite, "售后", "关于退款的说明", visibility="public",
                updated_at="2026-03-01 10:00:00")
    insert(service_suite, "svc_kb_article", title="退款草稿", body="退款", visibility="draft",
           language="Chinese", views=0, owner_id=user, created_at="2026-04-01 10:00:00",
           updated_at="2026-04-01 10:00:00")
    found = insertable(ann, "退款")
    # The title match first, then a body match; never a draft, not even one's own.
    assert [a["title"] for a in found] == ["退款流程", "售后"]
    assert found[0] == {"id": 2, "title": "退款流程", "text": "请联系客服"}
    everything = insertable(ann)
    assert [a["title"] for a in everything] == ["售后", "退款流程", "Printer jams"]   # newest
    assert insertable(ann, "%25") == []
    for n in range(12):
        add_article(service_suite, f"FAQ {n}", "text", visibility="internal")
    assert len(insertable(ann, "FAQ")) == 10
    # JSON that no script can take as markup.
    add_article(service_suite, "<b>bold</b>", "x", visibility="internal")
    raw = ann.get("/admin/kb-article/insertable/?q=bold").get_data(as_text=True)
    assert "<b>" not in raw and "\\u003cb\\u003e" in raw
    assert service_suite.client().get("/admin/kb-article/insertable/?q=x").status_code == 302


def test_folders_cannot_loop(service_suite):
    admin = service_suite.admin_client()
    top = insert(service_suite, "svc_kb_folder", name="Printers", sequence=10)
    child = insert(service_suite, "svc_kb_folder", name="Jams", sequence=10, parent_id=top)
    edit = f"/admin/kb-folder/edit/?id={top}"
    for parent in (child, top):
        response = admin.post_form(edit, {"name": "Printers", "sequence": "10",
                                          "parent": str(parent)}, token_from=edit)
        assert response.status_code == 200
        assert "cannot be inside itself" in page_text(response)
    assert service_suite.sql("SELECT parent_id FROM svc_kb_folder WHERE id = :i", i=top) == [(None,)]
    response = admin.post_form(f"/admin/kb-folder/edit/?id={child}",
                               {"name": "Paper jams", "sequence": "5", "parent": str(top)},
                               token_from=f"/admin/kb-folder/edit/?id={child}")
    assert response.status_code == 302
    assert new_article(admin, folder=str(child), visibility="public").status_code == 302
    assert "Paper jams" in page_text(admin.get("/admin/kb-article/"))
