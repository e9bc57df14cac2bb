"""Finding addons, ordering them by dependency, loading their code, and their state.

Addons live in folders listed in ``[addons] paths``; each is a folder with a
``__manifest__.py``. The folder name is the addon's technical name and it is imported
as the package ``addons.<name>``, wherever its folder is. A broken addon never stops
the others: it is kept with its error and shown as not installable.
"""
import importlib
import importlib.machinery
import importlib.util
import logging
import re
import sys
import traceback
import types
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select

from core import migrating
from core.db import db
from core.manifest import MANIFEST_FILE, ManifestError, parse_manifest
from core.models import AddonState, Group, Sequence
from core.permissions import seed_access

log = logging.getLogger(__name__)

PACKAGE = "addons"
REVISION = "addons.revision"  # bumped on every change of the enabled set

# Models are imported once per process (SQLAlchemy must never see a class twice), so
# what the first import found is kept here: {name: folder} and {name: table names}.
_folders = {}
_tables = {}


class AddonError(Exception):
    """An enable/disable request that cannot be done; the message says why."""


@dataclass
class Addon:
    name: str
    path: Path
    manifest: dict = None
    error: str = None
    tables: list = field(default_factory=list)   # table names its models created
    models: dict = field(default_factory=dict)    # class name -> model class

    @property
    def installable(self):
        return self.error is None

    @property
    def depends(self):
        return self.manifest["depends"] if self.manifest else []

    @property
    def auto_install(self):
        """A bridge: enabled whenever all its depends are, disabled with any of them."""
        return bool(self.manifest and self.manifest["auto_install"])

    @property
    def package(self):
        return f"{PACKAGE}.{self.name}"

    def fail(self, key, message):
        if self.error is None:  # keep the first, root-cause error
            self.error = str(ManifestError(self.path / MANIFEST_FILE, key, message))


class Registry:
    """Every addon found on the paths, in dependency order, with its code loaded."""

    def __init__(self, paths):
        self.paths = [Path(p) for p in paths]
        self.addons = {}
        self._discover()
        self._check_dependencies()
        self._order()
        for addon in self.addons.values():
            if addon.installable:
                self._load(addon)

    # -- discovery and order -------------------------------------------------

    def _discover(self):
        found = {}
        for folder in self.paths:
            if not folder.is_dir():
                log.warning("addons path %s does not exist; skipped", folder)
                continue
            for manifest_path in sorted(folder.glob(f"*/{MANIFEST_FILE}")):
                directory = manifest_path.parent
                name = directory.name
                if name in found:
                    log.info("addon %s in %s overrides the one in %s", name, folder,
                             found[name].path.parent)
                addon = Addon(name=name, path=directory)
                if not re.match(r"^[a-z][a-z0-9_]*$", name):
                    addon.error = (f"{directory}: folder name must be lower-case letters, "
                                   "digits and _ (it is the addon's technical name)")
                else:
                    try:
                        addon.manifest = parse_manifest(manifest_path)
                    except ManifestError as exc:
                        addon.error = str(exc)
                    else:
                        if not addon.manifest["installable"]:
                            addon.error = f"{manifest_path}: installable: is False"
                found[name] = addon
        self.addons = found

    def _check_dependencies(self):
        for addon in self.addons.values():
            for dep in addon.depends:
                if dep not in self.addons:
                    addon.fail("depends", f"{dep!r} is not an addon on [addons] paths")
        for cycle in _find_cycles({a.name: a.depends for a in self.addons.values()}):
            for name in cycle[:-1]:
                self.addons[name].fail("depends", "dependency cycle " + " -> ".join(cycle))
        # An addon whose dependency cannot be installed cannot be installed either.
        changed = True
        while changed:
            changed = False
            for addon in self.addons.values():
                broken = [d for d in addon.depends if d in self.addons
                          and not self.addons[d].installable]
                if addon.installable and broken:
                    addon.fail("depends", f"{broken[0]!r} is not installable")
                    changed = True

    def _order(self):
        """Dependencies first; ties by name, so the order is the same everywhere."""
        ordered, done = [], set()

        def visit(name, stack=()):
            if name in done or name in stack or name not in self.addons:
                return
            for dep in sorted(self.addons[name].depends):
                visit(dep, stack + (name,))
            done.add(name)
            ordered.append(name)

        for name in sorted(self.addons):
            visit(name)
        self.addons = {name: self.addons[name] for name in ordered}

    # -- code ------------------------------------------------------------------

    def _load(self, addon):
        key = None
        before = set(db.metadata.tables)
        try:
            _import_package(addon)   # runs its __init__.py, which may import models too
            key = "models"
            for module in addon.manifest["models"]:
                importlib.import_module(f"{addon.package}.{module}")
            addon.models = _model_classes(addon.package)
            # New in the metadata, plus what its models map (they are in the metadata
            # already when something imported the addon's code before the registry did).
            _tables.setdefault(addon.name, sorted(
                set(db.metadata.tables) - before | _mapped_tables(addon.models.values())))
            addon.tables = _tables[addon.name]
            for index, view in enumerate(addon.manifest["views"]):
                key = f"views[{index}]"
                self._resolve_view(addon, view, key)
            # Its data modules too: the default names they mark (pipeline stages) must
            # be declared words in every process, not only in the one that enabled it.
            key = "data"
            for path in addon.manifest["data"]:
                importlib.import_module(data_module(addon, path))
        except ManifestError as exc:
            addon.error = str(exc)
        except Exception as exc:  # an addon's own code failed; keep the others going
            detail = traceback.format_exception_only(type(exc), exc)[-1].strip()
            addon.fail(key, f"cannot be loaded: {detail}")
            log.warning("addon %s cannot be loaded:\n%s", addon.name, traceback.format_exc())

    def _resolve_view(self, addon, view, key):
        from core.admin import ModelView  # the one base view every screen must extend
        manifest_file = addon.path / MANIFEST_FILE
        model = self.find_model(addon, view["model"])
        if model is None:
            raise ManifestError(manifest_file, f"{key}.model",
                                f"no model {view['model']!r} in {addon.name} or its dependencies")
        pk = [c.key for c in model.__table__.primary_key.columns]
        if pk != ["id"] or model.__table__.c.id.type.python_type is not int:
            raise ManifestError(manifest_file, f"{key}.model",
                                f"{view['model']} needs an integer primary key named id")
        view_class = ModelView
        if "class" in view:
            module_name, class_name = view["class"].rsplit(".", 1)
            module = importlib.import_module(f"{addon.package}.{module_name}")
            view_class = getattr(module, class_name, None)
            if not (isinstance(view_class, type) and issubclass(view_class, ModelView)):
                raise ManifestError(manifest_file, f"{key}.class",
                                    f"{view['class']} must be a subclass of core.admin.ModelView")
        view["_model"], view["_class"] = model, view_class

    def find_model(self, addon, class_name):
        """A model class by name, in the addon itself or in what it depends on."""
        for name in [addon.name] + self.dependency_closure(addon.name):
            candidate = self.addons[name].models.get(class_name)
            if candidate is not None:
                return candidate
        return None

    # -- relations between addons --------------------------------------------------

    def get(self, name):
        addon = self.addons.get(name)
        if addon is None:
            raise AddonError(f"no addon named {name!r} on [addons] paths")
        return addon

    def dependency_closure(self, name):
        """Every addon ``name`` needs, directly or not, dependencies first."""
        needed, stack = set(), list(self.get(name).depends)
        while stack:
            dep = stack.pop()
            if dep not in needed and dep in self.addons:
                needed.add(dep)
                stack.extend(self.addons[dep].depends)
        return [n for n in self.addons if n in needed]

    def dependants(self, name, among):
        """Addons in ``among`` that need ``name``."""
        return [n for n in among if n != name and name in self.dependency_closure(n)]

    # -- state in the database ----------------------------------------------------

    def enabled(self, session):
        """Enabled and installable addons, in dependency order."""
        rows = set(session.scalars(select(AddonState.name).where(AddonState.enabled)))
        return [n for n, a in self.addons.items() if n in rows and a.installable]

    def states(self, session):
        return {row.name: row for row in session.scalars(select(AddonState))}

    def revision(self, session):
        return Sequence.current(session, REVISION)

    def enable(self, session, name):
        """Enable ``name`` and what it needs; create missing tables. Returns the names
        newly enabled. The caller commits: one transaction for the whole change."""
        addon = self.get(name)
        if not addon.installable:
            raise AddonError(f"{name} is not installable: {addon.error}")
        states = self.states(session)
        enabled = {n for n, state in states.items() if state.enabled}
        wanted = self.dependency_closure(name) + [name]
        new = [n for n in wanted if n not in enabled]
        new += self.bridges_due(enabled | set(new))
        # Tables first, before any row is written: on SQLite a migration must begin
        # the transaction (core.migrating).
        migrating.upgrade(session.connection(), self, new)
        for addon_name in new:
            state = states.get(addon_name) or AddonState(name=addon_name)
            state.enabled = True
            session.add(state)
            self.refresh(session, addon_name, state)
        if new:
            self.bump_revision(session)
        return new

    def refresh(self, session, name, state):
        """What an enabled addon declares beyond its tables: groups, access rights and
        its data records, each added where missing; and the version now installed."""
        addon = self.addons[name]
        state.installed_version = addon.manifest["version"]
        _add_groups(session, addon.manifest["groups"])
        seed_access(session, addon.manifest)
        from core import approvals   # (it reaches the app's notifications and outbox)
        approvals.seed(session, name, addon.manifest["approvals"])
        run_data_modules(addon, "data", session)
        if addon.manifest["fields"]:
            from core import customise
            customise.adopt(session, addon)
        if addon.manifest["layout"] or addon.manifest["tabs"]:
            from core import layout
            layout.adopt(session, addon)

    def enable_bridges(self, session):
        """Enable the bridges due (see bridges_due), as enable() would; returns their
        names. For a change of the enabled set that enable() does not make (upgrade)."""
        enabled = {n for n, state in self.states(session).items() if state.enabled}
        due = self.bridges_due(enabled)
        for name in due:
            self.enable(session, name)
        return due

    def bridges_due(self, enabled):
        """The installable auto_install addons not in ``enabled`` whose depends all are,
        in dependency order: a bridge may itself complete another bridge's depends."""
        enabled, due = set(enabled), []
        for name, addon in self.addons.items():   # dependencies come first
            if (addon.auto_install and addon.installable and name not in enabled
                    and all(dep in enabled for dep in addon.depends)):
                enabled.add(name)
                due.append(name)
        return due

    def disable(self, session, name):
        """Disable ``name`` and the bridges (auto_install addons) that need it; the rows
        stay. Refused while another enabled addon needs it, and for a bridge whose
        depends are all enabled (the core would enable it again at once). Returns the
        names disabled, [] when ``name`` was not enabled."""
        addon = self.get(name)
        enabled = [n for n, s in self.states(session).items() if s.enabled and n in self.addons]
        if name not in enabled:
            return []
        dependants = self.dependants(name, enabled)
        needing = [n for n in dependants if not self.addons[n].auto_install]
        if needing:
            raise AddonError(f"{name} cannot be disabled: {', '.join(needing)} "
                             f"depend{'s' if len(needing) == 1 else ''} on it")
        if addon.auto_install and addon.installable \
                and all(dep in enabled for dep in addon.depends):
            raise AddonError(f"{name} is enabled whenever {', '.join(addon.depends)} are: "
                             "disable one of them instead")
        for addon_name in [name] + dependants:
            session.get(AddonState, addon_name).enabled = False
        self.bump_revision(session)
        return [name] + dependants

    def bump_revision(self, session):
        """Tell every process to rebuild its app (and re-read the addon folders)."""
        Sequence.next_value(session, REVISION)


def run_data_modules(addon, key, session):
    """Run the modules an addon lists under ``key`` ("data": the records it needs, on
    every enable, so they must add only what is missing; "demo": the demo records),
    each a module with a ``load(session)`` function."""
    for path in addon.manifest[key]:
        importlib.import_module(data_module(addon, path)).load(session)


def data_module(addon, path):
    """The module name of a data file of the manifest ("data/demo.py")."""
    return f"{addon.package}.{path.removesuffix('.py').replace('/', '.')}"


def _add_groups(session, groups):
    """Create the groups a manifest declares; existing ones keep their (edited) names."""
    known = set(session.scalars(select(Group.code).where(Group.code.in_(list(groups)))))
    for code, label in groups.items():
        if code not in known:
            session.add(Group(code=code, name=label))


def _find_cycles(graph):
    """Each dependency cycle once, as a path that ends where it starts."""
    cycles, seen = [], set()

    def walk(name, path):
        if name in path:
            cycle = path[path.index(name):] + [name]
            key = frozenset(cycle)
            if key not in seen:
                seen.add(key)
                cycles.append(cycle)
            return
        for dep in graph.get(name, []):
            if dep in graph:
                walk(dep, path + [name])

    for name in sorted(graph):
        walk(name, [])
    return cycles


def _root_package():
    root = sys.modules.get(PACKAGE)
    if root is None or not getattr(root, "__crm_addons__", False):
        # A virtual package: addons are attached to it one by one from their folders,
        # so a folder named addons/ on sys.path can never shadow it.
        root = types.ModuleType(PACKAGE, "Enabled and installable CRM addons")
        root.__path__ = []
        root.__crm_addons__ = True
        sys.modules[PACKAGE] = root
    return root


def _import_package(addon):
    _root_package()
    existing = sys.modules.get(addon.package)
    if existing is not None:
        loaded_from = _folders.get(addon.name, addon.path)
        if loaded_from != addon.path:
            raise ManifestError(addon.path / MANIFEST_FILE, None,
                                f"another addon named {addon.name} from {loaded_from} is "
                                "already loaded in this process; restart to switch")
        return existing
    init = addon.path / "__init__.py"
    if init.exists():
        spec = importlib.util.spec_from_file_location(
            addon.package, init, submodule_search_locations=[str(addon.path)])
    else:  # a folder with no __init__.py is still a package
        spec = importlib.machinery.ModuleSpec(addon.package, None, is_package=True)
        spec.submodule_search_locations = [str(addon.path)]
    module = importlib.util.module_from_spec(spec)
    sys.modules[addon.package] = module
    try:
        if spec.loader:
            spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[addon.package]
        raise
    _folders[addon.name] = addon.path
    return module


def _mapped_tables(models):
    """Names of the tables of ``models`` and of their many-to-many link tables."""
    names = set()
    for model in models:
        mapper = model.__mapper__
        names.update(table.name for table in mapper.tables)
        names.update(rel.secondary.name for rel in mapper.relationships
                     if rel.secondary is not None and rel.secondary.name in db.metadata.tables)
    return names


def _model_classes(package):
    prefix = package + "."
    return {mapper.class_.__name__: mapper.class_ for mapper in db.Model.registry.mappers
            if mapper.class_.__module__.startswith(prefix)}
