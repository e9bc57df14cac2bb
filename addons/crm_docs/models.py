"""Documents: the library (folders with group access, tags, versions, check-out), files
attached to any record, PDF templates edited in the screens, and the PDFs issued.

File contents live in the core's store (core/files.py), named by their SHA-256: a
version, an attachment and an issued PDF only name their content, so identical files
are stored once, and a content nothing names any more is purged by the core."""
from flask import g, has_request_context
from flask_babel import lazy_gettext as _l
from sqlalchemy import false, select
from sqlalchemy.dialects.postgresql import TSVECTOR

from core import files
from core.db import db, link_table
from core.i18n import mark
from core.models import Group, OwnedMixin, User, utcnow, user_groups

TEXT_STATES = (mark("pending"), mark("done"), mark("none"), mark("failed"))
ISSUE_EVENTS = (mark("sent"), mark("signed"), mark("final"), mark("resent"))

folder_readers = link_table("crm_doc_folder_reader", ("folder_id", "crm_doc_folder.id"),
                            ("group_id", "core_group.id"))
folder_writers = link_table("crm_doc_folder_writer", ("folder_id", "crm_doc_folder.id"),
                            ("group_id", "core_group.id"))
document_tags = link_table("crm_document_tag", ("document_id", "crm_document.id"),
                           ("tag_id", "crm_doc_tag.id"))


class Folder(db.Model):
    """A folder of the library. Who may read and write it: its groups, or where it has
    none, its parent's; a top folder with none is open to every document user."""

    __tablename__ = "crm_doc_folder"
    __label__ = mark("Folder")
    __audit__ = True
    __table_args__ = (db.UniqueConstraint("parent_id", "name"),)
    id = db.Column(db.Integer, primary_key=True)
    name = db.Column(db.String(120), nullable=False, info={"label": _l("Name")})
    parent_id = db.Column(db.ForeignKey("crm_doc_folder.id", ondelete="CASCADE"), index=True,
                          info={"label": _l("Parent folder")})
    parent = db.relationship("Folder", remote_side=[id], info={"label": _l("Parent folder")})
    description = db.Column(db.Text, nullable=False, default="",
                            info={"label": _l("Description")})
    readers = db.relationship(Group, secondary=folder_readers,
                              info={"label": _l("Groups who may read")})
    writers = db.relationship(Group, secondary=folder_writers,
                              info={"label": _l("Groups who may add and change")})

    def __str__(self):
        return self.name


class DocTag(db.Model):
    __tablename__ = "crm_doc_tag"
    __label__ = mark("Document tag")
    id = db.Column(db.Integer, primary_key=True)
    name = db.Column(db.String(60), nullable=False, unique=True, info={"label": _l("Name")})

    def __str__(self):
        return self.name


class Document(OwnedMixin, db.Model):
    """A file of the library (in a folder) or attached to a record (named by model and
    id); what it holds now is its current version's, copied here so that lists need no
    join."""

    __tablename__ = "crm_document"
    __label__ = mark("Document")
    __table_args__ = (db.Index("ix_crm_document_record", "record_model", "record_id"),
                      db.Index("ix_crm_document_folder_name", "folder_id", "name"),
                      # The library's order, newest first: a search's first page.
                      db.Index("ix_crm_document_updated_at", "updated_at"))
    id = db.Column(db.Integer, primary_key=True)
    name = db.Column(db.String(200), nullable=False, index=True, info={"label": _l("Name")})
    folder_id = db.Column(db.ForeignKey("crm_doc_folder.id"), info={"label": _l("Folder")})
    folder = db.relationship(Folder, info={"label": _l("Folder")})
    record_model = db.Column(db.String(64), info={"label": _l("Attached to")})
    record_id = db.Column(db.Integer, info={"label": _l("Record")})
    description = db.Column(db.Text, nullable=False, default="",
                            info={"label": _l("Description")})
    tags = db.relationship(DocTag, secondary=document_tags, info={"label": _l("Tags")})
    # The current version, as it is in crm_document_version.
    version = db.Column(db.Integer, nullable=False, default=1, info={"label": _l("Version")})
    # What the file is, as the application reads it: not in the record's feed.
    sha256 = db.Column(db.String(64), nullable=False, index=True,
                       info={"audit": False, "label": "SHA-256"})
    size = db.Column(db.BigInteger, nullable=False, info={"label": _l("Size")})
    kind = db.Column(db.String(16), nullable=False, info={"label": _l("Type"), "audit": False})
    filename = db.Column(db.String(200), nullable=False, info={"label": _l("File name")})
    # Check-out: while set, only this user uploads new versions.
    checked_out_by_id = db.Column(db.ForeignKey("core_user.id"), index=True,
                                  info={"label": _l("Checked out by")})
    checked_out_by = db.relationship(User, foreign_keys=[checked_out_by_id],
                                     info={"label": _l("Checked out by")})
    checked_out_at = db.Column(db.DateTime, info={"label": _l("Checked out at")})
    text_state = db.Column(db.String(8), nullable=False, default="pending", index=True,
                           info={"label": _l("Text for search"), "audit": False})

    def __str__(self):
        return self.name

    @property
    def file_kind(self):
        return files.kind_named(self.kind)

    @classmethod
    def __record_rule__(cls, user):
        """Library documents in the folders the user may read; attachments are read
        through their record (addons/crm_docs/attachments.py), never through here."""
        readable = access_of(user)[0]
        if readable is None:
            return cls.folder_id.is_not(None)
        return cls.folder_id.in_(readable) if readable else false()


class DocumentVersion(db.Model):
    """One upload of a document. Versions are never changed or removed with their
    document still there; making an old one current copies it onto the document."""

    __tablename__ = "crm_document_version"
    __label__ = mark("Document version")
    __table_args__ = (db.UniqueConstraint("document_id", "number"),)
    id = db.Column(db.Integer, primary_key=True)
    document_id = db.Column(db.ForeignKey("crm_document.id", ondelete="CASCADE"),
                            nullable=False, info={"label": _l("Document")})
    document = db.relationship(Document, backref=db.backref(
        "versions", order_by="DocumentVersion.number.desc()", cascade="all, delete-orphan",
        passive_deletes=True))
    number = db.Column(db.Integer, nullable=False, info={"label": _l("Version")})
    sha256 = db.Column(db.String(64), nullable=False, index=True, info={"label": "SHA-256"})
    size = db.Column(db.BigInteger, nullable=False, info={"label": _l("Size")})
    kind = db.Column(db.String(16), nullable=False, info={"label": _l("Type")})
    filename = db.Column(db.String(200), nullable=False, info={"label": _l("File name")})
    comment = db.Column(db.String(500), nullable=False, default="",
                        info={"label": _l("Comment")})
    uploaded_by_id = db.Column(db.ForeignKey("core_user.id"), index=True)
    uploaded_by = db.relationship(User, info={"label": _l("Uploaded by")})
    uploaded_at = db.Column(db.DateTime, nullable=False, default=utcnow,
                            info={"label": _l("Uploaded at")})


class DocumentText(db.Model):
    """The words of a document's current version, for search: ``content`` as
    extracted, ``terms`` as indexed (Latin words, and Chinese as overlapping pairs of
    characters, so that a word is found inside a sentence; see search.py). On
    PostgreSQL ``terms`` is a tsvector with a GIN index."""

    __tablename__ = "crm_document_text"
    __label__ = mark("Document text")
    __table_args__ = (db.Index("ix_crm_document_text_terms", "terms", postgresql_using="gin")
                      .ddl_if(dialect="postgresql"),)
    document_id = db.Column(db.ForeignKey("crm_document.id", ondelete="CASCADE"),
                            primary_key=True)
    content = db.Column(db.Text, nullable=False, default="")
    terms = db.Column(db.Text().with_variant(TSVECTOR(), "postgresql"))


class TemplateVersion(db.Model):
    """A PDF template as saved in the screens: every save is a new version; the
    newest is the one in use (``source`` None: back to the template file)."""

    __tablename__ = "crm_doc_template_version"
    __label__ = mark("Template version")
    __table_args__ = (db.UniqueConstraint("template", "number"),)
    id = db.Column(db.Integer, primary_key=True)
    template = db.Column(db.String(200), nullable=False, info={"label": _l("Template")})
    number = db.Column(db.Integer, nullable=False, info={"label": _l("Version")})
    source = db.Column(db.Text, info={"label": _l("Text")})
    comment = db.Column(db.String(500), nullable=False, default="",
                        info={"label": _l("Comment")})
    saved_by_id = db.Column(db.ForeignKey("core_user.id"), index=True)
    saved_by = db.relationship(User, info={"label": _l("Saved by")})
    saved_at = db.Column(db.DateTime, nullable=False, default=utcnow,
                         info={"label": _l("Saved at")})


class IssuedDocument(db.Model):
    """A PDF as it left the suite (sent, signed, final): its bytes in the store, never
    changed; the template and version it was rendered from; who, when, to whom."""

    __tablename__ = "crm_issued_document"
    __label__ = mark("Issued document")
    __table_args__ = (db.Index("ix_crm_issued_document_record", "record_model", "record_id",
                               "issued_at"),)
    id = db.Column(db.Integer, primary_key=True)
    record_model = db.Column(db.String(64), nullable=False, info={"label": _l("Record")})
    record_id = db.Column(db.Integer, nullable=False, info={"label": _l("Record")})
    kind = db.Column(db.String(32), nullable=False, info={"label": _l("Document")})
    event = db.Column(db.String(8), nullable=False, info={"label": _l("Issued as")})
    filename = db.Column(db.String(200), nullable=False, info={"label": _l("File name")})
    sha256 = db.Column(db.String(64), nullable=False, index=True, info={"label": "SHA-256"})
    size = db.Column(db.BigInteger, nullable=False, info={"label": _l("Size")})
    template = db.Column(db.String(200), nullable=False, default="",
                         info={"label": _l("Template")})
    # The template's version saved in the screens; None: the template file.
    template_version = db.Column(db.Integer, info={"label": _l("Template version")})
    recipients = db.Column(db.Text, nullable=False, default="",
                           info={"label": _l("Recipients")})
    message_id = db.Column(db.ForeignKey("core_message.id", ondelete="SET NULL"), index=True,
                           info={"label": _l("Message")})
    issued_by_id = db.Column(db.ForeignKey("core_user.id"), index=True)
    issued_by = db.relationship(User, info={"label": _l("Issued by")})
    issued_at = db.Column(db.DateTime, nullable=False, default=utcnow,
                          info={"label": _l("Issued at")})


files.register_reference(DocumentVersion.sha256)
files.register_reference(IssuedDocument.sha256)


# -- who may read and write which folders --------------------------------------------------

def access_of(user):
    """(readable folder ids, writable folder ids) for ``user``; None for "every folder"
    (administrators and document managers). Folders are few: read once per request."""
    if user.is_admin or any(group.code == "docs_manager" for group in user.groups):
        return None, None
    if has_request_context() and g.get("crm_doc_access", (None,))[0] == user.id:
        return g.crm_doc_access[1]
    parents = dict(db.session.execute(select(Folder.id, Folder.parent_id)).all())
    readers, writers = {}, {}
    for table, found in ((folder_readers, readers), (folder_writers, writers)):
        for folder_id, group_id in db.session.execute(select(table.c.folder_id,
                                                             table.c.group_id)):
            found.setdefault(folder_id, set()).add(group_id)
    mine = set(db.session.scalars(select(user_groups.c.group_id)
                                  .where(user_groups.c.user_id == user.id)))

    def allowed(folder_id, groups):
        seen = set()
        while folder_id is not None and folder_id not in seen:
            seen.add(folder_id)
            if folder_id in groups:
                return bool(groups[folder_id] & mine)
            folder_id = parents.get(folder_id)
        return True

    readable = {f for f in parents if allowed(f, readers)}
    writable = {f for f in readable if allowed(f, writers)}
    result = (readable, writable)
    if has_request_context():
        g.crm_doc_access = (user.id, result)
    return result
