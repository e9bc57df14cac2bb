"""Files users upload, checked and kept under instance/uploads/ until used.

A file is accepted only with an allowed extension whose content looks like that kind
of file; it is stored under a random name, never the name the browser sent."""
import re
import secrets
from pathlib import Path

from flask import current_app
from flask_babel import gettext as _

# What the first bytes of an allowed file look like.
SIGNATURES = {"xlsx": (b"PK\x03\x04",), "pdf": (b"%PDF-",)}
TOKEN = re.compile(r"^[A-Za-z0-9_-]{16,64}\.[a-z0-9]{1,8}$")


class UploadRefused(Exception):
    """An upload that is not accepted; the text says why."""


def folder():
    path = Path(current_app.instance_path) / "uploads"
    path.mkdir(parents=True, exist_ok=True)
    return path


def store(file, extensions):
    """Keep an uploaded file; returns its token (random name + extension)."""
    extension = Path(file.filename or "").suffix.lower().lstrip(".")
    if extension not in extensions:
        raise UploadRefused(_("Choose a file ending in %(endings)s.",
                              endings=", ".join("." + e for e in extensions)))
    head = file.stream.read(8)
    file.stream.seek(0)
    if extension in SIGNATURES and not head.startswith(SIGNATURES[extension]):
        raise UploadRefused(_("The file's content is not %(kind)s.", kind=extension.upper()))
    if b"\x00" in head and extension not in SIGNATURES:
        raise UploadRefused(_("The file is not text."))
    token = f"{secrets.token_urlsafe(18)}.{extension}"
    file.save(folder() / token)
    return token


def existing(token):
    if not TOKEN.match(token) or not (folder() / token).is_file():
        raise UploadRefused(_("The uploaded file is gone; upload it again."))
    return token


def path_of(token):
    return folder() / existing(token)


def discard(token):
    (folder() / existing(token)).unlink(missing_ok=True)
