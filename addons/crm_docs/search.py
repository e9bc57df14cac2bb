"""Search in the library: by name, tag, folder and the text inside the files.

The words of a document's current version are read from its stored content (PDF,
Word's DOCX, Excel's XLSX, plain text) and kept in DocumentText: ``content`` as read,
``terms`` as searched. Terms are Latin words and numbers lower-cased, and Chinese (and
Japanese, Korean) as overlapping pairs of characters and the last one alone:
"签订合同书" gives 签订 订合 合同 同书 书, so the word 合同 is found inside the sentence although nothing separates Chinese
words. A query is made into terms the same way, and a document matches when it holds
all of them.

On PostgreSQL ``terms`` is a tsvector (GIN index) built from the list of terms as it
is, with no parser or dictionary between (array_to_tsvector), and queried with a
tsquery written the same way, so the database's locale cannot split a Chinese pair or
fold a word differently on either side. On SQLite ``terms`` is the same words as a
string, matched with LIKE: fine for the small sites SQLite serves.

    documents.py  -> refresh(document)   after each upload (a small file is read at once,
                                          a big one by the job runner: extract_pending)
    library.py    -> reindex(document)   after a rename, new tags or a move
                  -> condition(text)     the list's search box
    core search   -> the "search.quick" hook below
"""
import codecs
import html
import logging
import re
import tempfile
import time
import unicodedata
import zipfile
from contextlib import contextmanager

from flask import url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user
from sqlalchemy import and_, func, literal_column, select, true
from sqlalchemy.dialects.postgresql import TSQUERY

from addons.crm_docs.models import Document, DocumentText, Folder
from core import files, hooks, permissions
from core.db import db

log = logging.getLogger(__name__)

INLINE_BYTES = 2 * 2 ** 20       # a file up to this size is read during its upload
MAX_TEXT = 1_000_000             # characters of text kept per document
MAX_TEXT_BYTES = 4 * MAX_TEXT    # bytes of a text file read (UTF-8 Chinese: 3 a character)
MAX_XML_BYTES = 32 * 2 ** 20     # bytes of a DOCX's document.xml read (a zip bomb stops here)
MAX_CELLS = 500_000              # cells of a workbook looked at
MAX_TERMS = 40_000               # distinct terms per document (a tsvector holds up to 1 MB)
MAX_WORD = 64                    # longer "words" (hashes, base64) are not searched for
MAX_QUERY_TERMS = 16
JOB_BATCH, JOB_SECONDS = 50, 45  # the job runs every minute: it stops before the next run

# Scripts written without spaces between words: Japanese kana, CJK ideographs, Hangul.
CJK = ("\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af"
       "\U00020000-\U0002fa1f")
WORD = re.compile(r"[^\W_]+")
RUNS = re.compile(f"([{CJK}]+)|([^{CJK}]+)")
# A line break or space inside Chinese text (a PDF's line ends) separates no words.
CJK_GAP = re.compile(f"(?<=[{CJK}])\\s+(?=[{CJK}])")


# -- terms --------------------------------------------------------------------------------

def _runs(text):
    """(run, is_cjk) for each word of ``text``, normalised (full-width letters and
    digits as ASCII, lower case) and split where the script changes."""
    text = unicodedata.normalize("NFKC", text).lower()
    for word in WORD.findall(text):
        for cjk, other in RUNS.findall(word):
            yield (cjk, True) if cjk else (other, False)


def terms_of(text):
    """The terms of ``text`` in order, each once: words, and Chinese as overlapping pairs
    of characters, then the run's last character alone, so that every character begins
    a term (a one-character query, a prefix, finds 泵 in 水泵)."""
    found = {}
    for run, is_cjk in _runs(CJK_GAP.sub("", text)):
        if not is_cjk:
            if len(run) <= MAX_WORD:
                found[run] = None
            continue
        for i in range(len(run) - 1):
            found[run[i:i + 2]] = None
        found[run[-1]] = None
    return list(found)


def query_terms(text):
    """The terms a query asks for, as (term, prefix): a Latin word also finds the words it
    begins ("contr" finds "contract"), a lone Chinese character the pairs it begins."""
    found = {}
    for run, is_cjk in _runs(text):
        if not is_cjk:
            found.setdefault(run[:MAX_WORD], len(run) > 1)
        elif len(run) == 1:
            found.setdefault(run, True)
        else:
            for i in range(len(run) - 1):
                found.setdefault(run[i:i + 2], False)
    return list(found.items())[:MAX_QUERY_TERMS]


def _postgresql():
    return db.session.get_bind().dialect.name == "postgresql"


def condition(text):
    """The condition "documents whose name, tags, folder or content hold every word of
    ``text``", on Document (for the library list's search box); true() when ``text``
    holds no word to look for."""
    wanted = query_terms(text or "")
    if not wanted:
        return true()
    if _postgresql():
        # Written into the statement, not bound: PostgreSQL then plans each search for how
        # many documents hold its words (a word in most of them is best found by reading
        # the list in its order, a rare one through the index), where a prepared
        # statement's generic plan would guess. Terms are letters, digits and CJK
        # characters only; the quotes are doubled all the same.
        query = " & ".join(f"'{term}'" + (":*" if prefix else "") for term, prefix in wanted)
        match = DocumentText.terms.op("@@")(literal_column(
            "'" + query.replace("'", "''") + "'::tsquery", TSQUERY))
    else:
        # The terms string is " a b c ": a term is whole between spaces.
        match = and_(*(DocumentText.terms.like(f"% {term}%" if prefix else f"% {term} %")
                       for term, prefix in wanted))
    return Document.id.in_(select(DocumentText.document_id).where(match))


# -- indexing ------------------------------------------------------------------------------

def refresh(document):
    """The document's current version was replaced (or is new): read its text now when
    the file is small, else leave it "pending" for the job runner. Called within the
    upload's transaction; never raises for a file that cannot be read."""
    if document.record_model:
        # A file on a record is found through its record, never in the library search.
        document.text_state = "none"
        return
    if document.size <= INLINE_BYTES:
        _extract_into(document)
    else:
        document.text_state = "pending"
        _store(document, "")


def reindex(document):
    """Build the terms again from the text already read, with the document's name,
    description, tags and folders as they are now (after a rename, new tags, a move)."""
    if document.record_model:
        return
    row = db.session.get(DocumentText, document.id)
    _store(document, row.content if row is not None else "")


def reindex_folder(folder):
    """After a folder is renamed or moved: its documents', and its subfolders', terms
    hold the folder names again. One document at a time, so as many as it holds."""
    ids, todo = set(), [folder.id]
    while todo:
        ids.update(todo)
        todo = [f for f in db.session.scalars(select(Folder.id).where(
            Folder.parent_id.in_(todo))) if f not in ids]
    _reindex_all(select(Document).where(Document.folder_id.in_(ids)))


def reindex_tag(tag):
    """After a tag is renamed: the documents it is on."""
    _reindex_all(select(Document).where(Document.tags.contains(tag)))


def _reindex_all(query):
    for document in db.session.scalars(query.order_by(Document.id)).all():
        reindex(document)


def _extract_into(document):
    state, content = "failed", ""
    try:
        state, content = extract(document.sha256, document.kind)
    except Exception:   # a damaged or hostile file: its name and tags are still searched
        log.warning("text of document %s (%s) could not be read", document.id,
                    document.filename, exc_info=True)
    document.text_state = state
    _store(document, content)


def _labels(document):
    """What the document is called and filed under, searched along with its content."""
    folders, folder, seen = [], document.folder, set()
    while folder is not None and folder.id not in seen:
        seen.add(folder.id)
        folders.append(folder.name)
        folder = folder.parent
    return " ".join([document.name, document.filename, document.description or "",
                     *(tag.name for tag in document.tags), *folders])


def index_terms(labels, content):
    """The terms kept for a document: those of its name, tags and folders first (never
    cut), then its content's, at most MAX_TERMS; as one string, separated by spaces."""
    terms = terms_of(labels)
    known = set(terms)
    terms += [term for term in terms_of(content) if term not in known]
    return " ".join(terms[:MAX_TERMS])


def _store(document, content):
    joined = index_terms(_labels(document), content)
    row = db.session.get(DocumentText, document.id)
    if row is None:
        row = DocumentText(document_id=document.id)
        db.session.add(row)
    row.content = content
    if _postgresql():
        row.terms = func.array_to_tsvector(func.string_to_array(joined, " "))
    else:
        row.terms = f" {joined} "
    db.session.flush()


# -- reading the text of a file --------------------------------------------------------

def extract(sha256, kind):
    """(text state, text) of the stored content ``sha256`` of ``kind``: "done" with the
    text, or "none" for a kind that holds no text to read. Raises on a damaged file."""
    if kind == "text":
        return "done", _clean(_plain_text(sha256))
    if kind not in ("pdf", "zip"):
        return "none", ""
    with _opened(sha256) as stream:
        if kind == "pdf":
            return "done", _clean(_pdf_text(stream))
        with zipfile.ZipFile(stream) as archive:
            names = set(archive.namelist())
            if "word/document.xml" in names:
                return "done", _clean(_docx_text(archive))
            if "xl/workbook.xml" in names:
                stream.seek(0)
                return "done", _clean(_xlsx_text(stream))
    return "none", ""


@contextmanager
def _opened(sha256):
    """The content as a file to seek in: the stored file itself, or (database storage)
    a temporary copy, in memory up to 2 MB."""
    if files.storage() == "folder":
        with files.path_of(sha256).open("rb") as stream:
            yield stream
        return
    with tempfile.SpooledTemporaryFile(max_size=INLINE_BYTES) as stream:
        for block in files.chunks(sha256):
            stream.write(block)
        stream.seek(0)
        yield stream


def _clean(text):
    """At most MAX_TEXT characters, with no NUL or lone surrogate (PostgreSQL takes
    neither)."""
    text = text[:MAX_TEXT].replace("\x00", "")
    return text.encode("utf-8", "ignore").decode("utf-8").strip()


def _plain_text(sha256):
    data = bytearray()
    for block in files.chunks(sha256):
        data += block
        if len(data) >= MAX_TEXT_BYTES:
            break
    data = bytes(data[:MAX_TEXT_BYTES])
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            # Not final: the cut may fall inside a character.
            return codecs.getincrementaldecoder(encoding)().decode(data, final=False)
        except UnicodeDecodeError:
            pass
    return data.decode("utf-8", "replace")


def _pdf_text(stream):
    from pypdf import PdfReader
    reader = PdfReader(stream)
    if reader.is_encrypted:
        reader.decrypt("")   # many PDFs are "encrypted" with an empty password
    parts, size = [], 0
    for page in reader.pages:
        text = page.extract_text() or ""
        parts.append(text)
        size += len(text)
        if size >= MAX_TEXT:
            break
    return "\n".join(parts)


DOCX_PIECES = re.compile(r"<w:t(?:\s[^>]*)?>([^<]*)</w:t>|(</w:p>|<w:br\b[^>]*>|<w:cr/>)|"
                         r"(<w:tab/>)")


def _docx_text(archive):
    """The text of a Word document's body, read from its XML with a pattern (no XML
    parser, so no entity expansion), a bounded number of bytes."""
    with archive.open("word/document.xml") as member:
        xml = member.read(MAX_XML_BYTES).decode("utf-8", "ignore")
    parts = []
    for text, line, tab in DOCX_PIECES.findall(xml):
        parts.append(html.unescape(text) if text else "\n" if line else "\t" if tab else "")
    return "".join(parts)


def _xlsx_text(stream):
    import openpyxl
    workbook = openpyxl.load_workbook(stream, read_only=True, data_only=True)
    try:
        parts, size, cells = [], 0, 0
        for sheet in workbook.worksheets:
            parts.append(sheet.title)
            for row in sheet.iter_rows(values_only=True):
                cells += len(row)
                line = "\t".join(str(value) for value in row if value is not None)
                if line:
                    parts.append(line)
                    size += len(line)
                if size >= MAX_TEXT or cells >= MAX_CELLS:
                    return "\n".join(parts)
        return "\n".join(parts)
    finally:
        workbook.close()


# -- the job runner: big files -------------------------------------------------------------

def extract_pending(batch=JOB_BATCH, seconds=JOB_SECONDS):
    """Read the text of documents left "pending" (big files), one at a time, each in a
    transaction of its own. On PostgreSQL the document is locked with SKIP LOCKED, so a
    second runner takes the next one, never the same."""
    deadline = time.monotonic() + seconds
    read = failed = 0
    while read + failed < batch and time.monotonic() < deadline:
        query = (select(Document).where(Document.text_state == "pending")
                 .order_by(Document.id).limit(1))
        if _postgresql():
            query = query.with_for_update(skip_locked=True, of=Document)
        document = db.session.scalars(query).first()
        if document is None:
            break
        if document.record_model:
            document.text_state = "none"
        else:
            _extract_into(document)
            if document.text_state == "failed":
                failed += 1
            else:
                read += 1
        db.session.commit()
    if not read + failed:
        return None
    message = ngettext("%(num)d document read", "%(num)d documents read", read)
    if failed:
        message = _("%(read)s, %(failed)s", read=message, failed=ngettext(
            "%(num)d could not be read", "%(num)d could not be read", failed))
    return message


# -- quick search --------------------------------------------------------------------------

@hooks.connect("search.quick")
def search_documents(text, limit):
    """Library documents the user may read whose name, tags, folder or content hold the
    words searched for."""
    if not permissions.permits(current_user, "Document", "r"):
        return None
    query = permissions.apply_rules(select(Document), Document).where(
        Document.folder_id.is_not(None), condition(text))
    found = db.session.scalars(query.order_by(Document.updated_at.desc(), Document.id.desc())
                               .limit(limit)).all()
    paths = folder_paths() if found else {}
    return {"title": _("Documents"), "order": 60,
            "items": [{"title": document.name, "detail": paths.get(document.folder_id, ""),
                       "link": url_for("document.details_view", id=document.id)}
                      for document in found]}


def folder_paths():
    """{folder id: "Top / Sub / Folder"} of every folder (folders are few)."""
    rows = db.session.execute(select(Folder.id, Folder.parent_id, Folder.name)).all()
    parents = {row.id: row.parent_id for row in rows}
    names = {row.id: row.name for row in rows}
    paths = {}
    for folder_id in names:
        parts, current, seen = [], folder_id, set()
        while current is not None and current not in seen:
            seen.add(current)
            parts.append(names.get(current, ""))
            current = parents.get(current)
        paths[folder_id] = " / ".join(reversed(parts))
    return paths
