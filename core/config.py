"""Settings: one config.ini, overridden by CRM_CONFIG and CRM_DATABASE_URL.

Paths in the file are relative to the file's own folder, so the same config.ini works
whatever the current directory is.
"""
import configparser
import os
import secrets
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CONFIG = PROJECT_ROOT / "config.ini"


class ConfigError(Exception):
    """A settings problem the operator must fix; the message names file and key."""


@dataclass
class Settings:
    config_file: Path
    instance_path: Path
    database_url: str
    addon_paths: list = field(default_factory=list)
    template_paths: list = field(default_factory=list)
    default_addons: list = field(default_factory=list)
    default_language: str = "en"
    page_size: int = 20
    site_name: str = "CRM"
    files_storage: str = "folder"
    files_folder: Path = None
    raw: configparser.ConfigParser = None

    @property
    def secret_key(self):
        return read_or_create_secret(self.instance_path / "secret_key")

    def get(self, section, key, fallback=None):
        return self.raw.get(section, key, fallback=fallback)


def normalise_database_url(url):
    """Let users write postgresql://; SQLAlchemy needs the driver we ship (psycopg 3)."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def _resolve(base, value):
    path = Path(value).expanduser()
    return path if path.is_absolute() else (base / path).resolve()


def _split_list(value):
    return [item.strip() for item in value.replace("\n", ",").split(",") if item.strip()]


def load_settings(config_file=None, database_url=None):
    """Read config.ini (or CRM_CONFIG), apply environment overrides, return Settings."""
    path = Path(config_file or os.environ.get("CRM_CONFIG") or DEFAULT_CONFIG).resolve()
    if not path.is_file():
        raise ConfigError(f"{path}: config file not found")
    parser = configparser.ConfigParser()
    try:
        parser.read(path, encoding="utf-8")
    except configparser.Error as exc:
        raise ConfigError(f"{path}: {exc}") from exc
    base = path.parent
    instance = _resolve(base, parser.get("core", "instance_path", fallback="instance"))
    url = database_url or os.environ.get("CRM_DATABASE_URL") or parser.get(
        "database", "url", fallback="")
    if not url:
        url = f"sqlite:///{instance / 'crm.db'}"
    elif url.startswith("sqlite:///") and not url.startswith("sqlite:////"):
        url = f"sqlite:///{_resolve(base, url[len('sqlite:///'):])}"
    try:
        page_size = parser.getint("admin", "page_size", fallback=20)
    except ValueError as exc:
        raise ConfigError(f"{path}: [admin] page_size: {exc}") from exc
    storage = parser.get("files", "storage", fallback="folder").strip() or "folder"
    if storage not in ("folder", "database"):
        raise ConfigError(f"{path}: [files] storage: folder or database, not {storage!r}")
    files_folder = parser.get("files", "folder", fallback="").strip()
    return Settings(
        config_file=path,
        instance_path=instance,
        database_url=normalise_database_url(url),
        addon_paths=[_resolve(base, p) for p in _split_list(
            parser.get("addons", "paths", fallback="addons"))],
        template_paths=[_resolve(base, p) for p in _split_list(
            parser.get("addons", "template_paths", fallback=""))],
        default_addons=_split_list(parser.get("addons", "enabled", fallback="")),
        default_language=parser.get("i18n", "default_language", fallback="en"),
        page_size=page_size,
        site_name=parser.get("admin", "site_name", fallback="CRM"),
        files_storage=storage,
        files_folder=_resolve(base, files_folder) if files_folder else instance / "files",
        raw=parser,
    )


def read_or_create_secret(path):
    """Each installation gets its own random key, kept in instance/ and never committed."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        # Written whole to a temporary file, then linked into place: a process starting
        # at the same moment sees either no key or the complete one, never half of it.
        fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".secret_key.")
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_hex(32))
        try:
            os.link(temporary, path)
        except FileExistsError:
            pass   # another process won; use its key
        finally:
            os.unlink(temporary)
    return path.read_text().strip()
