"""The core's own screens: home, addons, users, groups, teams, permissions, the audit
log and data reassignment. Apart from the home page they are for administrators only,
whatever a manifest grants."""
import json
import secrets

from flask import abort, current_app, flash, redirect, request, send_file, session, url_for
from flask_admin import AdminIndexView, BaseView, expose
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_login import current_user
from markupsafe import Markup, escape
from sqlalchemy import select
from wtforms import PasswordField, SelectField
from wtforms.validators import ValidationError

from core import api, hooks, notifications, options, permissions, reassign, sessions
from core import approvals, backups, company, files, migrating, neutral, outbox
from core import record as record_page
from core.company import CompanyView, MailServerView
from core.customise_views import CustomiseView
from core.admin import ModelView, deny
from core.audit import ACTIONS
from core.auth import password_problem
from core.db import db
from core.i18n import (LANGUAGES, label, lazy_label, lazy_model_label, mark, model_class,
                       model_label)
from core.manifest import ACCESS_LETTERS
from core.models import (ADMIN_GROUP, INTEGRATION_GROUP, Access, ApiToken, AuditEntry, Group,
                         JobState, OwnedMixin, Team, User, utcnow)
from core.permissions import SCOPES
from core.registry import AddonError
from core.scheduler import job_specs, run_job
from core.util import int_ids

SETTINGS = mark("Settings")
SEARCH_LIMIT = 20   # results per section of the quick search


class SignedIn:
    """Mixin for pages every signed-in user may see."""

    def is_accessible(self):
        return current_user.is_authenticated

    def inaccessible_callback(self, name, **kwargs):
        return deny()


class AdminOnly(SignedIn):
    """Mixin for the core's settings screens."""

    def is_accessible(self):
        return super().is_accessible() and current_user.is_admin


class CoreModelView(AdminOnly, ModelView):
    def permits(self, letter, user=None):
        # Administrators only; through the core's check still (an API token narrows it).
        user = user or current_user
        return user.is_authenticated and user.is_admin and \
            permissions.permits(user, self.permission_model, letter)


class ReadOnlyView(CoreModelView):
    """A record of what happened (audit, outbox): every changing endpoint answers 403;
    a subclass may let some bulk actions through."""

    allow_create = allow_edit = allow_delete = False
    allowed_actions = ()

    def _handle_view(self, name, **kwargs):
        if name in ("create_view", "edit_view", "delete_view", "ajax_update") or (
                name == "action_view" and request.form.get("action") not in self.allowed_actions):
            abort(403)
        return super()._handle_view(name, **kwargs)


def lines_markup(lines):
    """Text lines as escaped HTML, one per line."""
    return Markup("<br>").join(escape(line) for line in lines)


class HomeView(SignedIn, AdminIndexView):
    """The dashboard every user lands on."""

    @expose("/")
    def index(self):
        state = current_app.extensions["crm"]
        screens = [v for v in self.admin._views
                   if isinstance(v, ModelView) and not isinstance(v, CoreModelView)
                   and v.is_accessible()]
        # (a user whose only group is Customiser has no screens, but that page)
        may_customise = not screens and any(
            v.endpoint == "customise" and v.is_accessible() for v in self.admin._views)
        return self.render("core/home.html", screens=screens, state=state,
                           may_customise=may_customise,
                           announcements=notifications.announcements_for(current_user),
                           panels=state.hooks.call("dashboard.panels"),
                           **self.admin_notices())

    def admin_notices(self):
        """For administrators: what the first-run set-up still lacks, and a warning
        while no mail server is set up (every email fails meanwhile)."""
        if not current_user.is_admin:
            return {}
        return {"setup_missing": company.setup_missing(),
                "no_mail_server": not outbox.mail_configured()}


class SearchView(SignedIn, BaseView):
    """Quick search across every enabled addon: each connects to ``search.quick`` a
    handler (text, limit) that returns {title, items: [{title, link, detail}]} of the
    records the user may see."""

    def is_visible(self):
        return False   # reached from the search box in the top bar

    @expose("/")
    def index(self):
        text = request.args.get("q", "").strip()[:100]
        sections = []
        if text:
            state = current_app.extensions["crm"]
            sections = sorted(state.hooks.call("search.quick", text, SEARCH_LIMIT),
                              key=lambda section: section.get("order", 100))
        return self.render("core/search.html", text=text, sections=sections, limit=SEARCH_LIMIT)


class AddonsView(AdminOnly, BaseView):
    """Enable and disable addons at run time."""

    @expose("/")
    def index(self):
        state = current_app.extensions["crm"]
        lagging, newer = migrating.standing(db.session.connection(), state.registry)
        behind = [_("the core") if name == migrating.CORE else addon_title(state.registry, name)
                  for name in lagging]
        return self.render("core/addons.html", registry=state.registry, behind=behind,
                           newer=newer, states=state.registry.states(db.session))

    @expose("/<action>/<addon>", methods=("POST",))
    def change(self, action, addon):
        registry = current_app.extensions["crm"].registry
        try:
            if action == "enable":
                done = registry.enable(db.session, addon) or [addon]
                message = _("Enabled: %(names)s.", names=", ".join(
                    addon_title(registry, name) for name in done))
            elif action == "disable":
                done = registry.disable(db.session, addon) or [addon]
                message = _("Disabled %(name)s. Its records are kept.", name=", ".join(
                    addon_title(registry, name) for name in done))
            else:
                abort(404)
            db.session.commit()
            flash(message, "success")
        except AddonError as exc:
            db.session.rollback()
            flash(str(exc), "error")
        except migrating.MigrationError as exc:
            db.session.rollback()
            flash(_("The addon's tables could not be brought up to date: %(reason)s",
                    reason=str(exc)), "error")
        return redirect(url_for(".index"))

    @expose("/rescan", methods=("POST",))
    def rescan(self):
        # Every process rebuilds (and so re-reads the addon folders) on a new revision.
        current_app.extensions["crm"].registry.bump_revision(db.session)
        db.session.commit()
        flash(_("Addon folders scanned again."), "success")
        return redirect(url_for(".index"))


def addon_title(registry, name):
    """An addon as people read it: its manifest's name, translated."""
    addon = registry.addons.get(name)
    return label(addon.manifest["name"]) if addon and addon.manifest else name


def _check_new_password(form, field):
    if field.data:
        problem = password_problem(form.username.data or "", field.data)
        if problem:
            raise ValidationError(problem)


NEW_KEY = "crm_new_api_key"   # the session's key of a token just made, until it is shown


def token_models(user):
    """{model name: its screen's name} of what ``user`` may read: a token's choice."""
    screens = current_app.extensions["crm"].api_screens.values()
    found = {view.permission_model: label(view.name) for view in screens
             if view.permits("r", user)}
    return dict(sorted(found.items(), key=lambda item: item[1]))


class ApiTokens:
    """A user's API tokens (core.api): listed, made (the key shown once) and revoked.
    On Your account, the signed-in user's; on an integration user's page, its own."""

    def token_owner(self):
        """The user whose tokens the request is about."""
        raise NotImplementedError

    def tokens_page(self, user, errors=None, status=200):
        raise NotImplementedError

    def token_args(self, user):
        """What the token URLs carry to name ``user``."""
        return {}

    def token_values(self, user, errors=None):
        tokens = db.session.scalars(select(ApiToken).where(
            ApiToken.user_id == user.id).order_by(ApiToken.id.desc())).all()
        return {"tokens": tokens, "token_models": token_models(user),
                "expiry_days": api.EXPIRY_DAYS, "new_key": session.pop(NEW_KEY, None),
                "errors": errors or {}, "now": utcnow(), "own": user.id == current_user.id,
                "token_args": self.token_args(user)}

    @expose("/tokens", methods=("POST",))
    def new_token(self):
        """A new API token, its key shown on the page that answers, and never again."""
        user = self.token_owner()
        name = request.form.get("name", "").strip()
        models = request.form.getlist("models")
        days = request.form.get("days", "")
        access = request.form.get("access", "read")
        errors = {}
        if not name or len(name) > 100:
            errors["name"] = _("Give the token a name of at most 100 characters, to know "
                               "it by later.")
        if set(models) - set(token_models(user)):
            errors["models"] = _("Choose among the records listed.")
        if days != "never" and days not in map(str, api.EXPIRY_DAYS):
            errors["days"] = _("Choose when the token expires.")
        if access not in ("read", "write"):
            errors["access"] = _("Choose what the token may do.")
        if errors:
            return self.tokens_page(user, errors=errors, status=400)
        _token, key = api.make_token(user, name, models, None if days == "never" else int(days),
                                     writes=access == "write")
        db.session.commit()
        # Shown by the page the browser is sent to, once (a reload makes no second token).
        session[NEW_KEY] = key
        return redirect(self.tokens_url(user))

    def tokens_url(self, user):
        return url_for(".index", _anchor="api-tokens")

    @expose("/tokens/<int:token_id>/revoke", methods=("POST",))
    def revoke_token(self, token_id):
        user = self.token_owner()
        token = db.session.scalar(select(ApiToken).where(
            ApiToken.id == token_id, ApiToken.user_id == user.id))
        if token is None:
            abort(404)
        if token.revoked_at is None:
            token.revoked_at = utcnow()
            db.session.commit()
        flash(_("The token “%(name)s” is revoked: it opens nothing any more.",
                name=token.name), "success")
        return redirect(self.tokens_url(user))


class UserView(ApiTokens, CoreModelView):
    column_list = ["username", "full_name", "email", "active", "must_change_password",
                   "groups", "teams"]
    column_searchable_list = ["username", "full_name", "email"]
    column_filters = ["active", "must_change_password", "language", "username"]
    column_details_list = ["username", "full_name", "email", "notify_by_email", "language",
                           "active", "must_change_password", "groups", "teams", "created_at"]
    column_labels = {"must_change_password": _l("Must change password"),
                     "groups": _l("Groups"), "teams": _l("Teams"),
                     "created_at": _l("Created at")}
    form_columns = ["username", "full_name", "email", "notify_by_email", "language", "active",
                    "must_change_password", "groups", "teams", "new_password"]
    form_extra_fields = {"new_password": PasswordField(
        _l("New password"), validators=[_check_new_password],
        description=_l("Leave empty to keep the current password."))}
    form_overrides = {"language": SelectField}
    form_args = {"language": {"choices": [("", _l("Browser's choice"))] + list(LANGUAGES.items())},
                 "notify_by_email": {"description": _l(
                     "Each reminder under the bell also goes to the user's email address.")},
                 "groups": {"description": _l(
                     "Integration (API only): for a program (a shop, a telephone system). It "
                     "never signs in to the screens, and uses the API with tokens made on "
                     "its page; it needs no password. Its other groups say what it may do.")}}
    column_default_sort = "username"
    allow_delete = False   # users own records: deactivate them instead

    def on_model_change(self, form, model, is_created):
        password = form.new_password.data
        model.__dict__.pop("new_password", None)  # never keep the plain text around
        if password:
            model.set_password(password)   # also ends the user's sessions elsewhere
        elif is_created and model.is_integration:   # a password nobody knows: never used
            model.set_password(secrets.token_urlsafe(32))
        elif is_created:
            raise ValidationError(_("Give the new user a password."))
        if model.id == current_user.id and (
                not model.active or not model.is_admin or model.is_integration):
            raise ValidationError(_("You cannot lock yourself out: keep your own account "
                                    "active and in the Administrator group."))

    def detail_buttons(self, record):
        if not record.is_integration:
            return []
        return [{"label": _("API tokens"), "icon": "fa-key",
                 "url": self.get_url(".api_tokens", id=record.id)}]

    # An integration user's tokens, made by an administrator (it has no screens).
    @expose("/api-tokens/")
    def api_tokens(self):
        return self.tokens_page(self.token_owner())

    def token_owner(self):
        user = self.requested_record()
        if not user.is_integration:
            abort(404)
        return user

    def token_args(self, user):
        return {"id": user.id}

    def tokens_url(self, user):
        return self.get_url(".api_tokens", id=user.id, _anchor="api-tokens")

    def tokens_page(self, user, errors=None, status=200):
        return self.render("core/integration_tokens.html", user=user,
                           **self.token_values(user, errors)), status


class GroupView(CoreModelView):
    column_list = ["name", "users"]   # the code is for manifests: on the form only
    column_labels = {"users": _l("Members")}
    form_columns = ["code", "name", "users"]
    column_default_sort = "code"

    def on_model_change(self, form, model, is_created):
        history = db.inspect(model).attrs.code.history
        if history.deleted and history.deleted[0] == ADMIN_GROUP:
            raise ValidationError(_("The Administrator group's code cannot change."))
        if history.deleted and history.deleted[0] == INTEGRATION_GROUP:
            raise ValidationError(_("The code of a built-in group cannot change."))

    def on_model_delete(self, model):
        if model.code == ADMIN_GROUP:
            raise ValidationError(_("The Administrator group cannot be deleted."))
        if model.code == INTEGRATION_GROUP:
            raise ValidationError(_("A built-in group cannot be deleted."))


class TeamView(CoreModelView):
    column_list = ["name", "leader", "members"]
    form_columns = ["name", "leader", "members"]
    column_default_sort = "name"


def _format_changes(view, context, entry, name):
    """A change in words: "Owner: 李雷 → 韩梅梅", never a column name or an id (as the
    record's feed reads it, core.record.describe)."""
    model = model_class(entry.model)
    if model is None:   # a model no addon on the paths has any more
        return ""
    if entry.action in approvals.DECISIONS:
        facts = json.loads(entry.changes)
        away = db.session.get(User, facts["on_behalf_of"]) if facts.get("on_behalf_of") else None
        names = {away.id: record_page.user_name(away)} if away is not None else {}
        return lines_markup(record_page.approval_lines(facts, names))
    [lines] = record_page.describe(model, [json.loads(entry.changes)])
    return lines_markup(_("%(field)s: %(old)s → %(new)s", field=field, old=old, new=new)
                        for field, old, new in lines)


class AuditView(ReadOnlyView):
    """Nobody may change or delete the trail."""

    column_list = ["at", "user", "api_token", "model", "record_id", "action", "changes"]
    column_filters = ["model", "record_id", "action", "at", "user.username"]
    column_searchable_list = ["model"]
    column_formatters = {"changes": _format_changes}
    column_formatters_detail = {"changes": _format_changes}
    column_default_sort = ("id", True)
    form_ajax_refs = {}

    def __init__(self, *args, enabled=(), **kwargs):
        # Models and actions by the names people read, in the list and its filters: the
        # audited models of the core and of the enabled addons.
        models = sorted({mapper.class_.__name__ for mapper in db.Model.registry.mappers
                         if getattr(mapper.class_, "__audit__", False)
                         and hooks.owner(mapper.class_) in (None, *enabled)})
        self.column_choices = {
            "model": [(name, lazy_model_label(name)) for name in models],
            "action": [(action, lazy_label(action))
                       for action in ACTIONS + approvals.DECISIONS]}
        super().__init__(*args, **kwargs)


def permission_models(state):
    """(model name, has owner) for every model the enabled addons show or grant."""
    names = {}
    for name in state.enabled:
        addon = state.registry.addons[name]
        declared = [view["model"] for view in addon.manifest["views"]]
        for models in addon.manifest["access"].values():
            declared.extend(models)
        for model_name in declared:
            model = state.registry.find_model(addon, model_name)
            names.setdefault(model_name, model is not None and issubclass(model, OwnedMixin))
    return sorted(names.items())


class PermissionsView(AdminOnly, BaseView):
    """The permission matrix: access letters and record scope per group and model."""

    @expose("/", methods=("GET", "POST"))
    def index(self):
        state = current_app.extensions["crm"]
        models = permission_models(state)
        groups = db.session.scalars(select(Group).where(Group.code != ADMIN_GROUP)
                                    .order_by(Group.code)).all()
        rows = {(row.group_id, row.model): row for row in db.session.scalars(select(Access))}
        if request.method == "POST":
            self._save(models, groups, rows)
            db.session.commit()
            flash(_("Permissions saved."), "success")
            return redirect(url_for(".index"))
        # By the names people read, which the grid shows.
        models = sorted(models, key=lambda entry: model_label(entry[0]))
        return self.render("core/permissions.html", models=models, groups=groups, rows=rows,
                           letters=ACCESS_LETTERS, scopes=SCOPES, model_label=model_label)

    def _save(self, models, groups, rows):
        for model, owned in models:
            for group in groups:
                key = f"{group.id}:{model}"
                if f"cell:{key}" not in request.form:
                    continue   # not on the page the admin saw (an addon enabled since)
                letters = "".join(sorted(set(request.form.getlist(f"letters:{key}"))))
                scope = request.form.get(f"scope:{key}", "own") if owned else "all"
                if set(letters) - set(ACCESS_LETTERS) or scope not in SCOPES:
                    abort(400)
                row = rows.get((group.id, model))
                if row is None and not letters:
                    continue
                if row is None:
                    row = Access(group_id=group.id, model=model)
                    db.session.add(row)
                row.letters, row.scope = letters, scope


class AddonSettingsView(AdminOnly, BaseView):
    """The settings the enabled addons declare, one form for all, saved together."""

    @expose("/", methods=("GET", "POST"))
    def index(self):
        state = current_app.extensions["crm"]
        sections = [(name, state.registry.addons[name].manifest["settings"])
                    for name in state.enabled if state.registry.addons[name].manifest["settings"]]
        values = {(addon, key): options.get(addon, key)
                  for addon, specs in sections for key in specs}
        errors = {}
        if request.method == "POST":
            for addon, specs in sections:
                for key, spec in specs.items():
                    field = f"{addon}:{key}"
                    try:
                        values[(addon, key)] = options.parse(spec, request.form.get(field, ""))
                    except ValueError as exc:
                        errors[field] = str(exc)
            if not errors:
                for (addon, key), value in values.items():
                    options.save(db.session, addon, key, value)
                db.session.commit()
                flash(_("Settings saved."), "success")
                return redirect(url_for(".index"))
        return self.render("core/addon_settings.html", sections=sections, values=values,
                           errors=errors, addons=state.registry.addons)


class AccountView(ApiTokens, SignedIn, BaseView):
    """The signed-in user's own sessions and "sign out everywhere", their reminders, and
    their API tokens (core.api)."""

    def is_visible(self):
        return False   # reached from the user menu in the top bar

    @expose("/")
    def index(self):
        return self.tokens_page(current_user)

    def token_owner(self):
        return current_user

    def tokens_page(self, user, errors=None, status=200):
        return self.render("core/account.html", sessions=sessions.active(user.id),
                           current_id=sessions.current_id(),
                           **self.token_values(user, errors)), status

    @expose("/api/")
    def api_page(self):
        """The REST API as the user may use it: each screen's address, what may be done
        there, and its fields (the OpenAPI document, for people)."""
        from core.api_schema import people_page
        return self.render("core/api_page.html", screens=people_page(
            current_app.extensions["crm"].api_screens),
            address=url_for("api.index", _external=True))

    @expose("/reminders", methods=("POST",))
    def reminders(self):
        """The user's own choice of reminders by email too (Settings > Users for others)."""
        user = db.session.get(User, current_user.id)
        user.notify_by_email = bool(request.form.get("notify_by_email"))
        db.session.commit()
        flash(_("Reminders by email: on.") if user.notify_by_email
              else _("Reminders by email: off."), "success")
        return redirect(url_for(".index"))


class LoginLocksView(AdminOnly, BaseView):
    """Sign-ins refused for too many wrong passwords (core.throttle), and a way to lift
    them: a user locked out by someone else's guessing need not wait."""

    @expose("/")
    def index(self):
        return self.render("core/login_locks.html",
                           locks=current_app.extensions["crm"].throttle.locks())

    @expose("/clear", methods=("POST",))
    def clear(self):
        # Empty means "any": the lock of a whole address or of a username everywhere.
        username = request.form.get("username") or None
        address = request.form.get("address") or None
        if username is None and address is None:
            abort(400)
        current_app.extensions["crm"].throttle.clear(username, address)
        flash(_("Lock cleared."), "success")
        return redirect(url_for(".index"))


class CompanySettingsView(AdminOnly, CompanyView):
    """The company's details for printed documents (core.company)."""


class MailServerSettingsView(AdminOnly, MailServerView):
    """The mail server and its test email (core.company)."""


class BackupsView(AdminOnly, BaseView):
    """The archives of the scheduled backups (core.backups): their list and state,
    Back up now, Verify and Download. Backups and checks run in a thread of their own,
    one at a time, so that a big site does not hold the request (or time it out)."""

    def __init__(self, *args, settings=None, **kwargs):
        backups.plan(settings)   # a wrong [backup] stops the start, naming the key
        super().__init__(*args, **kwargs)

    def plan(self):
        return backups.plan(current_app.extensions["crm"].settings)

    @expose("/")
    def index(self):
        plan = self.plan()
        return self.render("core/backups.html", plan=plan, running=backups.running(),
                           archives=backups.archives(plan.folder),
                           last=db.session.get(JobState, backups.JOB["id"]),
                           size_text=files.size_text)

    @expose("/now", methods=("POST",))
    def now(self):
        spec = job_specs(current_app.extensions["crm"])[backups.JOB["id"]]
        self._start({"task": "backup"}, lambda: run_job(spec),
                    _("The backup has started; it is listed here when it is done."))
        return redirect(url_for(".index"))

    # (not <name>: Flask-Admin passes the endpoint's name as "name")
    @expose("/verify/<filename>", methods=("POST",))
    def verify(self, filename):
        archive = backups.find(self.plan().folder, filename) or abort(404)
        self._start({"task": "check", "name": archive.name},
                    lambda: backups.check(archive.path),
                    _("Checking %(name)s; the result shows here when it is done.",
                      name=archive.name))
        return redirect(url_for(".index"))

    @expose("/download/<filename>")
    def download(self, filename):
        archive = backups.find(self.plan().folder, filename) or abort(404)
        return send_file(archive.path, mimetype="application/zip", as_attachment=True,
                         download_name=archive.name, conditional=True)

    def _start(self, task, work, started):
        try:
            backups.start(current_app._get_current_object(), task, work)
            flash(started, "success")
        except backups.Busy:
            flash(_("A backup or a check is already running: wait for it to end."), "error")


class ReassignView(AdminOnly, BaseView):
    """Move all (or selected) records of one owner to another, after a preview."""

    @expose("/", methods=("GET", "POST"))
    def index(self):
        state = current_app.extensions["crm"]
        all_models = reassign.owned_models(state)
        users = db.session.scalars(select(User).order_by(User.username)).all()
        args = request.values
        ids = None
        chosen = args.getlist("models") or [m.__name__ for m in all_models]
        if "ids" in args:   # rows selected in one list: that model, those rows only
            ids = int_ids(args["ids"].split(","))
            chosen = [args.get("model") or (chosen[0] if len(chosen) == 1 else "")]
            if not ids:
                abort(400)
        models = [m for m in all_models if m.__name__ in chosen]
        from_id, to_id = (next(iter(int_ids([args.get(key, "")])), None)
                          for key in ("from_user", "to_user"))
        counts = None
        if from_id:
            counts = reassign.preview(db.session, models, from_id, ids)
        if request.method == "POST":
            if not from_id or not to_id or from_id == to_id or db.session.get(User, to_id) is None:
                flash(_("Choose two different users."), "error")
            else:
                moved = reassign.reassign(db.session, models, from_id, to_id, ids)
                db.session.commit()
                flash(ngettext("%(num)d record moved.", "%(num)d records moved.",
                               sum(moved.values())), "success")
                return redirect(url_for(".index"))
        return self.render("core/reassign.html", users=users, all_models=all_models,
                           chosen=chosen, ids=ids, from_id=from_id, to_id=to_id, counts=counts,
                           model_label=model_label)


def add_core_views(admin, state):
    views = [
        SearchView(name=mark("Search"), endpoint="search", url="/admin/search"),
        AccountView(name=mark("Your account"), endpoint="account", url="/admin/account"),
        UserView(User, db, name=mark("Users"), category=SETTINGS, endpoint="users",
                 url="/admin/users"),
        GroupView(Group, db, name=mark("Groups"), category=SETTINGS, endpoint="groups",
                  url="/admin/groups"),
        TeamView(Team, db, name=mark("Teams"), category=SETTINGS, endpoint="teams",
                 url="/admin/teams"),
        PermissionsView(name=mark("Permissions"), category=SETTINGS, endpoint="permissions",
                        url="/admin/permissions"),
        ReassignView(name=mark("Reassign records"), category=SETTINGS, endpoint="reassign",
                     url="/admin/reassign"),
        AuditView(AuditEntry, db, name=mark("Audit log"), category=SETTINGS, endpoint="audit",
                  url="/admin/audit", enabled=state.enabled),
        LoginLocksView(name=mark("Sign-in locks"), category=SETTINGS, endpoint="login_locks",
                       url="/admin/login-locks"),
        AddonsView(name=mark("Addons"), category=SETTINGS, endpoint="addons",
                   url="/admin/addons"),
        AddonSettingsView(name=mark("Addon settings"), category=SETTINGS,
                          endpoint="addon_settings", url="/admin/addon-settings"),
        CompanySettingsView(name=mark("Company"), category=SETTINGS, endpoint="company",
                            url="/admin/company"),
        MailServerSettingsView(name=mark("Mail server"), category=SETTINGS,
                               endpoint="mail_server", url="/admin/mail-server"),
        BackupsView(name=mark("Backups"), category=SETTINGS, endpoint="backups",
                    url="/admin/backups", settings=state.settings),
        CustomiseView(name=mark("Customise"), category=SETTINGS, endpoint="customise",
                      url="/admin/customise"),
    ]
    for view in views:
        admin.add_view(view)
    from core.approval_views import add_approval_views   # (it builds on the mixins here)
    add_approval_views(admin, SETTINGS)
    # The banner of a neutralised copy, on every page (admin/crm_base.html).
    admin.app.jinja_env.globals["test_copy"] = neutral.this_request
