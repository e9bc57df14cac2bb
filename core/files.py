"""Files the suite keeps for good (documents, attachments, issued PDFs), stored by
content: each file is named by its SHA-256, so identical content is stored once.

Where, set in config.ini [files]: ``storage = folder`` keeps them on disk under
``folder`` (instance/files by default; a disk several hosts may share), as
``ab/cd/abcd...``; ``storage = database`` keeps them in the database itself, in chunks of
a mebibyte (``core_blob_chunk``), for several hosts without a shared disk. Either way a
``core_blob`` row says the content exists, and how big it is.

    stored = files.save(request.files["file"])     # checked, hashed, streamed, kept
    return files.response(stored.sha256, "报价单.pdf")

Uploads are read and written a block at a time, never whole in memory. A file is put in
place within the caller's transaction: if that rolls back (or a savepoint around the save
does, or the session is closed by an error), a file it added is removed again, so a
failed upload leaves neither a row nor an orphan file; content that was stored before
stays.

What refers to a stored file is declared with ``register_reference``; ``purge`` removes
the contents nothing refers to any more, whether or not the referring addon is enabled.
"""
import codecs
import hashlib
import logging
import os
import tempfile
import time
import unicodedata
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from urllib.parse import quote

from flask import Response, abort, current_app, send_file, stream_with_context
from flask_babel import gettext as _
from sqlalchemy import delete, event, inspect, select
from sqlalchemy.orm import Session

from core.db import db, dialect_insert
from core.i18n import label, mark
from core.models import Blob, BlobChunk, utcnow

log = logging.getLogger(__name__)
CHUNK = 2 ** 20


class FileRefused(ValueError):
    """A file or file name that is not accepted; the text says why, for the user."""


# -- kinds of file, told from their content -------------------------------------------

@dataclass(frozen=True)
class Kind:
    name: str            # pdf, image, text, markup, ...: what the content was found to be
    mimetype: str
    inline: bool = False  # shown in the page (PDFs, images); everything else downloaded


PDF = Kind("pdf", "application/pdf", inline=True)
BINARY = Kind("binary", "application/octet-stream")
TEXT = Kind("text", "text/plain")
# Anything a browser would run or render as a page: only ever downloaded, as bytes.
MARKUP = Kind("markup", "application/octet-stream")
ZIP = Kind("zip", "application/zip")
OLE = Kind("ole", "application/x-ole-storage")

# (first bytes, offset, kind): what a known binary format starts with.
SIGNATURES = (
    (b"%PDF-", 0, PDF),
    (b"\x89PNG\r\n\x1a\n", 0, Kind("png", "image/png", inline=True)),
    (b"\xff\xd8\xff", 0, Kind("jpeg", "image/jpeg", inline=True)),
    (b"GIF87a", 0, Kind("gif", "image/gif", inline=True)),
    (b"GIF89a", 0, Kind("gif", "image/gif", inline=True)),
    (b"WEBP", 8, Kind("webp", "image/webp", inline=True)),
    (b"WAVE", 8, Kind("wav", "audio/wav")),
    (b"AVI ", 8, Kind("avi", "video/x-msvideo")),
    (b"ftyp", 4, Kind("mp4", "video/mp4")),
    (b"\x1aE\xdf\xa3", 0, Kind("webm", "video/webm")),
    (b"ID3", 0, Kind("mp3", "audio/mpeg")),
    (b"OggS", 0, Kind("ogg", "audio/ogg")),
    (b"PK\x03\x04", 0, ZIP),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", 0, OLE),
    (b"\x1f\x8b", 0, Kind("gzip", "application/gzip")),
    (b"7z\xbc\xaf\x27\x1c", 0, Kind("7z", "application/x-7z-compressed")),
    (b"Rar!\x1a\x07", 0, Kind("rar", "application/vnd.rar")),
    (b"BM", 0, Kind("bmp", "image/bmp")),
    (b"II*\x00", 0, Kind("tiff", "image/tiff")),
    (b"MM\x00*", 0, Kind("tiff", "image/tiff")),
)
HEAD = 4096
# Which kind of content a file name's ending promises. An ending not listed here
# promises nothing: any content is accepted, and downloaded as bytes.
EXTENSIONS = {
    "pdf": "pdf", "png": "png", "jpg": "jpeg", "jpeg": "jpeg", "gif": "gif", "webp": "webp",
    "bmp": "bmp", "tif": "tiff", "tiff": "tiff", "wav": "wav", "avi": "avi",
    "mp4": "mp4", "m4a": "mp4", "m4v": "mp4", "mov": "mp4", "webm": "webm", "mkv": "webm",
    "mp3": "mp3", "ogg": "ogg", "gz": "gzip", "tgz": "gzip", "7z": "7z", "rar": "rar",
    "zip": "zip", "docx": "zip", "xlsx": "zip", "pptx": "zip", "odt": "zip", "ods": "zip",
    "odp": "zip", "doc": "ole", "xls": "ole", "ppt": "ole", "msg": "ole",
    "txt": "text", "csv": "text", "tsv": "text", "md": "text", "log": "text",
    "json": "text", "ini": "text", "vcf": "text", "ics": "text",
    "html": "markup", "htm": "markup", "xhtml": "markup", "svg": "markup", "xml": "markup",
    "js": "markup", "mjs": "markup",
}
MARKUP_STARTS = (b"<!doctype html", b"<html", b"<svg", b"<?xml", b"<script", b"<head",
                 b"<body", b"<iframe")
KIND_LABELS = {"pdf": "PDF", "jpeg": "JPEG", "zip": mark("an Office document or ZIP"),
               "ole": mark("an old Office document"), "text": mark("text"),
               "markup": mark("text")}


def kind_of(head):
    """What ``head`` (the first bytes of a file) is: a known binary format, text (with
    web pages, SVG and XML as MARKUP), or BINARY."""
    for signature, offset, kind in SIGNATURES:
        if head[offset:offset + len(signature)] == signature:
            return kind
    if b"\x00" in head:
        return BINARY
    if head.lstrip().lower().startswith(MARKUP_STARTS):
        return MARKUP
    for encoding in ("utf-8", "gb18030"):
        try:
            # Incrementally: the head of a longer file may end inside a character.
            codecs.getincrementaldecoder(encoding)().decode(head, final=len(head) < HEAD)
            return TEXT
        except UnicodeDecodeError:
            pass
    return BINARY


def checked_kind(name, head):
    """The kind of a file named ``name`` whose content starts with ``head``; refused
    when the content is not what the name's ending says (a script renamed .pdf, a
    program renamed .txt). A web page or SVG is MARKUP whatever it is called."""
    found = kind_of(head)
    extension = Path(name).suffix.lower().lstrip(".")
    promised = EXTENSIONS.get(extension)
    if promised is None:
        return MARKUP if found is TEXT and head.lstrip().lower().startswith(b"<") else found
    if promised == "markup":
        if found.name not in ("text", "markup"):
            raise FileRefused(_("The file's content is not text, as .%(ending)s says.",
                                ending=extension))
        return MARKUP
    if promised == "text" and found is MARKUP:
        return MARKUP
    if found.name != promised:
        raise FileRefused(_("The file's content is not %(kind)s, as .%(ending)s says.",
                            kind=label(KIND_LABELS[promised]) if promised in KIND_LABELS
                            else promised.upper(), ending=extension))
    return found


def kind_named(name):
    """The Kind object of a kind's name, as stored with a file."""
    for _signature, _offset, kind in SIGNATURES:
        if kind.name == name:
            return kind
    return {"text": TEXT, "markup": MARKUP}.get(name, BINARY)


# -- file names ------------------------------------------------------------------------

# Characters that change which way text runs: they make "invoice‮fdp.exe" read as
# "invoiceexe.pdf".
BIDI_CONTROLS = set("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e"
                    "\u2066\u2067\u2068\u2069")


def clean_name(name):
    """A file name as kept: in any language, but refused with folder separators,
    control or direction characters, or nothing but dots and spaces."""
    name = unicodedata.normalize("NFC", str(name or "")).strip()
    if "/" in name or "\\" in name:
        raise FileRefused(_("A file name may not contain / or \\."))
    if any(ch in BIDI_CONTROLS or unicodedata.category(ch) in ("Cc", "Cf", "Cs")
           for ch in name):
        raise FileRefused(_("The file name holds control or right-to-left characters."))
    if not name.strip(". "):
        raise FileRefused(_("The file has no name."))
    if len(name) > 200:
        stem, dot, extension = name.rpartition(".")
        name = (stem[:190] + dot + extension[:9]) if dot else name[:200]
    return name


def _ascii(text):
    """``text`` in letters, digits and a few safe signs of ASCII (accents dropped)."""
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(ch if ch.isalnum() or ch in " ._()-" else "_" for ch in text).strip(" ._")


def size_text(size):
    """A size as people read it: 512 B, 2.0 KB, 15 KB, 3.5 MB."""
    if size is None:
        return ""
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" or size >= 10 else f"{size:.1f} {unit}"
        size /= 1024


def disposition(name, inline=False):
    """The Content-Disposition of a file called ``name`` (any language): an ASCII
    ``filename`` for old clients and RFC 5987's ``filename*`` with the real name."""
    path = Path(name)
    suffix = _ascii(path.suffix.lstrip("."))
    ascii_name = (_ascii(path.stem if suffix else name) or "file") + (f".{suffix}" if suffix else "")
    value = f'{"inline" if inline else "attachment"}; filename="{ascii_name}"'
    if ascii_name != name:
        value += f"; filename*=UTF-8''{quote(name, safe='')}"
    return value


# -- storing --------------------------------------------------------------------------

@dataclass
class Stored:
    sha256: str
    size: int
    kind: Kind
    name: str


def storage():
    return current_app.extensions["crm"].settings.files_storage


def root():
    folder = Path(current_app.extensions["crm"].settings.files_folder)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def path_of(sha256):
    return root() / sha256[:2] / sha256[2:4] / sha256


def max_bytes():
    return current_app.config["MAX_CONTENT_LENGTH"] or 20 * 2 ** 20


def save(file, name=None, limit=None):
    """Keep an uploaded file (a werkzeug FileStorage, or any object with ``stream`` and
    ``filename``): its name checked, its content checked against the name and the size
    limit, hashed while it is copied a block at a time. Returns Stored."""
    name = clean_name(name if name is not None else file.filename)
    limit = limit or max_bytes()
    temporary = tempfile.NamedTemporaryFile(dir=_spool(), delete=False)
    try:
        digest, size, head = hashlib.sha256(), 0, b""
        with temporary:
            while block := file.stream.read(CHUNK):
                size += len(block)
                if size > limit:
                    raise FileRefused(_("The file is larger than %(size)s MB.",
                                        size=limit // 2 ** 20))
                if len(head) < HEAD:
                    head += block[:HEAD - len(head)]
                digest.update(block)
                temporary.write(block)
        if size == 0:
            raise FileRefused(_("The file is empty."))
        kind = checked_kind(name, head)
        sha256 = digest.hexdigest()
        _keep(Path(temporary.name), sha256, size)
        return Stored(sha256, size, kind, name)
    finally:
        Path(temporary.name).unlink(missing_ok=True)


def save_bytes(data, name):
    """Keep content made by the suite itself (an issued PDF)."""
    import io

    class _Given:
        stream, filename = io.BytesIO(data), name
    return save(_Given, name, limit=max(len(data), 1))


def _spool():
    """Where an upload is copied while it is checked: beside the files when they are
    kept on disk, so that moving it into place is a rename."""
    folder = (root() if storage() == "folder"
              else Path(current_app.instance_path)) / ".incoming"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _keep(temporary, sha256, size):
    session = db.session()      # the Session itself, not its scoped proxy
    if not _claim(session, sha256, size):
        # Stored before (by this transaction or a committed one): the row says so. Only a
        # file lost from the folder is put back; it is not this transaction's to remove.
        if storage() == "folder" and not path_of(sha256).exists():
            _place(temporary, sha256)
        return
    if storage() == "database":
        with temporary.open("rb") as source:
            seq = 0
            while block := source.read(CHUNK):
                session.execute(BlobChunk.__table__.insert().values(
                    sha256=sha256, seq=seq, data=block))
                seq += 1
        return
    # Put in place even over a file already there (one an interrupted upload left):
    # this transaction owns the content now, and removes it again if it rolls back.
    _track(session, _place(temporary, sha256))


def _claim(session, sha256, size):
    """Add the content's row; True when this transaction added it. When it was there
    already its time is renewed instead (the row is locked and younger now), so that a
    purge running at this moment spares it (see purge)."""
    for _attempt in range(3):
        if session.execute(dialect_insert(Blob).values(
                sha256=sha256, size=size, created_at=utcnow()).on_conflict_do_nothing()
                .returning(Blob.sha256)).scalar():
            return True
        if session.execute(Blob.__table__.update().where(Blob.__table__.c.sha256 == sha256)
                           .values(created_at=utcnow())
                           .returning(Blob.__table__.c.sha256)).scalar():
            return False
        # Purged between the two statements: add it again.
    raise RuntimeError(f"stored file {sha256} could not be claimed")


def _place(temporary, sha256):
    target = path_of(sha256)
    target.parent.mkdir(parents=True, exist_ok=True)
    os.replace(temporary, target)
    return target


# -- files put in place within a transaction --------------------------------------------
#
# Each file this process put in place is listed with the transaction (or savepoint)
# that owns it and its inode. When that commits, the file passes to the enclosing
# transaction, or, at the outermost, is kept for good. When it ends any other way
# (rollback, a savepoint rolled back, the session closed by an error in a request) the
# file is removed: unless another transaction has put its own copy there meanwhile
# (another inode), which then stays.

NEW_FILES = "crm_new_files"


def _owner(session):
    return session.get_nested_transaction() or session.get_transaction()


def _track(session, path):
    session.info.setdefault(NEW_FILES, []).append((_owner(session), path, path.stat().st_ino))


def _enclosing(transaction):
    """The savepoint or outermost transaction around ``transaction`` (skipping the
    ORM's internal subtransactions), None at the outermost."""
    parent = transaction.parent
    while parent is not None and not parent.nested and parent.parent is not None:
        parent = parent.parent
    return parent


@event.listens_for(Session, "after_commit")
def _files_kept(session):
    entries = session.info.get(NEW_FILES)
    if not entries:
        return
    committed = _owner(session)
    parent = _enclosing(committed)
    session.info[NEW_FILES] = [(parent if owner is committed else owner, path, inode)
                               for owner, path, inode in entries
                               if owner is not committed or parent is not None]


@event.listens_for(Session, "after_transaction_end")
def _forget_new_files(session, transaction):
    entries = session.info.get(NEW_FILES)
    if not entries:
        return
    kept = []
    for owner, path, inode in entries:
        if owner is transaction:
            remove_if_same(path, inode)
        else:
            kept.append((owner, path, inode))
    session.info[NEW_FILES] = kept


def remove_if_same(path, inode):
    """Remove the file at ``path`` if it is still the one of ``inode``. It is moved
    aside first (one atomic step) and put back if it turns out to be another's, so a
    copy another process has just put there is never lost."""
    aside = path.with_name(f".{path.name}.{os.getpid()}.{id(path)}.removing")
    try:
        os.rename(path, aside)
    except FileNotFoundError:
        return
    try:
        if aside.stat().st_ino != inode:
            try:
                os.link(aside, path)
            except FileExistsError:
                pass
    finally:
        aside.unlink(missing_ok=True)


# -- reading ---------------------------------------------------------------------------

def exists(sha256):
    return db.session.get(Blob, sha256) is not None


def chunks(sha256):
    """The content, a block at a time."""
    if storage() == "database":
        seq = 0
        while True:
            block = db.session.scalar(select(BlobChunk.data).where(
                BlobChunk.sha256 == sha256, BlobChunk.seq == seq))
            if block is None:
                return
            yield bytes(block)
            seq += 1
    else:
        with path_of(sha256).open("rb") as source:
            while block := source.read(CHUNK):
                yield block


def read(sha256):
    """The whole content, for small files the suite made itself (an issued PDF)."""
    return b"".join(chunks(sha256))


def response(sha256, name, kind=BINARY, inline=False, size=None):
    """The stored content as a download (or, for PDFs and images when ``inline``, to
    show in the page), streamed. Never rendered by the browser as anything else."""
    inline = inline and kind.inline
    mimetype = kind.mimetype if inline or kind not in (MARKUP, TEXT) else \
        "application/octet-stream"
    if not exists(sha256) or (storage() == "folder" and not path_of(sha256).is_file()):
        # Lost from the store (a disk restored without it): `files check` names it.
        log.error("stored file %s is missing", sha256)
        abort(404)
    if storage() == "folder":
        result = send_file(path_of(sha256), mimetype=mimetype, conditional=True,
                           etag=sha256, max_age=0)
    else:
        result = Response(stream_with_context(chunks(sha256)), mimetype=mimetype)
        if size is not None:
            result.content_length = size
    result.headers["Content-Disposition"] = disposition(name, inline)
    result.headers["X-Content-Type-Options"] = "nosniff"
    result.headers["Cache-Control"] = "private, no-store"
    if kind is PDF and inline:
        # Shown in a frame of our own pages by the browser's PDF viewer, which is a
        # plugin: the app's own policy (object-src 'none', frame-ancestors 'none')
        # would blank it. Chromium refuses a PDF under a sandbox; its viewer runs no
        # document scripts.
        result.headers["Content-Security-Policy"] = "default-src 'none'; object-src 'self'; " \
            "img-src 'self' data:; style-src 'unsafe-inline'; frame-ancestors 'self'"
        result.headers["X-Frame-Options"] = "SAMEORIGIN"
    elif kind is not PDF:
        # Whatever a browser makes of it, it runs nothing and loads nothing.
        result.headers["Content-Security-Policy"] = "default-src 'none'; img-src 'self' data:; " \
            "style-src 'unsafe-inline'; sandbox"
    return result


# -- what refers to stored files; purging and checking -----------------------------------

_references = []


def register_reference(column):
    """Declare a column that holds SHA-256s of stored files (at import time, so that
    a disabled addon's files are kept too)."""
    if column not in _references:
        _references.append(column)


class PurgeRefused(Exception):
    """A purge that would not be safe now; the text says why."""


def _reference_columns():
    """The registered columns whose tables this database has (an addon never enabled
    has none)."""
    tables = set(inspect(db.session.connection()).get_table_names())
    return [column for column in _references if column.table.name in tables]


def _unused_condition(older_than_hours):
    cutoff = utcnow() - timedelta(hours=older_than_hours)
    condition = Blob.__table__.c.created_at < cutoff
    for column in _reference_columns():
        condition &= Blob.__table__.c.sha256.not_in(select(column).where(column.is_not(None)))
    return condition


def unused(older_than_hours=24):
    """SHA-256s of contents nothing refers to, stored (or last saved again) more than
    ``older_than_hours`` ago: a younger one may belong to an upload still being saved."""
    return db.session.scalars(select(Blob.sha256).where(_unused_condition(older_than_hours))
                              .order_by(Blob.sha256)).all()


def _check_purge_is_safe():
    """Refuse while the database names an addon whose code is missing here: the
    columns by which its rows refer to files are unknown, so its files would go."""
    from core.models import AddonState
    addons = current_app.extensions["crm"].registry.addons
    missing = sorted(name for name in db.session.scalars(select(AddonState.name))
                     if name not in addons or not addons[name].installable)
    if missing:
        raise PurgeRefused(f"the database holds the addons {', '.join(missing)}, whose code "
                           "is missing here; nothing was removed")


@dataclass
class Purged:
    contents: int = 0        # stored contents removed (rows, and their files or chunks)
    size: int = 0            # their bytes
    stray: int = 0           # files on disk without a row, and abandoned partial uploads


def purge(older_than_hours=24):
    """Remove the contents nothing refers to, stored more than ``older_than_hours`` ago,
    and the files on disk no row names (left by a process killed mid-way). Returns
    Purged. Raises PurgeRefused when an installed addon's code is missing.

    One DELETE decides and removes, its condition checked again on each row as it is
    deleted: a save of the same content renews the row's time (_claim), so content an
    upload is using at this moment is never taken. A file is unlinked after the commit,
    unless a new upload has put its own copy there meanwhile (remove_if_same)."""
    _check_purge_is_safe()
    result = Purged()
    folder = storage() == "folder"
    candidates = unused(older_than_hours)
    for start in range(0, len(candidates), 500):
        batch = candidates[start:start + 500]
        inodes = {sha256: _inode(path_of(sha256)) for sha256 in batch} if folder else {}
        table = Blob.__table__
        removed = db.session.execute(
            delete(table).where(table.c.sha256.in_(batch), _unused_condition(older_than_hours))
            .returning(table.c.sha256, table.c.size)).all()
        if removed:
            db.session.execute(delete(BlobChunk.__table__).where(
                BlobChunk.__table__.c.sha256.in_([row.sha256 for row in removed])))
        db.session.commit()
        result.contents += len(removed)
        result.size += sum(row.size for row in removed)
        for row in removed:
            if inodes.get(row.sha256) is not None:
                remove_if_same(path_of(row.sha256), inodes[row.sha256])
    result.stray = _remove_stray(older_than_hours)
    return result


def _inode(path):
    try:
        return path.stat().st_ino
    except FileNotFoundError:
        return None


def _remove_stray(older_than_hours):
    """Partial uploads a killed process left, and (storage = folder) files no row
    names, older than the cut-off and an hour at least: a younger one may be an upload
    whose transaction is still open."""
    cutoff = time.time() - max(older_than_hours, 1) * 3600
    strays = [path for path in _spool().iterdir() if path.is_file()]
    if storage() == "folder":
        known = set(db.session.scalars(select(Blob.sha256)))
        db.session.rollback()
        strays += [path for path in stored_paths() if path.name not in known]
    removed = 0
    for path in strays:
        try:
            stat = path.stat()
        except FileNotFoundError:
            continue
        if stat.st_mtime < cutoff:
            remove_if_same(path, stat.st_ino)
            removed += 1
    return removed


def stored_paths(folder=None):
    """Every file of the folder that is named as a stored content (ab/cd/abcd...):
    not the partial uploads, nor anything else kept there."""
    folder = Path(folder) if folder is not None else root()
    if not folder.is_dir():
        return
    for first in sorted(folder.iterdir()):
        if not (first.is_dir() and len(first.name) == 2):
            continue
        for second in sorted(first.iterdir()):
            if second.is_dir() and len(second.name) == 2:
                yield from (path for path in sorted(second.iterdir())
                            if len(path.name) == 64 and path.name.startswith(
                                first.name + second.name) and path.is_file())


def check():
    """Every stored content read again and hashed: yields (sha256, problem) for each
    that is missing, of another size, or whose hash no longer matches."""
    rows = db.session.execute(select(Blob.sha256, Blob.size).order_by(Blob.sha256)).all()
    for sha256, size in rows:
        digest, found = hashlib.sha256(), 0
        try:
            for block in chunks(sha256):
                digest.update(block)
                found += len(block)
        except FileNotFoundError:
            yield sha256, "missing"
            continue
        except OSError as exc:
            yield sha256, f"unreadable ({exc.strerror or exc})"
            continue
        if found == 0 and size:
            yield sha256, "missing"
        elif found != size:
            yield sha256, f"size {found}, expected {size}"
        elif digest.hexdigest() != sha256:
            yield sha256, "content changed"
        # A long check does not hold one read transaction (and its snapshot) open.
        db.session.rollback()


def purge_job():
    """The core.purge_files job: what `python run.py files purge` does, daily."""
    result = purge()
    return (f"removed {result.contents} stored files ({result.size} bytes) and "
            f"{result.stray} stray files")
