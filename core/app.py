"""Building the Flask application for the current set of enabled addons, and the WSGI
dispatcher that swaps in a new one when that set changes.

Flask refuses new routes once an app has served a request, so enabling an addon cannot
add screens to a running app. Instead every request asks the database for the addon
revision (one indexed read); when another process, or this one, has changed the set, a
fresh app is built for it and takes over from the next request on.
"""
import importlib
import logging
import threading
from dataclasses import dataclass, field

from flask import Flask, g, jsonify, redirect, render_template, request, url_for
from flask_admin import Admin
from flask_admin.theme import Bootstrap4Theme
from flask_babel import Babel, get_locale
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf.csrf import CSRFError, CSRFProtect
from jinja2 import ChoiceLoader, FileSystemLoader
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError
from werkzeug.routing import Rule

from core import audit, auth, dates, i18n, migrating, notifications, security  # noqa: F401  (audit: hooks)
from core import api, approval_links, customise, layout, webhooks  # noqa: F401  (webhooks: hooks)
from core.admin import add_addon_views
from core.config import PROJECT_ROOT, load_settings
from core.db import db
from core.hooks import Hooks
from core.messaging import add_messaging_settings, add_messaging_views
from core.models import Sequence
from core.registry import REVISION, Registry
from core.sessions import SessionPolicy
from core.throttle import LoginThrottle
from core.util import CompiledTemplates
from core.views import HomeView, add_core_views

log = logging.getLogger(__name__)
CORE_DIR = PROJECT_ROOT / "core"


@dataclass
class CrmState:
    """What one built app knows about the suite; ``app.extensions["crm"]``."""

    settings: object
    registry: Registry
    enabled: list = field(default_factory=list)
    revision: object = None          # None: the database is not initialised yet
    hooks: Hooks = None
    throttle: LoginThrottle = None
    sessions: SessionPolicy = None
    custom_fields: list = field(default_factory=list)   # core.customise, removed ones too
    custom_defaults: dict = field(default_factory=dict)   # their defaults, per model
    field_rules: dict = field(default_factory=dict)   # core.layout, {model: {field: Rule}}
    tabbed: frozenset = frozenset()   # core.layout, the models whose sections show as tabs
    api_screens: dict = field(default_factory=dict)   # core.api, {name in the URL: screen}
    webhook_models: dict = None   # core.webhooks, {model: [API names]}, made when first asked


class CrmRule(Rule):
    """A URL rule whose builder (the function werkzeug compiles to make its URLs) is
    compiled once per shape of rule in the process, not once per app. An app has some
    950 rules; compiling their builders was 1.1 of the 1.4 s an app took to build, paid
    at every rebuild (an addon enabled, a field added) in every process."""

    _builders = {}   # (a rule's parts, defaults, converters, append_unknown): function

    def _compile_builder(self, append_unknown=True):
        shape = (tuple(self._trace), append_unknown,
                 repr(sorted((self.defaults or {}).items(), key=str)),
                 tuple((name, type(c)) for name, c in sorted(self._converters.items())))
        builder = self._builders.get(shape)
        if builder is None:
            builder = self._builders[shape] = super()._compile_builder(append_unknown)
        return builder


class CrmFlask(Flask):
    """Flask, with what one app built in a process leaves ready for the next: its URL
    builders, and the compiled code of its templates (its first pages skip compiling
    them again)."""

    url_rule_class = CrmRule
    jinja_options = {**Flask.jinja_options, "bytecode_cache": CompiledTemplates(1024)}


def read_state(registry):
    """(revision, enabled names), read together; (None, []) before `init`."""
    try:
        return registry.revision(db.session), registry.enabled(db.session)
    except DBAPIError:  # no core tables yet
        return None, []
    finally:
        db.session.remove()


def create_app(settings=None, registry=None):
    """A Flask app for the addons enabled in the database right now."""
    settings = settings or load_settings()
    registry = registry or Registry(settings.addon_paths)
    policy = SessionPolicy.from_settings(settings)
    app = CrmFlask("core", root_path=str(CORE_DIR), instance_path=str(settings.instance_path),
                   static_url_path="/static/core", static_folder="static/core")
    app.config.update(
        SECRET_KEY=settings.secret_key,
        SQLALCHEMY_DATABASE_URI=settings.database_url,
        SQLALCHEMY_ENGINE_OPTIONS={"pool_pre_ping": True},
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        # The signed cookie itself is refused past a session's lifetime too.
        PERMANENT_SESSION_LIFETIME=policy.lifetime,
        # Tied to the session (new at every sign-in and sign-out), and no older than one.
        WTF_CSRF_TIME_LIMIT=int(policy.lifetime.total_seconds()),
        MAX_CONTENT_LENGTH=settings.raw.getint("core", "max_upload_mb", fallback=20) * 2**20,
    )
    db.init_app(app)
    with app.app_context():
        revision, enabled = read_state(registry)
        fields = customise.site_fields(db.session, enabled) if revision is not None else []
        rules = layout.site_rules(db.session, enabled) if revision is not None else {}
        tabbed = layout.site_tabs(db.session, enabled) if revision is not None else frozenset()
        db.session.remove()
    state = CrmState(settings=settings, registry=registry, enabled=enabled, revision=revision,
                     hooks=Hooks(enabled), throttle=LoginThrottle.from_settings(settings),
                     sessions=policy, custom_fields=fields,
                     custom_defaults=customise.defaults_of(fields), field_rules=rules,
                     tabbed=tabbed)
    customise.map_fields(fields)
    app.extensions["crm"] = state

    app.jinja_loader = ChoiceLoader([FileSystemLoader(template_folders(state)), app.jinja_loader])
    _init_translations(app, state)
    csrf = CSRFProtect(app)
    auth.login_manager.init_app(app)
    app.register_blueprint(auth.blueprint)
    _add_public_pages(app, state, csrf)
    # The links of approval emails: no login, but the CSRF token of the page they show.
    app.register_blueprint(approval_links.blueprint)
    admin = Admin(app, name=settings.site_name, url="/admin",
                  index_view=HomeView(name=i18n.mark("Home"), url="/admin", menu_icon_type="fa",
                                      menu_icon_value="fa-home"),
                  theme=Bootstrap4Theme(base_template="admin/crm_base.html", fluid=True),
                  csp_nonce_generator=security.csp_nonce)
    add_messaging_views(admin)
    add_addon_views(admin, state)
    add_core_views(admin, state)
    add_messaging_settings(admin)
    api.init_app(app, admin, csrf)
    security.init_app(app, settings)
    _add_pages(app, state)
    return app


def _add_public_pages(app, state, csrf):
    """The blueprints enabled addons list under "public": pages for visitors with no
    login (a web-to-lead form posted from the company's website). Other sites post to
    them, so they cannot carry this site's CSRF token: each such page checks its own
    (a per-form token, say), and a rate limit. They act for no one."""
    public = set()
    for name in state.enabled:
        addon = state.registry.addons[name]
        for target in addon.manifest["public"]:
            module_name, attribute = target.rsplit(".", 1)
            blueprint = getattr(importlib.import_module(f"{addon.package}.{module_name}"),
                                attribute)
            csrf.exempt(blueprint)
            app.register_blueprint(blueprint)
            public.add(blueprint.name)

    @app.before_request
    def public_pages_act_for_no_one():
        """Even for a signed-in user who opens one: what a visitor sends there must not
        become that user's (core.audit stamps the acting user as owner)."""
        if request.blueprint in public:
            g._login_user = auth.login_manager.anonymous_user()


def template_folders(state):
    """Where templates are looked for before the core's own: the client's folders
    ([addons] template_paths), then each enabled addon's templates/ folder."""
    addon_folders = [state.registry.addons[name].path / "templates" for name in state.enabled]
    return [str(folder) for folder in state.settings.template_paths + addon_folders
            if folder.is_dir()]


def _init_translations(app, state):
    """The core's catalog plus each enabled addon's, compiled when stale."""
    directories = [str(i18n.CORE_TRANSLATIONS)] + [
        str(state.registry.addons[name].path / "translations") for name in state.enabled
        if (state.registry.addons[name].path / "translations").is_dir()]
    i18n.compile_catalogs(directories)
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = ";".join(directories)
    Babel(app, locale_selector=lambda: i18n.select_locale(state.settings.default_language))
    # Stored values (states, stage names) are shown with label(), never with _().
    app.jinja_env.globals["label"] = app.jinja_env.filters["label"] = i18n.label
    app.jinja_env.globals["lookup_texts"] = i18n.lookup_texts
    dates.init_app(app)   # the date picker's words, for every page


def _add_pages(app, state):
    """The few pages outside the admin: root, health check, error pages."""

    @app.context_processor
    def crm_globals():
        return {"crm": state, "languages": i18n.LANGUAGES, "get_locale": get_locale,
                "unread_reminders": lambda: notifications.unread_count(current_user.id)}

    @app.route("/")
    def root():
        return redirect(url_for("admin.index"))

    @app.route("/healthz")
    def healthz():
        try:
            db.session.execute(text("SELECT 1"))
            database = "ok"
        except DBAPIError as exc:
            database = f"error: {exc.__class__.__name__}"
        status = "ok" if database == "ok" and state.revision is not None else "error"
        behind, newer = [], []
        if status == "ok":
            behind, newer = migrating.standing(db.session.connection(), state.registry)
            status = ("database newer than code" if newer else
                      "upgrade needed" if behind else status)
        return jsonify(status=status, database=database,
                       initialised=state.revision is not None, addons=state.enabled,
                       schema={"current": status == "ok", "behind": behind, "newer": newer},
                       ), 200 if status == "ok" else 503

    def error_page(code, message):
        if api.is_api_request():   # a program reads it: a problem document
            return api.problem(code, message)
        return render_template("core/error.html", code=code, message=message), code

    app.register_error_handler(CSRFError, lambda error: error_page(400, _(
        "The form's security token is missing or out of date. Go back, reload the "
        "page and try again.")))
    app.register_error_handler(403, lambda error: error_page(403, _(
        "You do not have permission to do this.")))
    app.register_error_handler(404, lambda error: error_page(404, _(
        "This page does not exist, or its addon is not enabled.")))
    app.register_error_handler(405, lambda error: error_page(405, _(
        "This address does not take that method.")))
    app.register_error_handler(413, lambda error: error_page(413, _(
        "What you sent is larger than %(size)s MB, the most this site accepts; nothing "
        "was saved.", size=(app.config["MAX_CONTENT_LENGTH"] or 0) // 2 ** 20)))

    @app.errorhandler(500)
    def server_error(error):
        """A fault of ours: the same page as the others, and nothing half-written (the
        traceback is in the log, as Flask logs it before this runs)."""
        db.session.rollback()
        try:
            return error_page(500, _("Something went wrong on our side and nothing was "
                                     "saved. Try again; if it happens again, tell your "
                                     "administrator the time it happened."))
        except Exception:   # the page itself failed: the database may be gone
            log.exception("the error page could not be shown")
            return "Internal Server Error", 500


class Dispatcher:
    """The WSGI entry point (``run:app``): serves the app built for the current addon
    set, rebuilding it when the revision in the database moves."""

    def __init__(self, settings=None):
        self.settings = settings
        self._app = None
        self._engine = None
        self._lock = threading.Lock()

    @property
    def app(self):
        if self._app is None:
            with self._lock:
                if self._app is None:
                    self._build()
        revision = self._read_revision()
        if revision != self._app.extensions["crm"].revision:
            with self._lock:
                if revision != self._app.extensions["crm"].revision:
                    self._build()
        return self._app

    def _read_revision(self):
        try:
            with self._engine.connect() as connection:
                return connection.execute(
                    select(Sequence.value).where(Sequence.name == REVISION)).scalar() or 0
        except DBAPIError:
            return None

    def _build(self):
        settings = self.settings or load_settings()
        old_engine = self._engine
        # A fresh registry re-reads the addon folders, so a rescan needs no restart.
        app = create_app(settings, Registry(settings.addon_paths))
        with app.app_context():
            self._engine = db.engine
        self._app = app
        if old_engine is not None:
            old_engine.dispose()  # requests still running keep their connections
        log.info("app built for addons: %s", ", ".join(app.extensions["crm"].enabled) or "none")

    def __call__(self, environ, start_response):
        return self.app(environ, start_response)
