"""The OpenAPI 3.1 document of the REST API (core.api), made from the screens and their
models for the user asking: the screens they may read, the fields they see and may set,
the writes their token and their access letters allow. /api/v1/openapi.json gives it to
programs (a client generator, a fuzzer); Your account > API shows it to people."""
from flask import url_for
from flask_babel import lazy_gettext as _l
from sqlalchemy import (BigInteger, Boolean, Date, DateTime, Enum, Float, Integer, Numeric,
                        String, Text)

from core.i18n import label

PROBLEM = {"$ref": "#/components/schemas/Problem"}
PROBLEM_SCHEMA = {
    "type": "object", "required": ["type", "title", "status"],
    "properties": {
        "type": {"type": "string"}, "title": {"type": "string"},
        "status": {"type": "integer"}, "detail": {"type": "string"},
        "errors": {"type": "array", "items": {
            "type": "object", "required": ["field", "message"],
            "properties": {"field": {"type": "string"}, "message": {"type": "string"},
                           "index": {"type": "integer"}}}}}}
# What each refusal means (the same for every screen).
REFUSALS = {"400": "Bad parameters or body", "401": "No valid token",
            "403": "Not for this token or user", "404": "No such screen or record",
            "405": "Not made through the API", "409": "Locked, or clashing",
            "412": "Changed since read", "413": "Body too large",
            "415": "Not JSON", "422": "Fields refused", "428": "If-Match missing"}


def value_schema(target, writing=False):
    """The JSON Schema of one field's value as the API reads it (or takes it)."""
    kind = getattr(target, "type", None)
    if kind is None:   # a link, by the related record's id
        schema = {"type": "integer"}
    elif hasattr(kind, "from_text"):   # several choices
        schema = {"type": "array", "items": {"type": "string"}}
    elif isinstance(kind, Boolean):
        schema = {"type": "boolean"}
    elif isinstance(kind, (Integer, BigInteger)):
        schema = {"type": "integer"}
    elif isinstance(kind, (Numeric, Float)):   # read as an exact string
        schema = {"type": ["number", "string"]} if writing else {"type": "string"}
    elif isinstance(kind, DateTime):
        schema = {"type": "string", "format": "date-time"}
    elif isinstance(kind, Date):
        schema = {"type": "string", "format": "date"}
    elif isinstance(kind, Enum):
        schema = {"type": "string", "enum": list(kind.enums)}
    elif isinstance(kind, (String, Text)):
        schema = {"type": "string"}
        if getattr(kind, "length", None):
            schema["maxLength"] = kind.length
    else:
        schema = {}
    nullable = getattr(target, "nullable", True) if kind is not None else True
    if nullable and "type" in schema:
        types = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        schema = {**schema, "type": [*types, "null"]}
        if "enum" in schema:
            schema["enum"] = [*schema["enum"], None]
    return schema


def object_schema(fields, writing=False, required=()):
    schema = {"type": "object", "properties": {
        name: value_schema(target, writing) for name, target in fields.items()}}
    if writing:
        schema["additionalProperties"] = False
    if required:
        schema["required"] = list(required)
    return schema


def json_body(schema):
    return {"content": {"application/json": {"schema": schema}}}


def answers(*codes, ok=None):
    """The responses of an operation: ``ok`` ({status: (description, schema or None)}),
    and the problems ``codes``."""
    found = {}
    for status, (description, schema) in (ok or {}).items():
        found[status] = {"description": description,
                         **(json_body(schema) if schema is not None else {})}
    for code in codes:
        found[code] = {"description": REFUSALS[code],
                       "content": {"application/problem+json": {"schema": PROBLEM}}}
    return found


def parameter(name, where, schema, required=False, description=""):
    return {"name": name, "in": where, "required": required, "schema": schema,
            **({"description": description} if description else {})}


def screen_paths(name, view, may):
    """The paths of one screen: its list and its records, with the writes ``may`` lists
    ("c", "w", "d")."""
    from core.api import embeddable, record_fields, write_fields
    title = str(label(view.name))
    read = object_schema(record_fields(view), required=["id"])   # (whatever fields= asks)
    links = embeddable(view)
    for link, (_key, screen) in links.items():   # (given when ?embed= asks)
        read["properties"][link] = {"anyOf": [
            {"$ref": f"#/components/schemas/{screen.endpoint}"}, {"type": "null"}]}
    embed = parameter("embed", "query", {"type": "string"}, description=(
        "Linked records to give with each, comma-separated: " + ", ".join(links))
        if links else "No linked record can be embedded here.")
    ref = f"#/components/schemas/{name}"
    schemas = {name: read}
    record = {"$ref": ref}
    page = {"type": "object", "required": ["data", "next"], "properties": {
        "data": {"type": "array", "items": record}, "next": {"type": ["string", "null"]}}}
    listing = {"get": {
        "operationId": f"list_{name}", "summary": title, "tags": [title],
        "parameters": [
            parameter("limit", "query", {"type": "integer", "minimum": 1, "maximum": 500}),
            parameter("cursor", "query", {"type": "string"},
                      description="The `next` of the page before."),
            parameter("sort", "query", {"type": "string"},
                      description="A field, or -field for the other way."),
            parameter("search", "query", {"type": "string"}),
            parameter("fields", "query", {"type": "string"},
                      description="Fields to give, comma-separated (and the id)."),
            embed],
        "responses": answers("400", "401", "403", "404", ok={"200": ("A page", page)})}}
    one = {"get": {
        "operationId": f"read_{name}", "summary": title, "tags": [title],
        "parameters": [parameter("fields", "query", {"type": "string"}), embed],
        "responses": answers("400", "401", "403", "404", ok={"200": ("The record", record)})}}
    version = parameter("If-Match", "header", {"type": "string"}, required=True,
                        description="The record's ETag, from reading it.")
    if "c" in may:
        fields = write_fields(view)
        from core.transfer import is_required
        required = [key for key, (_field, target) in fields.items() if is_required(target)]
        schemas[f"{name}New"] = object_schema(
            {key: target for key, (_field, target) in fields.items()}, True, required)
        listing["post"] = {
            "operationId": f"create_{name}", "summary": title, "tags": [title],
            "parameters": [parameter("Idempotency-Key", "header",
                                     {"type": "string", "maxLength": 200})],
            "requestBody": {"required": True, **json_body({"oneOf": [
                {"$ref": f"#/components/schemas/{name}New"},
                {"type": "array", "minItems": 1, "maxItems": 500,
                 "items": {"$ref": f"#/components/schemas/{name}New"}}]})},
            "responses": answers("400", "401", "403", "404", "405", "409", "413", "415",
                                 "422", ok={"201": ("Created", {"oneOf": [record, {
                                     "type": "object", "required": ["data"],
                                     "properties": {"data": {"type": "array",
                                                             "items": record}}}]})})}
    if "w" in may:
        fields = write_fields(view, editing=True)
        schemas[f"{name}Change"] = object_schema(
            {key: target for key, (_field, target) in fields.items()}, True)
        one["patch"] = {
            "operationId": f"change_{name}", "summary": title, "tags": [title],
            "parameters": [version],
            "requestBody": {"required": True, **json_body(
                {"$ref": f"#/components/schemas/{name}Change"})},
            "responses": answers("400", "401", "403", "404", "405", "409", "412", "413",
                                 "415", "422", "428", ok={"200": ("Changed", record)})}
    if "d" in may:
        one["delete"] = {
            "operationId": f"delete_{name}", "summary": title, "tags": [title],
            "parameters": [version],
            "responses": answers("401", "403", "404", "405", "409", "412", "428",
                                 ok={"204": ("Deleted", None)})}
    # Where a record leads (OpenAPI links): its id and ETag to read, change or delete it;
    # a client generator and schemathesis's stateful tests follow them.
    links = {verb: {"operationId": f"{verb}_{name}", "parameters": {
        "id": "$response.body#/id",
        **({"header.If-Match": "$response.header.ETag"} if verb != "read" else {})}}
        for verb in ("read", "change", "delete")
        if verb == "read" or (verb == "change" and "w" in may) or (verb == "delete" and "d" in may)}
    for operation, status in ((listing.get("post"), "201"), (one["get"], "200"),
                              (one.get("patch"), "200")):
        if operation is not None:
            operation["responses"][status]["links"] = links
    paths = {f"/{name}": listing, f"/{name}/{{id}}": {
        "parameters": [parameter("id", "path", {"type": "integer"}, required=True)], **one}}
    paths.update(action_paths(name, view, title, record, version))
    return paths, schemas


def action_paths(name, view, title, record, version):
    """The paths of a screen's actions (core.api.actions, act): its workflow's
    transitions with a button, where the user may write, and its approval's steps."""
    from core import approvals, permissions, workflow
    from core.api import APPROVAL_ACTIONS
    flow = workflow.of(view.model)
    names = [t.name for t in flow.transitions.values() if t.button] \
        if flow and view.permits("w") else []
    if approvals.config(view.model):
        names += list(APPROVAL_ACTIONS)
    if not names or not permissions.token_allows(view.permission_model, "w"):
        return {}
    record_id = parameter("id", "path", {"type": "integer"}, required=True)
    listed = {"type": "object", "required": ["actions"], "properties": {"actions": {
        "type": "array", "items": {"type": "object", "properties": {
            "name": {"type": "string"}, "label": {"type": "string"}, "to": {}}}}}}
    return {
        f"/{name}/{{id}}/actions": {"parameters": [record_id], "get": {
            "operationId": f"actions_{name}", "summary": title, "tags": [title],
            "responses": answers("401", "403", "404", ok={"200": ("What may be done", listed)})}},
        f"/{name}/{{id}}/actions/{{action}}": {"parameters": [
            record_id, parameter("action", "path", {"type": "string", "enum": names},
                                 required=True)], "post": {
            "operationId": f"act_{name}", "summary": title, "tags": [title],
            "parameters": [version],
            "requestBody": {"required": False, **json_body({"type": "object", "properties": {
                "to": {"type": ["integer", "string"]}, "comment": {"type": "string"}}})},
            "responses": answers("401", "403", "404", "409", "412", "415", "422", "428",
                                 ok={"200": ("Done", record)})}}}


def usable(screens):
    """[(name, screen, the writes the user and token may make there: "c", "w", "d")] of
    the screens they may read."""
    from core.api import WRITES, makes
    return [(name, view, [letter for letter, (kind, _page, _refusal) in WRITES.items()
                          if makes(view, letter) and getattr(view, "can_" + kind)])
            for name, view in sorted(screens.items()) if view.permits("r")]


def schema_text(schema):
    """A field's schema in a few words of JSON Schema: "string (date) | null"."""
    types = schema.get("type", [])
    types = types if isinstance(types, list) else [types]
    extra = schema.get("format") or ("≤ %d" % schema["maxLength"] if "maxLength" in schema
                                     else None)
    words = [f"{kind} ({extra})" if extra and kind == "string" else kind for kind in types]
    if "enum" in schema:
        words[0] += ": " + ", ".join(str(value) for value in schema["enum"] if value)
    return " | ".join(words)


# The columns every record may have, which no screen labels.
KEPT_LABELS = {"id": "ID", "created_at": _l("Created at"), "updated_at": _l("Updated at"),
               "created_by_id": _l("Created by"), "updated_by_id": _l("Updated by")}


def people_page(screens):
    """What Your account > API shows: per screen, its title, name, the writes allowed,
    and each field as read, with what a POST and a PATCH may set."""
    from core.api import record_fields, write_fields
    from core.record import field_label, field_label_of
    from core.transfer import is_required
    found = []
    for name, view, may in usable(screens):
        new = write_fields(view) if "c" in may else {}
        change = write_fields(view, editing=True) if "w" in may else {}
        read = record_fields(view)
        rows = []
        for key in dict.fromkeys([*read, *new, *change]):
            field, target = new.get(key) or change.get(key) or (None, read[key])
            rows.append({"name": key, "label": KEPT_LABELS.get(key) or (
                field_label(view, field) if field else field_label_of(view.model, key)),
                         "kind": schema_text(value_schema(target, key not in read)),
                         "read": key in read, "new": key in new,
                         "required": key in new and is_required(target),
                         "change": key in change})
        found.append({"name": name, "title": label(view.name), "may": may, "fields": rows})
    return found


def document(screens):
    """The OpenAPI document of ``screens`` ({name: screen}) for the user asking."""
    paths, schemas = {}, {"Problem": PROBLEM_SCHEMA}
    for name, view, may in usable(screens):
        found, models = screen_paths(name, view, may)
        paths.update(found)
        schemas.update(models)
    return {
        "openapi": "3.1.0",
        "info": {"title": "CRM REST API", "version": "1"},
        "servers": [{"url": url_for("api.index", _external=True).rstrip("/")}],
        "security": [{"token": []}],
        "paths": paths,
        "components": {"schemas": schemas, "securitySchemes": {
            "token": {"type": "http", "scheme": "bearer",
                      "description": "A token made on Your account."}}},
    }
