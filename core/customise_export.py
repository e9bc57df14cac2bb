"""`python run.py customisations export DIR`: the site's fields (core.customise) as a
client addon folder, for an outside addons path and the client's git repository.

The folder holds what any addon holds: a manifest declaring the fields (key ``fields``,
in English), a catalog with their Chinese (each text under the context model.name), and
migrations on the addon's own branch that add the columns a database lacks. Exported
again into the same folder, the fields added since get a new revision of their own; the
earlier revisions stay as they are, like any migration once shipped. Enabling the addon
on a site runs its migrations, then core.customise.adopt makes its fields there.
"""
import ast
import datetime
import json
import pprint

from babel.messages.catalog import Catalog
from babel.messages.pofile import write_po
from sqlalchemy import select

from core import customise, layout
from core.i18n import model_class
from core.models import CustomField, FieldRule

REVISION_TEMPLATE = '''"""{title}

Revision ID: {revision}
Revises: {down}
Create Date: {date}
"""
from alembic import op

from core.customise import add_declared_columns

revision = {revision!r}
down_revision = {down_revision!r}
branch_labels = {branch_labels!r}
depends_on = {depends_on!r}

# Written by `python run.py customisations export`; like any migration once shipped, it
# is not changed afterwards: fields added later come in a revision of their own.
COLUMNS = {columns}


def upgrade():
    add_declared_columns(op.get_bind(), COLUMNS)   # only the columns a database lacks


def downgrade():
    pass   # a field's column and data go when an administrator purges it
'''


def export(session, registry, folder, name, site_name):
    """Write (or bring up to date) the addon ``name`` under ``folder``, with the site's
    fields, field rules and models shown in tabs (core.layout); returns (the addon's
    folder, its fields, the revision written or None)."""
    fields = session.scalars(select(CustomField).where(CustomField.removed_at.is_(None))
                             .order_by(CustomField.model, CustomField.position,
                                       CustomField.id)).all()
    rules = session.scalars(select(FieldRule).order_by(FieldRule.model, FieldRule.field)).all()
    tabbed = sorted(layout.site_tabs(session))
    owners = _owners(registry, [name for f in [*fields, *rules]
                                for name in (f.model, getattr(f, "target", None))] + tabbed)
    addon = folder / name
    (addon / "migrations").mkdir(parents=True, exist_ok=True)
    revisions = _revisions(addon / "migrations")
    covered = {(c["model"], c["name"]) for _revision, columns in revisions for c in columns}
    new = [customise.column_spec(f) for f in fields if (f.model, f.name) not in covered]
    written = None
    if new:
        written = _write_revision(addon / "migrations", name, len(revisions) + 1,
                                  revisions[-1][0] if revisions else None,
                                  owners, new)
    manifest = {
        "name": f"Customisations: {site_name}",
        "version": f"1.0.{len(revisions) + bool(new)}",
        "summary": "Fields added on Settings > Customise (python run.py customisations "
                   "export)",
        "depends": owners,
        "fields": [customise.declaration(f) for f in fields],
        "layout": [layout.declaration(rule) for rule in rules],
        "tabs": tabbed,
    }
    (addon / "__manifest__.py").write_text(
        "# Written by `python run.py customisations export`.\n"
        + pprint.pformat(manifest, width=88, sort_dicts=False) + "\n", encoding="utf-8")
    _write_catalog(addon, fields)
    return addon, fields, written


def _revisions(folder):
    """[(revision id, its COLUMNS)] of the revisions written before, oldest first."""
    found = []
    for path in sorted(folder.glob("*.py")):
        values = {}
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if isinstance(node, ast.Assign) and len(node.targets) == 1 and \
                    isinstance(node.targets[0], ast.Name) and \
                    node.targets[0].id in ("revision", "COLUMNS"):
                values[node.targets[0].id] = ast.literal_eval(node.value)
        if "revision" in values:
            found.append((values["revision"], values.get("COLUMNS", [])))
    return found


def _write_revision(folder, name, number, down, depends, columns):
    revision = f"{name}_{number:04d}"
    title = f"Fields of {name}: " + ", ".join(f"{c['model']}.{c['name']}" for c in columns)
    text = REVISION_TEMPLATE.format(
        title=title[:200], revision=revision, down=down or "", down_revision=down,
        branch_labels=None if down else (name,), depends_on=None if down else tuple(depends),
        date=datetime.date.today().isoformat(),
        columns=pprint.pformat(columns, width=80, sort_dicts=False))
    (folder / f"{revision}_fields.py").write_text(text, encoding="utf-8")
    return revision


def _owners(registry, model_names):
    """The addons whose models the fields extend or link to: the addon's depends."""
    tables = {model_class(name).__table__.name for name in model_names
              if name and model_class(name) is not None}
    return sorted(name for name, addon in registry.addons.items()
                  if tables & set(addon.tables))


def _write_catalog(addon, fields):
    catalog = Catalog(locale="zh_Hans_CN", project=addon.name)
    for field in fields:
        context = f"{field.model}.{field.name}"
        for english, chinese, part in [(field.label_en, field.label_zh, ""),
                                       (field.help_en, field.help_zh, "")] + [
                (en, zh, f".{value}") for value, en, zh in json.loads(field.options)]:
            if english:
                catalog.add(english, chinese, context=context + part)
    folder = addon / "translations" / "zh_Hans_CN" / "LC_MESSAGES"
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "messages.po", "wb") as handle:
        write_po(handle, catalog, width=88)
