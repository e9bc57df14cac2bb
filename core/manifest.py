"""Reading and checking ``__manifest__.py``.

A manifest is one dict literal. It is parsed with ``ast.literal_eval`` and never
executed, so a manifest cannot run code. Every check raises ManifestError with a
message that names the file and the key, e.g. ``.../__manifest__.py: views[0].menu: ...``.
"""
import ast
import re

MANIFEST_FILE = "__manifest__.py"
VERSION_RE = re.compile(r"^\d+\.\d+(\.\d+)?$")
ACCESS_LETTERS = "rwcdx"  # read, write, create, delete, export
RULE_SCOPES = ("own", "team", "all")
# Trigger arguments APScheduler takes, per trigger.
JOB_TRIGGERS = {
    "cron": ("year", "month", "day", "week", "day_of_week", "hour", "minute", "second",
             "start_date", "end_date", "jitter"),
    "interval": ("weeks", "days", "hours", "minutes", "seconds", "start_date", "end_date",
                 "jitter"),
}


class ManifestError(Exception):
    """A manifest that cannot be used; str() names the file and the key."""

    def __init__(self, path, key, message):
        self.path, self.key, self.message = str(path), key, message
        super().__init__(f"{self.path}: {key}: {message}" if key else f"{self.path}: {message}")


def _type_name(kind):
    names = {str: "text", list: "list", dict: "dict", int: "whole number", bool: "true/false"}
    return names.get(kind, kind.__name__)


class _Checker:
    """Small helpers that know the file being checked, for messages."""

    def __init__(self, path):
        self.path = path

    def fail(self, key, message):
        raise ManifestError(self.path, key, message)

    def typed(self, key, value, kind):
        # bool is an int in Python; a manifest that says "order": True is still wrong.
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            self.fail(key, f"must be {_type_name(kind)}, not {type(value).__name__}")
        return value

    def text_list(self, key, value):
        for index, item in enumerate(self.typed(key, value, list)):
            self.typed(f"{key}[{index}]", item, str)
        return value

    def record(self, key, value, required, optional):
        """A dict with required and optional keys, each {key: type}."""
        self.typed(key, value, dict)
        for name in value:
            if name not in required and name not in optional:
                self.fail(f"{key}.{name}", "unknown key")
        for name, kind in required.items():
            if name not in value:
                self.fail(f"{key}.{name}", "is required")
            self.typed(f"{key}.{name}", value[name], kind)
        for name, kind in optional.items():
            if name in value:
                self.typed(f"{key}.{name}", value[name], kind)
        return value


def _check_views(check, views):
    for index, view in enumerate(check.typed("views", views, list)):
        key = f"views[{index}]"
        check.record(key, view, {"model": str, "menu": str},
                     {"class": str, "icon": str, "order": int, "endpoint": str})
        parts = view["menu"].split("/")
        if not 2 <= len(parts) <= 3 or not all(p.strip() for p in parts):
            check.fail(f"{key}.menu", 'must be "Category/Label" or "Category/Sub/Label"')
        if "class" in view and not re.match(r"^[\w.]+\.\w+$", view["class"]):
            check.fail(f"{key}.class", 'must be "module.ClassName", e.g. "views.NoteView"')
        if "endpoint" in view and not re.match(r"^[a-z][a-z0-9_]*$", view["endpoint"]):
            check.fail(f"{key}.endpoint", "must be lower-case letters, digits and _")


def _check_menus(check, menus):
    for name, options in check.typed("menus", menus, dict).items():
        check.record(f"menus.{name}", options, {}, {"order": int, "icon": str})


def _check_groups(check, groups):
    for code, label in check.typed("groups", groups, dict).items():
        if not re.match(r"^[a-z][a-z0-9_]*$", code):
            check.fail(f"groups.{code}", "group code must be lower-case letters, digits and _")
        check.typed(f"groups.{code}", label, str)


def _check_access(check, access):
    for group, models in check.typed("access", access, dict).items():
        for model, letters in check.typed(f"access.{group}", models, dict).items():
            check.typed(f"access.{group}.{model}", letters, str)
            wrong = sorted(set(letters) - set(ACCESS_LETTERS))
            if wrong:
                check.fail(f"access.{group}.{model}",
                           f"unknown letters {''.join(wrong)!r}; use {ACCESS_LETTERS}")


def _check_fields(check, fields):
    """A client addon's fields (core/customise_export.py writes them)."""
    from core.customise import KINDS   # (it imports the models, which import this)
    for index, spec in enumerate(check.typed("fields", fields, list)):
        key = f"fields[{index}]"
        check.record(key, spec, {"model": str, "name": str, "kind": str, "label": str},
                     {"help": str, "required": bool, "unique": bool, "indexed": bool,
                      "in_list": bool, "default": str, "options": list, "target": str,
                      "section": str})
        if spec["kind"] not in KINDS:
            check.fail(f"{key}.kind", f"must be one of {', '.join(KINDS)}")
        if not spec["name"].startswith("x_"):
            check.fail(f"{key}.name", "must start with x_")
        if spec["kind"] == "link" and "target" not in spec:
            check.fail(f"{key}.target", "is required for a link")


def _check_layout(check, rules):
    """A client addon's field rules (core/layout.py; `customisations export` writes them)."""
    for index, rule in enumerate(check.typed("layout", rules, list)):
        key = f"layout[{index}]"
        check.record(key, rule, {"model": str, "field": str},
                     {"section": str, "hidden": bool, "groups": dict})
        if any(access not in ("readonly", "hidden")
               for access in rule.get("groups", {}).values()):
            check.fail(f"{key}.groups", "each group's access must be readonly or hidden")


def _check_rules(check, rules):
    for index, rule in enumerate(check.typed("rules", rules, list)):
        key = f"rules[{index}]"
        check.record(key, rule, {"model": str, "group": str, "scope": str}, {})
        if rule["scope"] not in RULE_SCOPES:
            check.fail(f"{key}.scope", f"must be one of {', '.join(RULE_SCOPES)}")


def _check_jobs(check, jobs):
    for index, job in enumerate(check.typed("jobs", jobs, list)):
        key = f"jobs[{index}]"
        check.typed(key, job, dict)
        for name in ("id", "func", "trigger"):
            if name not in job:
                check.fail(f"{key}.{name}", "is required")
            check.typed(f"{key}.{name}", job[name], str)
        if job["trigger"] not in JOB_TRIGGERS:
            check.fail(f"{key}.trigger", f"must be one of {', '.join(JOB_TRIGGERS)}")
        if not re.match(r"^[\w.]+\.\w+$", job["func"]):
            check.fail(f"{key}.func", 'must be "module.function", e.g. "jobs.send_reminders"')
        if "label" in job:   # what people read: mark() it in the addon's code
            check.typed(f"{key}.label", job["label"], str)
        for name, value in job.items():
            if name in ("id", "func", "trigger", "label"):
                continue
            if name not in JOB_TRIGGERS[job["trigger"]]:
                check.fail(f"{key}.{name}", f"unknown {job['trigger']} trigger argument "
                           f"(known: {', '.join(JOB_TRIGGERS[job['trigger']])})")
            if not isinstance(value, (int, str)) or isinstance(value, bool):
                check.fail(f"{key}.{name}", "must be a whole number or text")


SETTING_TYPES = {"int": int, "text": str, "bool": bool}


def _check_settings(check, settings):
    for name, spec in check.typed("settings", settings, dict).items():
        key = f"settings.{name}"
        if not re.match(r"^[A-Za-z][A-Za-z0-9_]*$", name):
            check.fail(key, "setting names are letters, digits and _")
        check.record(key, spec, {"label": str, "type": str, "default": object}, {"help": str})
        if spec["type"] not in SETTING_TYPES:
            check.fail(f"{key}.type", f"must be one of {', '.join(SETTING_TYPES)}")
        check.typed(f"{key}.default", spec["default"], SETTING_TYPES[spec["type"]])


def _check_pdf(check, pdf):
    """Each document: its template, or {"template", and for the template editor's
    preview "model" and "context" ("module.function" of a list of records), "label"}."""
    for name, spec in check.typed("pdf", pdf, dict).items():
        if isinstance(spec, dict):
            check.record(f"pdf.{name}", spec, {"template": str},
                         {"model": str, "context": str, "label": str})
        else:
            check.typed(f"pdf.{name}", spec, str)


def _check_commands(check, commands):
    for index, name in enumerate(check.text_list("commands", commands)):
        if not re.match(r"^[\w.]+\.\w+$", name):
            check.fail(f"commands[{index}]",
                       'must be "module.attribute" naming a click command or group, '
                       'e.g. "inventory.stock_cli"')


def _check_public(check, public):
    for index, name in enumerate(check.text_list("public", public)):
        if not re.match(r"^[\w.]+\.\w+$", name):
            check.fail(f"public[{index}]", 'must be "module.blueprint", e.g. "webform.blueprint"')


TRANSITION_KEYS = {"label": str, "groups": list, "condition": str, "effect": str,
                   "needs_approval": bool, "button": bool, "icon": str, "style": str,
                   "confirm": str}
APPROVAL_KEYS = ("field", "from", "submit", "approved", "rejected")


def _check_workflows(check, workflows):
    for model, spec in check.typed("workflows", workflows, dict).items():
        key = f"workflows.{model}"
        check.record(key, spec, {"field": str, "transitions": dict},
                     {"initial": list, "approval": dict})
        for name, transition in spec["transitions"].items():
            where = f"{key}.transitions.{name}"
            if not re.match(r"^[a-z][a-z0-9_]*$", name):
                check.fail(where, "transition names are lower-case letters, digits and _")
            check.record(where, transition, {"from": object, "to": str}, TRANSITION_KEYS)
            if transition["from"] != "*":
                check.text_list(f"{where}.from", transition["from"])
            for dotted in ("condition", "effect"):
                if dotted in transition and not re.match(r"^[\w.]+\.\w+$", transition[dotted]):
                    check.fail(f"{where}.{dotted}", 'must be "module.function"')
        approval = spec.get("approval", {})
        for name, value in approval.items():
            if name not in APPROVAL_KEYS:
                check.fail(f"{key}.approval.{name}", f"unknown key (known: {', '.join(APPROVAL_KEYS)})")
            if name in ("submit", "approved", "rejected") and value not in spec["transitions"]:
                check.fail(f"{key}.approval.{name}", f"no transition {value!r}")


def _check_approvals(check, policies):
    for index, policy in enumerate(check.typed("approvals", policies, list)):
        key = f"approvals[{index}]"
        check.record(key, policy, {"key": str, "model": str, "name": str, "steps": list},
                     {"conditions": list, "fields": list, "self_approval": bool,
                      "sequence": int})
        for number, condition in enumerate(policy.get("conditions", [])):
            if not (isinstance(condition, list) and len(condition) == 3
                    and condition[1] in ("=", "!=", ">", ">=", "<", "<=")):
                check.fail(f"{key}.conditions[{number}]", 'must be [field, operator, value]')
        for number, step in enumerate(policy["steps"]):
            check.record(f"{key}.steps[{number}]", step, {"approvers": str},
                         {"group": str, "rule": str, "count": int, "deadline_hours": int})
            if step["approvers"] not in ("group", "leader", "user"):
                check.fail(f"{key}.steps[{number}].approvers", "must be group, leader or user")
            if step.get("rule", "any") not in ("any", "all", "count"):
                check.fail(f"{key}.steps[{number}].rule", "must be any, all or count")


def _check_reports(check, reports):
    """Each report: {"label", "area", "model", "query" ("module.function" taking
    core.reports.Filters, giving a Result), and "description"} (core/reports.py)."""
    for key, spec in check.typed("reports", reports, dict).items():
        if not re.match(r"^[a-z][a-z0-9_]*$", key):
            check.fail(f"reports.{key}", "report keys are lower-case letters, digits and _")
        check.record(f"reports.{key}", spec, {"label": str, "area": str, "model": str,
                                             "query": str}, {"description": str})
        if not re.match(r"^[\w.]+\.\w+$", spec["query"]):
            check.fail(f"reports.{key}.query", 'must be "module.function"')


def _check_dashboards(check, dashboards):
    """Each standard dashboard: {"label", "reports": [report keys, of any enabled addon]}."""
    for key, spec in check.typed("dashboards", dashboards, dict).items():
        if not re.match(r"^[a-z][a-z0-9_]*$", key):
            check.fail(f"dashboards.{key}", "dashboard keys are lower-case letters, digits and _")
        check.record(f"dashboards.{key}", spec, {"label": str, "reports": list}, {})
        check.text_list(f"dashboards.{key}.reports", spec["reports"])


# key -> (required, default, checker). The checker raises ManifestError.
SCHEMA = {
    "name": (True, None, lambda c, v: c.typed("name", v, str)),
    "version": (True, None, lambda c, v: c.typed("version", v, str)),
    "summary": (False, "", lambda c, v: c.typed("summary", v, str)),
    "description": (False, "", lambda c, v: c.typed("description", v, str)),
    "author": (False, "", lambda c, v: c.typed("author", v, str)),
    "license": (False, "", lambda c, v: c.typed("license", v, str)),
    "category": (False, "", lambda c, v: c.typed("category", v, str)),
    "installable": (False, True, lambda c, v: c.typed("installable", v, bool)),
    "depends": (False, [], lambda c, v: c.text_list("depends", v)),
    # A bridge between its depends: enabled by the core whenever they all are, and
    # disabled with any of them (core.registry).
    "auto_install": (False, False, lambda c, v: c.typed("auto_install", v, bool)),
    "models": (False, [], lambda c, v: c.text_list("models", v)),
    "views": (False, [], _check_views),
    "menus": (False, {}, _check_menus),
    "groups": (False, {}, _check_groups),
    "access": (False, {}, _check_access),
    "rules": (False, [], _check_rules),
    "jobs": (False, [], _check_jobs),
    "pdf": (False, {}, _check_pdf),
    "settings": (False, {}, _check_settings),
    "data": (False, [], lambda c, v: c.text_list("data", v)),
    "demo": (False, [], lambda c, v: c.text_list("demo", v)),
    "public": (False, [], _check_public),
    # Click commands or groups the addon adds to `python run.py` (core.cli finds them
    # without a database; each runs only while its addon is enabled).
    "commands": (False, [], _check_commands),
    "workflows": (False, {}, _check_workflows),
    "approvals": (False, [], _check_approvals),
    "reports": (False, {}, _check_reports),
    "dashboards": (False, {}, _check_dashboards),
    "fields": (False, [], _check_fields),
    "layout": (False, [], _check_layout),
    # Models whose record page and form show their sections as tabs (core.layout).
    "tabs": (False, [], lambda c, v: c.text_list("tabs", v)),
}


def parse_manifest(path):
    """Return the checked manifest of the file at ``path`` as a dict with every key set."""
    check = _Checker(path)
    try:
        source = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        check.fail(None, f"cannot be read: {exc}")
    try:
        data = ast.literal_eval(source.strip() or "None")
    except (ValueError, SyntaxError, MemoryError, RecursionError) as exc:
        check.fail(None, f"must hold one dict literal and nothing else ({exc.__class__.__name__}: {exc})")
    if not isinstance(data, dict):
        check.fail(None, f"must hold one dict literal, not {type(data).__name__}")
    for key in data:
        if key not in SCHEMA:
            check.fail(key, f"unknown key (known keys: {', '.join(sorted(SCHEMA))})")
    manifest = {}
    for key, (required, default, checker) in SCHEMA.items():
        if key not in data:
            if required:
                check.fail(key, "is required")
            manifest[key] = default
            continue
        checker(check, data[key])
        manifest[key] = data[key]
    if not manifest["name"].strip():
        check.fail("name", "must not be empty")
    if manifest["auto_install"] and not manifest["depends"]:
        check.fail("auto_install", "needs depends: the addons it is enabled with")
    if not VERSION_RE.match(manifest["version"]):
        check.fail("version", f"{manifest['version']!r} is not a version like 1.0.0")
    return manifest
