"""Files users upload, checked and kept under instance/<area>/: instance/uploads/ until
used (imports), instance/attachments/ for files kept with a record (receipts).

A file is accepted only with an allowed extension whose content looks like that kind
of file; it is stored under a random name, never the name the browser sent."""
import mimetypes
import re
import secrets
import time
from pathlib import Path

from flask import current_app
from flask_babel import gettext as _

# What the first bytes of an allowed file look like.
SIGNATURES = {
    "xlsx": (b"PK\x03\x04",),
    "pdf": (b"%PDF-",),
    "png": (b"\x89PNG\r\n\x1a\n",),
    "jpg": (b"\xff\xd8\xff",),
    "jpeg": (b"\xff\xd8\xff",),
}
HEAD = max(len(signature) for signatures in SIGNATURES.values() for signature in signatures)
TOKEN = re.compile(r"^[A-Za-z0-9_-]{16,64}\.[a-z0-9]{1,8}$")
UPLOADS = "uploads"
AREAS = (UPLOADS, "attachments")


class UploadRefused(Exception):
    """An upload that is not accepted; the text says why."""


def folder(area=UPLOADS):
    if area not in AREAS:
        raise ValueError(f"unknown upload area {area!r}")
    path = Path(current_app.instance_path) / area
    path.mkdir(parents=True, exist_ok=True)
    return path


def check(file, extensions):
    """The file's extension if it is one of ``extensions`` and its content matches it;
    raises UploadRefused otherwise. Leaves the file ready to be read again."""
    extension = Path(file.filename or "").suffix.lower().lstrip(".")
    if extension not in extensions:
        raise UploadRefused(_("Choose a file ending in %(endings)s.",
                              endings=", ".join("." + e for e in extensions)))
    head = file.stream.read(HEAD)
    file.stream.seek(0)
    if extension in SIGNATURES and not head.startswith(SIGNATURES[extension]):
        raise UploadRefused(_("The file's content is not %(kind)s.", kind=extension.upper()))
    if b"\x00" in head and extension not in SIGNATURES:
        raise UploadRefused(_("The file is not text."))
    return extension


def new_token(extension):
    """A random file name with ``extension``."""
    return f"{secrets.token_urlsafe(18)}.{extension}"


def store(file, extensions, area=UPLOADS):
    """Keep an uploaded file; returns its token (random name + extension)."""
    token = new_token(check(file, extensions))
    file.save(folder(area) / token)
    return token


def existing(token, area=UPLOADS):
    if not TOKEN.match(token or "") or not (folder(area) / token).is_file():
        raise UploadRefused(_("The uploaded file is gone; upload it again."))
    return token


def path_of(token, area=UPLOADS):
    return folder(area) / existing(token, area)


def mimetype_of(token):
    """The content type a kept file is sent with, from its (checked) extension."""
    return mimetypes.guess_type(f"file.{token.rsplit('.', 1)[-1]}")[0] \
        or "application/octet-stream"


def discard(token, area=UPLOADS, missing_ok=False):
    if missing_ok and not TOKEN.match(token or ""):
        return
    path = folder(area) / (token if missing_ok else existing(token, area))
    path.unlink(missing_ok=True)


def clean_abandoned():
    """The scheduled clean-up: files uploaded for an import that was never finished
    (the browser closed halfway), older than [import] keep_upload_hours."""
    hours = current_app.extensions["crm"].settings.raw.getint("import", "keep_upload_hours",
                                                              fallback=24)
    cutoff = time.time() - hours * 3600
    removed = 0
    for path in folder(UPLOADS).iterdir():
        if path.is_file() and path.stat().st_mtime < cutoff:
            path.unlink(missing_ok=True)
            removed += 1
    return f"{removed} abandoned uploads removed" if removed else None
