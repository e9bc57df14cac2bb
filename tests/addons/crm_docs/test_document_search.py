"""Search in the library (addons/crm_docs/search.py): text read from PDF, DOCX, XLSX and
plain text at upload (big files by the job runner), Chinese words found inside Chinese
sentences, and only in folders the user may read."""
import io
import zipfile
from contextlib import contextmanager
from xml.sax.saxutils import escape

import pytest
from flask import g
from sqlalchemy import create_engine, func, select, text
from werkzeug.datastructures import FileStorage

from core.db import db
from core.models import Group, User
from tests.addons.conftest import ADDONS
from tests.addons.crm_contacts.helpers import add_user
from tests.conftest import make_suite

# The addon's modules are imported in the tests, not here: this folder is a package
# named crm_docs too, and would stand for addons.crm_docs at collection time.


def search():
    from addons.crm_docs import search
    return search


def models():
    from addons.crm_docs import models
    return models


CONTRACT = "本公司与客户于二零二六年签订合同书，约定交货日期和付款方式。"
SHEET = "产品说明：XR-200 水泵的保修期为两年，Warranty two years."


# -- making files ---------------------------------------------------------------------

def chinese_pdf(*paragraphs):
    import weasyprint
    body = "".join(f"<p>{escape(p)}</p>" for p in paragraphs)
    return weasyprint.HTML(string=f"<html><body>{body}</body></html>").write_pdf()


def chinese_docx(*paragraphs):
    """A minimal Word document; the first paragraph split over two runs, as Word does
    when the formatting changes inside a word."""
    runs = []
    for number, paragraph in enumerate(paragraphs):
        if number == 0:
            half = len(paragraph) // 2
            pieces = [paragraph[:half], paragraph[half:]]
        else:
            pieces = [paragraph]
        runs.append("<w:p>" + "".join(f'<w:r><w:t xml:space="preserve">{escape(piece)}</w:t>'
                                      '</w:r>' for piece in pieces) + "</w:p>")
    document = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
                '<w:document xmlns:w="http://schemas.openxmlformats.org/'
                'wordprocessingml/2006/main">'
                f'<w:body>{"".join(runs)}</w:body></w:document>')
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types xmlns="http://'
                         'schemas.openxmlformats.org/package/2006/content-types"/>')
        archive.writestr("word/document.xml", document)
    return buffer.getvalue()


def workbook(rows):
    import openpyxl
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "价格表"
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


# -- the library, set up in the app ------------------------------------------------------

@contextmanager
def app_of(suite):
    app = suite.dispatcher().app
    with app.app_context():
        g.acting_user_id = admin_id()
        try:
            yield app
        finally:
            db.session.remove()


def admin_id():
    return db.session.scalar(select(User.id).where(User.username == "admin"))


def folder(name, readers=(), parent=None):
    made = models().Folder(name=name, parent=parent, readers=list(readers))
    db.session.add(made)
    db.session.flush()
    return made


def upload(data, name, into, **fields):
    from addons.crm_docs import documents
    document = documents.add(FileStorage(io.BytesIO(data), filename=name),
                             db.session.get(User, g.acting_user_id), folder=into, **fields)
    db.session.commit()
    return document


def found(words):
    """The names of the documents ``words`` finds, through the list's condition."""
    query = select(models().Document.name).where(search().condition(words))
    return sorted(db.session.scalars(query))


def state_of(suite, name):
    return suite.sql("SELECT text_state FROM crm_document WHERE name = :n", n=name)[0][0]


# -- terms ------------------------------------------------------------------------------

def test_terms_pair_chinese_and_fold_latin(docs_suite):   # the suite loads the addon
    # Pairs, and the last character alone: every character begins a term.
    assert search().terms_of("签订合同书") == ["签订", "订合", "合同", "同书", "书"]
    # Full-width letters and digits as ASCII; a lone character kept; a PDF's line break
    # inside a Chinese sentence separates nothing.
    assert search().terms_of("ＸＲ-２００ Pump 泵，正确无\n误") == [
        "xr", "200", "pump", "泵", "正确", "确无", "无误", "误"]
    assert search().query_terms("合同 Contr 泵") == [("合同", False), ("contr", True), ("泵", True)]
    assert search().query_terms("  ，。!  ") == []


# -- extraction and search ---------------------------------------------------------------

def test_chinese_pdf_docx_xlsx_and_text_are_found_by_their_words(docs_suite):
    with app_of(docs_suite):
        shelf = folder("资料库")
        upload(chinese_pdf(CONTRACT, SHEET), "contract.pdf", shelf)
        upload(chinese_docx(CONTRACT, "Delivery terms: FOB Shanghai."), "合同.docx", shelf)
        upload(workbook([["型号", "单价"], ["XR-200", 1999], ["扬程", "三十米"]]),
               "prices.xlsx", shelf)
        upload("会议纪要：讨论了报价单的折扣。".encode("gb18030"), "minutes.txt", shelf)
        upload(b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, "photo.png", shelf)

        # A two-character word inside a sentence, in the PDF and the DOCX (whose word
        # is split over two runs: 合同 sits across the cut).
        assert found("合同") == ["contract.pdf", "合同.docx"]
        # One character, ending a word (泵 of 水泵) as well as beginning one.
        assert found("泵") == ["contract.pdf"]
        assert found("付款方式") == ["contract.pdf", "合同.docx"]
        assert found("保修") == ["contract.pdf"]
        assert found("shanghai fob") == ["合同.docx"]
        assert found("扬程 xr-200") == ["prices.xlsx"]
        assert found("价格表") == ["prices.xlsx"]        # the sheet's name
        assert found("报价单") == ["minutes.txt"]          # GB18030 text
        assert found("warr") == ["contract.pdf"]           # the start of a word
        assert found("合同 报价单") == []                   # every word, not any
        assert found("资料库") == ["contract.pdf", "minutes.txt", "photo.png", "prices.xlsx",
                                   "合同.docx"]           # the folder's name
        assert found("没有") == []
        # No word to look for: no filter.
        assert len(found(" ，")) == 5
        Document = models().Document
        states = dict(db.session.execute(select(Document.name, Document.text_state)).all())
        assert states == {"contract.pdf": "done", "合同.docx": "done", "prices.xlsx": "done",
                          "minutes.txt": "done", "photo.png": "none"}


def test_database_storage_is_read_too(tmp_path, database_url):
    suite = make_suite(tmp_path, database_url, addon_paths=[ADDONS],
                       enabled=["crm_docs", "crm_sales"], extra="[files]\nstorage = database\n")
    try:
        with app_of(suite):
            assert search().files.storage() == "database"
            shelf = folder("Contracts")
            upload(chinese_pdf(CONTRACT), "contract.pdf", shelf)
            upload(chinese_docx(CONTRACT), "contract.docx", shelf)
            assert found("合同") == ["contract.docx", "contract.pdf"]
    finally:
        suite.close()


def test_name_tags_and_folder_are_searched_and_reindexed(docs_suite):
    with app_of(docs_suite):
        top = folder("Sales")
        sub = folder("报价", parent=top)
        tag = models().DocTag(name="VIP客户")
        document = upload(b"nothing to see", "notes.txt", sub, tags=[tag])
        assert found("sales") == found("报价") == found("vip 客户") == ["notes.txt"]
        # Renamed, moved and tagged again: found by what it is now, once reindexed.
        document.name = "年度总结.txt"
        document.tags = []
        document.folder = top
        search().reindex(document)
        db.session.commit()
        assert found("年度") == ["年度总结.txt"]
        assert found("报价") == found("vip") == []
        assert found("nothing") == ["年度总结.txt"]     # the content was kept


def test_a_file_that_cannot_be_read_is_marked_failed_and_still_uploaded(docs_suite):
    with app_of(docs_suite):
        shelf = folder("Broken")
        upload(b"%PDF-1.7\nthis is no PDF at all\n", "broken.pdf", shelf)
        upload(b"PK\x03\x04 not really a zip", "broken.docx", shelf)
        assert found("broken") == ["broken.docx", "broken.pdf"]   # by name
    assert state_of(docs_suite, "broken.pdf") == "failed"
    assert state_of(docs_suite, "broken.docx") == "failed"


def test_files_on_records_are_not_in_the_library_search(docs_suite):
    from addons.crm_contacts.models import Customer
    from addons.crm_docs import documents
    with app_of(docs_suite):
        customer = Customer(name="Acme")
        db.session.add(customer)
        db.session.flush()
        documents.add(FileStorage(io.BytesIO("合同".encode()), filename="合同.txt"),
                      db.session.get(User, admin_id()), record=customer)
        db.session.commit()
        assert found("合同") == []
    assert state_of(docs_suite, "合同.txt") == "none"


# -- big files: the job runner ------------------------------------------------------------

def big_text(word):
    # An English head: core.files tells text from its first 4 KB, and (for now) takes
    # UTF-8 Chinese cut at the wrong byte there for binary.
    head = "Exported from the archive.\n" * 200
    line = f"{word} 这是一个很大的文本文件，用于测试后台任务。\n"
    return (head + line * (search().INLINE_BYTES // len(line.encode()) + 10)).encode()


def test_big_files_are_read_by_the_job(docs_suite):
    with app_of(docs_suite):
        shelf = folder("Archive")
        upload(big_text("甲骨文"), "big.txt", shelf)
        assert found("archive") == ["big.txt"]           # its name and folder at once
        assert found("甲骨文") == []                        # its content not yet
    assert state_of(docs_suite, "big.txt") == "pending"

    result = docs_suite.run("run-job", "crm_docs.extract_text")
    assert result.exit_code == 0, result.output
    assert "1 document read" in result.output
    assert state_of(docs_suite, "big.txt") == "done"
    with app_of(docs_suite):
        assert found("甲骨文") == ["big.txt"]
        assert search().extract_pending() is None        # nothing left to do
        text_length = db.session.scalar(select(func.length(models().DocumentText.content)))
        assert text_length <= search().MAX_TEXT


def test_two_runners_never_read_the_same_document(docs_suite):
    """On PostgreSQL a document another runner holds is skipped, not waited for."""
    if not docs_suite.database_url.startswith("postgresql"):
        pytest.skip("row locks: PostgreSQL")
    with app_of(docs_suite):
        shelf = folder("Archive")
        first = upload(big_text("第一"), "first.txt", shelf).id
        upload(big_text("第二"), "second.txt", shelf)
    engine = create_engine(docs_suite.database_url)
    try:
        with engine.begin() as other:   # another runner busy with the first document
            other.execute(text("SELECT id FROM crm_document WHERE id = :id FOR UPDATE"),
                          {"id": first})
            with app_of(docs_suite):
                assert search().extract_pending() == "1 document read"
            assert state_of(docs_suite, "second.txt") == "done"
            assert state_of(docs_suite, "first.txt") == "pending"
    finally:
        engine.dispose()


# -- who finds what -----------------------------------------------------------------------

def test_search_finds_only_documents_in_folders_the_user_may_read(docs_suite):
    with app_of(docs_suite):
        legal = Group(code="legal", name="Legal")
        db.session.add(legal)
        upload(chinese_pdf(CONTRACT), "保密合同.pdf", folder("Legal", readers=[legal]))
        upload(chinese_docx("公开的合同模板"), "模板.docx", folder("Public"))
        db.session.commit()
    mina = add_user(docs_suite, "mina", "docs_user")
    lawyer = add_user(docs_suite, "lawyer", "docs_user", "legal")
    outsider = add_user(docs_suite, "sam", "contacts_user")

    def quick(client, words):
        response = client.get("/admin/search/", query_string={"q": words})
        assert response.status_code == 200
        return response.get_data(as_text=True)

    page = quick(lawyer, "合同")
    assert "保密合同.pdf" in page and "模板.docx" in page
    page = quick(mina, "合同")
    assert "模板.docx" in page and "保密合同.pdf" not in page
    assert "保密合同.pdf" not in quick(mina, "保密")
    assert "模板.docx" not in quick(outsider, "合同")
    admin = docs_suite.admin_client()
    assert "保密合同.pdf" in quick(admin, "签订")

    # The library list's search box: the same words, the same folders.
    def listed(client, words):
        response = client.get("/admin/document/", query_string={"search": words})
        assert response.status_code == 200
        return response.get_data(as_text=True)
    page = listed(mina, "合同")
    assert "模板.docx" in page and "保密合同.pdf" not in page
    page = listed(lawyer, "签订")
    assert "保密合同.pdf" in page and "模板.docx" not in page
