"""The one place documents are written: added (to a folder or a record), given a new
version, an old version made current again, checked out and in. The library's screens,
the Attachments panel, imports and the demo all come here, so each check is made once.

Each function changes the session and leaves the commit to the caller (one
transaction per user action); a refusal raises Refused before anything is written."""
from flask_babel import gettext as _
from sqlalchemy import func, select

from addons.crm_docs.models import Document, DocumentVersion, access_of
from core import files, permissions
from core import record as record_page
from core.db import db
from core.models import utcnow


class Refused(Exception):
    """What the user tried is not allowed now; the text says why."""


# -- who may do what ------------------------------------------------------------------

def attached_record(document):
    """The record a file is attached to, read within the user's rules; None when it is
    gone or the user may not read it."""
    return record_page.find(f"{document.record_model}:{document.record_id}")


def may_read(document, user):
    if document.record_model:
        return attached_record(document) is not None
    readable = access_of(user)[0]
    return permissions.permits(user, "Document", "r") and (
        readable is None or document.folder_id in readable)


def may_write(document, user):
    """May ``user`` add versions to, change or remove ``document``? An attachment goes
    with its record: who may change the record may change its files."""
    if document.record_model:
        return may_attach(attached_record(document), user)
    writable = access_of(user)[1]
    return permissions.permits(user, "Document", "w") and (
        writable is None or document.folder_id in writable)


def may_attach(record, user):
    """May ``user`` add files to (and remove files from) ``record``?"""
    return record is not None and permissions.permits(user, type(record).__name__, "w")


def may_file_in(folder, user):
    """May ``user`` add a document to ``folder``?"""
    writable = access_of(user)[1]
    return folder is not None and permissions.permits(user, "Document", "c") and (
        writable is None or folder.id in writable)


# -- writing ----------------------------------------------------------------------------

def add(upload, user, folder=None, record=None, name=None, description="", tags=()):
    """A new document from ``upload`` (a werkzeug FileStorage) in ``folder``, or
    attached to ``record``; its first version. ``user`` None: the application (demo
    data), which may file anywhere. Raises files.FileRefused or Refused."""
    if user is None:
        pass
    elif record is not None:
        if not may_attach(record, user):
            raise Refused(_("You may not add files to this record."))
    elif not may_file_in(folder, user):
        raise Refused(_("You may not add documents to this folder."))
    if (folder is None) == (record is None):
        raise Refused(_("Choose a folder."))
    stored = files.save(upload)
    user_id = user.id if user is not None else None
    document = Document(name=files.clean_name(name) if name else stored.name,
                        folder=folder, description=description, tags=list(tags),
                        owner_id=user_id, **_current(stored, 1))
    if record is not None:
        document.record_model, document.record_id = type(record).__name__, record.id
    db.session.add(document)
    db.session.add(DocumentVersion(document=document, number=1, uploaded_by_id=user_id,
                                   **_fields(stored)))
    db.session.flush()
    _text_changed(document)
    return document


def file_in(folder, upload, user, description="", tags=()):
    """Put an upload in a library folder: a file named as a document already there
    becomes that document's new version (as on a shared drive, but kept), any other a
    new document. Returns (document, True when it was a new version)."""
    name = files.clean_name(upload.filename)
    existing = db.session.scalar(select(Document).where(Document.folder_id == folder.id,
                                                        Document.name == name))
    if existing is None:
        return add(upload, user, folder=folder, description=description, tags=tags), False
    add_version(existing, upload, user)
    existing.tags = list(dict.fromkeys([*existing.tags, *tags]))
    return existing, True


def add_version(document, upload, user, comment=""):
    """A new version of ``document`` from ``upload``; it becomes the current one
    (``user`` None: the application)."""
    if user is not None:
        _check_writable(document, user)
    stored = files.save(upload)
    return _new_version(document, user, comment, **_fields(stored))


def make_current(document, version, user):
    """Make an old version current again: as a new version with its content, so that
    the history keeps what happened in order."""
    _check_writable(document, user)
    if version.document_id != document.id:
        raise Refused(_("That version is not one of this document's."))
    if version.number == document.version:
        raise Refused(_("Version %(number)s is the current one already.", number=version.number))
    return _new_version(document, user, _("Version %(number)s made current again",
                                          number=version.number),
                        sha256=version.sha256, size=version.size, kind=version.kind,
                        filename=version.filename)


def check_out(document, user):
    """Reserve ``document`` for ``user``: until checked in, no one else uploads a
    version (two people editing the same file do not overwrite each other)."""
    _check_writable(document, user)
    document.checked_out_by_id, document.checked_out_at = user.id, utcnow()


def check_in(document, user):
    """Release the check-out: its holder, or a document manager for someone gone."""
    if document.checked_out_by_id is None:
        raise Refused(_("The document is not checked out."))
    if document.checked_out_by_id != user.id and access_of(user)[1] is not None:
        raise Refused(_("Only %(name)s, who checked it out, or a document manager may check "
                        "it in.", name=record_page.user_name(document.checked_out_by)))
    document.checked_out_by_id = document.checked_out_at = None


def remove(document, user):
    """Delete a document and its versions (their contents stay in the store until the
    core purges what nothing names)."""
    if not may_write(document, user):
        raise Refused(_("You may not remove this file."))
    db.session.delete(document)


# -- helpers ------------------------------------------------------------------------------

def _check_writable(document, user):
    if not may_write(document, user):
        raise Refused(_("You may not change this document."))
    holder = document.checked_out_by_id
    if holder is not None and holder != user.id:
        raise Refused(_("%(name)s has checked this document out since %(at)s; wait for them "
                        "to check it in.", name=record_page.user_name(document.checked_out_by),
                        at=record_page.text_of(document.checked_out_at)))


def _fields(stored):
    return {"sha256": stored.sha256, "size": stored.size, "kind": stored.kind.name,
            "filename": stored.name}


def _current(stored, number):
    return {"version": number, **_fields(stored)}


def _new_version(document, user, comment, **content):
    # The row is locked, so two uploads at once number their versions one after another.
    db.session.execute(select(Document.id).where(Document.id == document.id).with_for_update())
    number = (db.session.scalar(select(func.max(DocumentVersion.number))
                                .where(DocumentVersion.document_id == document.id)) or 0) + 1
    version = DocumentVersion(document_id=document.id, number=number,
                              uploaded_by_id=user.id if user is not None else None,
                              comment=comment[:500], **content)
    db.session.add(version)
    document.version = number
    for key, value in content.items():
        setattr(document, key, value)
    db.session.flush()
    _text_changed(document)
    return version


def _text_changed(document):
    """The document's words are read again for search (search.py: at once for a small
    file, by the job runner for a big one)."""
    from addons.crm_docs import search
    search.refresh(document)
