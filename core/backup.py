"""Backup and restore of a whole site: every table of the core and of every installed
addon, the uploaded files, the file store (core.files), and a manifest, in one ZIP
archive.

A table is stored as PostgreSQL prints it with ``COPY ... TO STDOUT`` (tab-separated
text, ``\\N`` for null). A PostgreSQL site is copied out as it is; a SQLite site writes
the same text, value by value, so an archive restores into either kind of database and
a table's rows can be compared across kinds: its checksum is the row count and the sum
of a hash of each line, whatever the order of the rows.

An archive is written while the site is in use, from one snapshot (a read transaction
across all tables), streamed, so memory stays flat whatever the size. It is restored in
one transaction: a damaged archive, a failure or a killed process leaves the target as
it was.

The file store: with ``[files] storage = folder`` its files (wherever the folder is,
in the instance or on a shared disk) go in as ``store/ab/cd/<sha256>``, those the
snapshot's ``core_blob`` names; with ``storage = database`` they are rows of the blob
tables like any other. A restore puts them where the restoring site keeps its files,
whichever storage made the archive: files become rows, or rows files.
"""
import datetime
import hashlib
import json
import os
import shutil
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa
from flask import current_app, has_app_context

from core import __version__, customise, migrating, neutral
from core.db import db
from core.models import CustomField
from core.uploads import AREAS

APPLICATION = "crm-suite"
FORMAT = 1
MANIFEST = "manifest.json"
TABLES = "tables/"
FILES = "files/"
STORE = "store/"                # the file store's contents, by SHA-256
BLOCK = 1 << 20                 # bytes read and written at a time
COMPRESSION = 1                 # zlib level: fast; 1 compresses tables about 4x
# Session settings under which PostgreSQL prints values as this format expects.
PG_SETTINGS = ("SET DateStyle TO ISO, YMD", "SET extra_float_digits TO 1",
               "SET bytea_output TO hex", "SET synchronize_seqscans TO off")


class BackupError(Exception):
    """An archive that cannot be written, verified or restored; the message says why."""


# -- a table's text, and its checksum --------------------------------------------------

def kind_of(column_type):
    """How a column's values are written: the kinds PostgreSQL prints differently."""
    for kind, types in (("boolean", sa.Boolean), ("datetime", sa.DateTime), ("date", sa.Date),
                        ("float", sa.Float), ("numeric", sa.Numeric), ("integer", sa.Integer),
                        ("binary", sa.LargeBinary)):
        if isinstance(column_type, types):
            if kind == "numeric" and column_type.scale is not None:
                return [kind, column_type.scale]
            return [kind]
    return ["text"]


ESCAPES = str.maketrans({"\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\b": "\\b",
                         "\f": "\\f", "\v": "\\v"})


def _writer(kind):
    """A function from a value as SQLite holds it to its text as PostgreSQL prints it."""
    name = kind[0]
    if name == "boolean":
        return lambda value: "t" if value else "f"
    if name == "datetime":
        return _timestamp_text
    if name == "numeric" and len(kind) > 1:
        return lambda value, scale=kind[1]: f"{value:.{scale}f}"
    if name == "binary":
        return lambda value: "\\\\x" + bytes(value).hex()
    if name in ("integer", "date", "numeric", "float"):
        return lambda value: repr(value) if isinstance(value, float) else str(value)
    return lambda value: str(value).translate(ESCAPES)


def _timestamp_text(value):
    """'2026-12-04 20:30:00.500000' (SQLAlchemy on SQLite) as PostgreSQL prints it:
    '2026-12-04 20:30:00.5'."""
    value = str(value).replace("T", " ")
    if "." in value:
        value = value.rstrip("0").rstrip(".")
    return value


def _reader(kind):
    """The inverse of _writer: text as PostgreSQL prints it to a value for SQLite, as
    SQLAlchemy stores it there."""
    name = kind[0]
    if name == "boolean":
        return lambda text: 1 if text == "t" else 0
    if name == "integer":
        return int
    if name in ("numeric", "float"):
        return lambda text: float(text) if any(c in text for c in ".eE") else int(text)
    if name == "datetime":
        return _timestamp_value
    if name == "binary":
        return lambda text: bytes.fromhex(text[3:])     # after the escaped \\x
    if name == "date":
        return str
    return _unescape


def _timestamp_value(text):
    date, _, time = text.partition(" ")
    seconds, _, fraction = (time or "00:00:00").partition(".")
    return f"{date} {seconds}.{fraction.ljust(6, '0')}"


UNESCAPES = {"\\": "\\", "n": "\n", "r": "\r", "t": "\t", "b": "\b", "f": "\f", "v": "\v"}


def _unescape(text):
    if "\\" not in text:
        return text
    out, characters = [], iter(text)
    for character in characters:
        out.append(UNESCAPES.get(next(characters, ""), "") if character == "\\" else character)
    return "".join(out)


@dataclass
class Tally:
    """Bytes of a table's text as they pass: SHA-256, row count and checksum."""
    sha256: object = field(default_factory=hashlib.sha256)
    rows: int = 0
    total: int = 0
    size: int = 0
    _rest: bytes = b""

    def hash(self, data):
        """Bytes that are not rows (a file): SHA-256 and size only."""
        self.sha256.update(data)
        self.size += len(data)

    def add(self, data):
        self.hash(data)
        lines = (self._rest + bytes(data)).split(b"\n")
        self._rest = lines.pop()
        self.rows += len(lines)
        total = self.total
        for line in lines:
            total += int.from_bytes(hashlib.md5(line).digest()[:8], "big")
        self.total = total % (1 << 64)

    @property
    def checksum(self):
        return f"{self.rows}:{self.total:016x}"


# -- reading a database ------------------------------------------------------------------

def site_tables(connection, registry):
    """{table: [[column, kind...], ...]} of the core and of every installed addon, in
    the order their rows can be loaded (referenced tables first), as the database has
    them."""
    names = migrating.tables_of(registry, migrating.installed(connection, registry))
    inspector = sa.inspect(connection)
    present = set(inspector.get_table_names())
    ordered = [table.name for table in db.metadata.sorted_tables if table.name in names]
    return {name: [[column["name"], *kind_of(column["type"])]
                   for column in inspector.get_columns(name)]
            for name in ordered if name in present}


def _quoted(connection, name):
    return connection.dialect.identifier_preparer.quote(name)


def _column_list(connection, columns):
    return ", ".join(_quoted(connection, column[0]) for column in columns)


def table_text(connection, table, columns):
    """A table's rows as PostgreSQL's COPY text, in blocks of bytes."""
    quote = _quoted(connection, table)
    names = _column_list(connection, columns)
    driver = connection.connection.driver_connection
    if connection.dialect.name == "postgresql":
        with driver.cursor() as cursor:
            with cursor.copy(f"COPY {quote} ({names}) TO STDOUT") as copy:
                block = bytearray()
                for data in copy:
                    block += data
                    if len(block) >= BLOCK:
                        yield bytes(block)
                        block.clear()
                if block:
                    yield bytes(block)
        return
    writers = [_writer(column[1:]) for column in columns]
    cursor = driver.execute(f"SELECT {names} FROM {quote}")
    while rows := cursor.fetchmany(5000):
        yield "".join(
            "\t".join("\\N" if value is None else write(value)
                      for write, value in zip(writers, row)) + "\n"
            for row in rows).encode()


def _snapshot(connection):
    """Begin the one read transaction every table is read in."""
    if connection.dialect.name == "postgresql":
        for statement in PG_SETTINGS:
            connection.exec_driver_sql(statement)
    else:
        driver = connection.connection.driver_connection
        driver.execute("BEGIN")
        # The snapshot starts at the first read, and covers every table.
        driver.execute("SELECT count(*) FROM sqlite_master").fetchone()


def _reading(connection):
    """A connection whose next transaction is one consistent, read-only snapshot."""
    if connection.dialect.name == "postgresql":
        return connection.execution_options(isolation_level="REPEATABLE READ",
                                            postgresql_readonly=True)
    return connection


# -- writing an archive -------------------------------------------------------------------

@dataclass
class Store:
    """Where a site keeps its stored files: [files] storage and folder."""
    storage: str
    folder: Path

    @classmethod
    def of(cls, settings):
        return cls(settings.files_storage, Path(settings.files_folder))


def _store(store, instance_path):
    """The given Store, else the current app's, else the default (instance/files)."""
    if store is not None:
        return store
    if has_app_context() and "crm" in current_app.extensions:
        return Store.of(current_app.extensions["crm"].settings)
    return Store("folder", Path(instance_path) / "files")


def backup(engine, registry, instance_path, path, store=None):
    """Write an archive of the site to ``path`` (a temporary file first, renamed when
    complete). Returns the manifest."""
    store = _store(store, instance_path)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    try:
        with engine.connect() as connection, zipfile.ZipFile(
                partial, "w", zipfile.ZIP_DEFLATED, compresslevel=COMPRESSION,
                allowZip64=True) as archive:
            connection = _reading(connection)
            _snapshot(connection)
            manifest = _describe(connection, registry)
            for table, columns in manifest["tables"].items():
                tally = Tally()
                with archive.open(TABLES + table, "w", force_zip64=True) as member:
                    for block in table_text(connection, table, columns["columns"]):
                        tally.add(block)
                        member.write(block)
                columns.update(rows=tally.rows, checksum=tally.checksum)
                manifest["members"][TABLES + table] = _member(tally)
            stored = _stored_contents(connection, manifest, store)
            connection.rollback()
            for area, file in _files(instance_path):
                name = f"{FILES}{area}/{file.relative_to(Path(instance_path) / area).as_posix()}"
                tally = Tally()
                with file.open("rb") as source, archive.open(name, "w", force_zip64=True) as member:
                    while block := source.read(BLOCK):
                        tally.hash(block)
                        member.write(block)
                manifest["members"][name] = _member(tally)
            _write_store(archive, manifest, store, stored)
            archive.writestr(MANIFEST, json.dumps(manifest, indent=1, ensure_ascii=False))
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
    return manifest


def _member(tally):
    return {"sha256": tally.sha256.hexdigest(), "size": tally.size}


def _describe(connection, registry):
    from core.models import AddonState
    states = {row.name: row for row in connection.execute(sa.select(AddonState))}
    return {
        "application": APPLICATION, "format": FORMAT, "suite_version": __version__,
        "created_at": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "database": connection.dialect.name,
        "addons": {name: {"version": (registry.addons[name].manifest["version"]
                                      if name in registry.addons and registry.addons[name].manifest
                                      else row.installed_version),
                          "enabled": bool(row.enabled)} for name, row in states.items()},
        "migrations": sorted(migrating.applied(connection, registry)),
        "tables": {table: {"columns": columns}
                   for table, columns in site_tables(connection, registry).items()},
        "members": {},
    }


def _stored_contents(connection, manifest, store):
    """The SHA-256s of the files the snapshot's core_blob names, when they are kept in
    a folder (read in the snapshot, so the archive's files match its rows)."""
    manifest["files"] = {"storage": store.storage}
    if store.storage != "folder" or "core_blob" not in manifest["tables"]:
        return []
    return list(connection.exec_driver_sql("SELECT sha256 FROM core_blob ORDER BY sha256")
                .scalars())


def _write_store(archive, manifest, store, stored):
    missing = []
    for sha256 in stored:
        file = store_path(store.folder, sha256)
        tally = Tally()
        try:
            source = file.open("rb")
        except FileNotFoundError:   # `files check` names it; the backup goes on
            missing.append(sha256)
            continue
        with source, archive.open(STORE + _relative(sha256), "w", force_zip64=True) as member:
            while block := source.read(BLOCK):
                tally.hash(block)
                member.write(block)
        manifest["members"][STORE + _relative(sha256)] = _member(tally)
    if missing:
        manifest["files"]["missing"] = missing


def _relative(sha256):
    return f"{sha256[:2]}/{sha256[2:4]}/{sha256}"


def store_path(folder, sha256):
    return Path(folder) / _relative(sha256)


def _files(instance_path):
    for area in AREAS:
        folder = Path(instance_path) / area
        if folder.is_dir():
            for file in sorted(folder.rglob("*")):
                if file.is_file():
                    yield area, file


# -- reading an archive -----------------------------------------------------------------------

def open_archive(path):
    """The archive and its manifest, checked for what can be checked without reading
    every member: it is a ZIP, of this application, of a format we read, whole."""
    try:
        archive = zipfile.ZipFile(path)
    except FileNotFoundError:
        raise BackupError(f"{path}: no such file") from None
    except (zipfile.BadZipFile, OSError) as exc:
        raise BackupError(f"{path}: not a backup archive, or a damaged one ({exc})") from None
    try:
        manifest = json.loads(archive.read(MANIFEST))
    except KeyError:
        archive.close()
        raise BackupError(f"{path}: not a backup of this application (no {MANIFEST})") from None
    except (ValueError, zipfile.BadZipFile, zlib.error, OSError) as exc:
        archive.close()
        raise BackupError(f"{path}: the manifest is damaged ({exc})") from None
    if not isinstance(manifest, dict) or manifest.get("application") != APPLICATION:
        archive.close()
        raise BackupError(f"{path}: not a backup of this application")
    if manifest.get("format") != FORMAT:
        archive.close()
        raise BackupError(f"{path}: archive format {manifest.get('format')} is not one this "
                          f"version reads ({FORMAT}); use the version that made it")
    names = set(archive.namelist())
    missing = [name for name in manifest["members"] if name not in names]
    if missing:
        archive.close()
        raise BackupError(f"{path}: incomplete, {len(missing)} members missing ({missing[0]}, ...)")
    for name, member in manifest["members"].items():
        if archive.getinfo(name).file_size != member["size"]:
            archive.close()
            raise BackupError(f"{path}: {name} has the wrong size")
    return archive, manifest


def read_member(archive, name, member):
    """A member's bytes in blocks, checked against the manifest's SHA-256 at the end."""
    tally = Tally()
    try:
        with archive.open(name) as source:
            while block := source.read(BLOCK):
                tally.hash(block)
                yield block
    except (zipfile.BadZipFile, zlib.error, OSError, EOFError) as exc:   # CRC, cut file
        raise BackupError(f"{name} is damaged ({exc})") from None
    if tally.sha256.hexdigest() != member["sha256"]:
        raise BackupError(f"{name} is damaged: its SHA-256 differs from the manifest's")


def verify(path):
    """Check every member of an archive without restoring it. Returns (manifest,
    [(table, rows, checksum)]); raises BackupError on the first fault."""
    archive, manifest = open_archive(path)
    results = []
    with archive:
        for name, member in manifest["members"].items():
            tally = Tally()
            for block in read_member(archive, name, member):
                if name.startswith(TABLES):
                    tally.add(block)
            if name.startswith(TABLES):
                table = manifest["tables"][name[len(TABLES):]]
                if tally.checksum != table["checksum"]:
                    raise BackupError(f"{name}: its rows differ from the manifest's checksum")
                results.append((name[len(TABLES):], tally.rows, tally.checksum))
    return manifest, results


# -- restoring ----------------------------------------------------------------------------------

def existing_tables(connection):
    return sa.inspect(connection).get_table_names()


def restore(engine, registry, instance_path, path, replace=False, neutralise=False,
            progress=lambda text: None, store=None):
    """Restore an archive into the database of ``engine``, the folders under
    ``instance_path`` and the file store. The database must be empty unless
    ``replace``. Returns [(table, rows, checksum in archive, checksum in database)]."""
    store = _store(store, instance_path)
    archive, manifest = open_archive(path)
    with archive:
        lacking = [name for name in manifest["addons"] if name not in registry.addons
                   or not registry.addons[name].installable]
        if lacking:
            raise BackupError(f"{path}: holds the addons {', '.join(lacking)}, which this "
                              "installation lacks; put them on [addons] paths first")
        known = migrating.known(registry)
        newer = [revision for revision in manifest["migrations"] if revision not in known]
        if newer:
            raise BackupError(f"{path}: made by a newer version (migrations {', '.join(newer)} "
                              "are unknown here); upgrade the code first")
        safety = None
        with engine.connect() as connection:
            present = existing_tables(connection)
        if present and not replace:
            raise BackupError(f"the target database is not empty ({len(present)} tables); "
                              "restore into an empty one, or use --replace")
        if present:
            safety = _safety_backup(engine, registry, instance_path, present, store)
            progress(f"safety backup of the replaced site: {safety}")
        with engine.connect() as connection:
            _begin_restore(connection)
            _drop(connection, existing_tables(connection))
            branches = [migrating.CORE, *manifest["addons"]]
            migrating.upgrade(connection, registry, branches, target=set(manifest["migrations"]))
            results = _load(connection, archive, manifest, progress)
            migrating.upgrade(connection, registry, branches)
            if neutralise:
                neutral.mark(connection)
            try:
                _unpack_files(archive, manifest, instance_path)
                restored = _unpack_store(connection, archive, manifest, store)
                connection.commit()
            except BaseException:
                _remove_staging(instance_path, store)
                raise
        _swap_files(instance_path)
        _swap_store(store, restored)
    return results, safety


def _safety_backup(engine, registry, instance_path, tables, store):
    if "core_addon" not in tables:
        raise BackupError("the target database holds tables of something else: empty it "
                          "yourself (nothing was changed)")
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    folder = Path(instance_path) / "backups"
    path, number = folder / f"before-restore-{stamp}.zip", 1
    while path.exists():    # two restores in one second: the first copy is kept too
        number += 1
        path = folder / f"before-restore-{stamp}-{number}.zip"
    backup(engine, registry, instance_path, path, store)
    return path


def _begin_restore(connection):
    if connection.dialect.name == "postgresql":
        for statement in PG_SETTINGS:
            connection.exec_driver_sql(statement)
    else:
        # Rows arrive in any order: foreign keys off, as for a migration.
        migrating.one_sqlite_transaction(connection)


def _drop(connection, tables):
    if not tables:
        return
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql("DROP TABLE " + ", ".join(
            _quoted(connection, name) for name in tables) + " CASCADE")
    else:
        for name in tables:
            connection.exec_driver_sql(f"DROP TABLE {_quoted(connection, name)}")


def _load(connection, archive, manifest, progress):
    """Every table's rows, with its indexes and foreign keys made afterwards (faster,
    as pg_restore does), then read back and checked against the manifest."""
    tables = manifest["tables"]
    remake = _set_aside(connection, list(tables))
    # The declarations of the site's own fields first: their columns are added
    # (core.customise) before the rows of the tables they extend arrive.
    declarations = CustomField.__tablename__
    for table in sorted(tables, key=lambda name: name != declarations):
        if table != declarations and declarations in tables:
            remake += customise.add_missing_columns(connection)
            declarations = None
        info = tables[table]
        name, member = TABLES + table, manifest["members"][TABLES + table]
        try:
            _load_table(connection, table, info["columns"], read_member(archive, name, member))
        except (ValueError, IndexError, connection.dialect.loaded_dbapi.Error) as exc:
            # Rows that do not load: damage the member's SHA-256 names, if it is that.
            for _block in read_member(archive, name, member):
                pass
            raise BackupError(f"{table}: rows that cannot be loaded ({exc})") from None
    for statement in remake:
        connection.exec_driver_sql(statement)
    _reset_counters(connection, tables)
    results = []
    for table, info in tables.items():
        tally = Tally()
        for block in table_text(connection, table, info["columns"]):
            tally.add(block)
        if tally.checksum != info["checksum"]:
            raise BackupError(f"{table}: the restored rows differ from the archive's "
                              f"({tally.checksum} against {info['checksum']})")
        results.append((table, tally.rows, info["checksum"], tally.checksum))
        progress(f"{table}\t{tally.rows} rows\t{tally.checksum}\tok")
    return results


def _load_table(connection, table, columns, blocks):
    quote, names = _quoted(connection, table), _column_list(connection, columns)
    driver = connection.connection.driver_connection
    if connection.dialect.name == "postgresql":
        with driver.cursor() as cursor:
            with cursor.copy(f"COPY {quote} ({names}) FROM STDIN") as copy:
                for block in blocks:
                    copy.write(block)
        return
    readers = [_reader(column[1:]) for column in columns]
    insert = f"INSERT INTO {quote} ({names}) VALUES ({', '.join('?' * len(columns))})"
    rest = b""
    for block in blocks:
        lines = (rest + block).split(b"\n")
        rest = lines.pop()
        driver.executemany(insert, (
            [None if text == "\\N" else read(text)
             for read, text in zip(readers, line.decode().split("\t"))]
            for line in lines))


def _set_aside(connection, tables):
    """Drop the indexes (and on PostgreSQL the foreign keys) of ``tables``; returns the
    statements that make them again."""
    if connection.dialect.name == "postgresql":
        keys = [row for row in connection.exec_driver_sql(
            "SELECT c.conrelid::regclass::text, c.conname, pg_get_constraintdef(c.oid) "
            "FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace "
            "WHERE c.contype = 'f' AND n.nspname = current_schema()")
            if row[0].strip('"') in tables]
        indexes = connection.exec_driver_sql(
            "SELECT i.indexname, i.indexdef FROM pg_indexes i "
            "WHERE i.schemaname = current_schema() AND i.tablename = ANY(%(tables)s) "
            "AND NOT EXISTS (SELECT 1 FROM pg_constraint c JOIN pg_namespace n "
            "ON n.oid = c.connamespace WHERE n.nspname = current_schema() "
            "AND c.conname = i.indexname)", {"tables": tables}).all()
        for table, name, _definition in keys:
            connection.exec_driver_sql(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
        for name, _definition in indexes:
            connection.exec_driver_sql(f'DROP INDEX "{name}"')
        return ([definition for _name, definition in indexes]
                + [f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}'
                   for table, name, definition in keys])
    indexes = [(name, sql) for name, table, sql in connection.exec_driver_sql(
        "SELECT name, tbl_name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL")
        if table in tables]
    for name, _sql in indexes:
        connection.exec_driver_sql(f'DROP INDEX "{name}"')
    return [sql for _name, sql in indexes]


def _reset_counters(connection, tables):
    """Make the next id of every table come after the restored ones (PostgreSQL keeps
    them in sequences; SQLite takes the largest id + 1 by itself)."""
    if connection.dialect.name != "postgresql":
        return
    for table, info in tables.items():
        if not any(column[:2] == ["id", "integer"] for column in info["columns"]):
            continue
        sequence = connection.exec_driver_sql(
            "SELECT pg_get_serial_sequence(%(table)s, 'id')", {"table": table}).scalar()
        if sequence:
            connection.exec_driver_sql(
                f"SELECT setval(%(sequence)s, coalesce((SELECT max(id) FROM "
                f"{_quoted(connection, table)}), 0) + 1, false)", {"sequence": sequence})


def _unpack_files(archive, manifest, instance_path):
    """The archive's files, unpacked beside their folders; moved into place once the
    database is committed."""
    for area in AREAS:
        staging = Path(instance_path) / f".{area}.restoring"
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True)
    for name, member in manifest["members"].items():
        if not name.startswith(FILES):
            continue
        area, _, relative = name[len(FILES):].partition("/")
        base = (Path(instance_path) / f".{area}.restoring").resolve()
        target = (base / relative).resolve()
        if area not in AREAS or base not in target.parents:
            raise BackupError(f"{name}: not a place files are restored to")
        target.parent.mkdir(parents=True, exist_ok=True)
        with target.open("wb") as out:
            for block in read_member(archive, name, member):
                out.write(block)


def _remove_staging(instance_path, store):
    for area in AREAS:
        shutil.rmtree(Path(instance_path) / f".{area}.restoring", ignore_errors=True)
    shutil.rmtree(Path(store.folder) / ".restoring", ignore_errors=True)


def _unpack_store(connection, archive, manifest, store):
    """The archive's stored files where this site keeps them: as rows of the blob
    tables (storage = database), in this transaction; or (storage = folder) unpacked
    beside the folder's files, and moved into place once the database is committed
    (_swap_store). Files an archive holds as rows (made with storage = database) are
    written out as files, and their rows removed, for a site that keeps them in a
    folder. Returns the SHA-256s of the restored folder's files."""
    named = set(connection.exec_driver_sql("SELECT sha256 FROM core_blob").scalars())
    members = {name.rsplit("/", 1)[1]: (name, member) for name, member
               in manifest["members"].items() if name.startswith(STORE)}
    for sha256, (name, _member) in members.items():
        if len(sha256) != 64 or sha256.strip("0123456789abcdef") \
                or name != STORE + _relative(sha256):
            raise BackupError(f"{name}: not a place files are restored to")
    if store.storage == "database":
        chunked = set(connection.exec_driver_sql(
            "SELECT DISTINCT sha256 FROM core_blob_chunk").scalars())
        table = sa.table("core_blob_chunk", sa.column("sha256"), sa.column("seq"),
                         sa.column("data", sa.LargeBinary))
        for sha256, (name, member) in sorted(members.items()):
            if sha256 in named and sha256 not in chunked:
                for seq, block in enumerate(_blocks_of(read_member(archive, name, member))):
                    connection.execute(table.insert().values(sha256=sha256, seq=seq, data=block))
        return None
    staging = Path(store.folder) / ".restoring"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    for sha256, (name, member) in members.items():
        if sha256 in named:
            target = store_path(staging, sha256)
            target.parent.mkdir(parents=True, exist_ok=True)
            with target.open("wb") as out:
                for block in read_member(archive, name, member):
                    out.write(block)
    _rows_to_files(connection, staging)
    return named


def _blocks_of(blocks, size=BLOCK):
    """The bytes of ``blocks`` again, in blocks of exactly ``size`` (the last shorter)."""
    pending = bytearray()
    for block in blocks:
        pending += block
        while len(pending) >= size:
            yield bytes(pending[:size])
            del pending[:size]
    if pending:
        yield bytes(pending)


def _rows_to_files(connection, staging):
    """Contents kept as rows (an archive of a site with storage = database) written as
    files into ``staging``, and their rows removed."""
    # (Options of this statement only: Connection.execution_options would keep them.)
    result = connection.exec_driver_sql(
        "SELECT sha256, data FROM core_blob_chunk ORDER BY sha256, seq",
        execution_options={"yield_per": 16})
    out = current = None
    try:
        for sha256, data in result:
            if sha256 != current:
                if out:
                    out.close()
                current, target = sha256, store_path(staging, sha256)
                target.parent.mkdir(parents=True, exist_ok=True)
                out = target.open("wb")
            out.write(bytes(data))
    finally:
        if out:
            out.close()
    if current is not None:
        connection.exec_driver_sql("DELETE FROM core_blob_chunk")


def _swap_store(store, restored):
    """The folder's files made those of the archive: the staged ones moved in, the
    others removed. The folder itself stays (it may be a mount point)."""
    if restored is None:
        return
    from core.files import stored_paths
    folder, staging = Path(store.folder), Path(store.folder) / ".restoring"
    for path in list(stored_paths(folder)):
        if path.name not in restored:
            path.unlink(missing_ok=True)
    for path in list(stored_paths(staging)):
        target = store_path(folder, path.name)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(path, target)
    shutil.rmtree(staging, ignore_errors=True)


def _swap_files(instance_path):
    for area in AREAS:
        folder, old = Path(instance_path) / area, Path(instance_path) / f".{area}.replaced"
        shutil.rmtree(old, ignore_errors=True)
        if folder.exists():
            folder.rename(old)
        (Path(instance_path) / f".{area}.restoring").rename(folder)
        shutil.rmtree(old, ignore_errors=True)
