"""Signing in and out, passwords, login throttling and the language switch."""
import math

from flask import (
    Blueprint,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import (
    LoginManager,
    current_user,
    login_required,
    login_user,
    logout_user,
)
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, Length, ValidationError

from core import sessions
from core.db import db
from core.i18n import LANGUAGES
from core.models import User
from core.security import local_path

MIN_PASSWORD_LENGTH = 10
# Endpoints a user who must change the password may still reach.
OPEN_WHILE_MUST_CHANGE = {"auth.change_password", "auth.logout", "auth.language", "static",
                          "admin.static", "healthz"}
CSRF_KEY = "csrf_token"   # where Flask-WTF keeps its token, in the session and in g

blueprint = Blueprint("auth", __name__)
login_manager = LoginManager()
login_manager.login_view = "auth.login"
login_manager.login_message = _l("Please sign in to see this page.")


@login_manager.user_loader
def load_user(session_key):
    return sessions.load(session_key)


def password_problem(username, password):
    """Why a password is refused, or None. The same rule everywhere: forms and CLI."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return _("The password must have at least %(count)d characters.",
                 count=MIN_PASSWORD_LENGTH)
    if username and username.strip().lower() in password.lower():
        return _("The password must not contain the username.")
    return None


class LoginForm(FlaskForm):
    username = StringField(_l("Username"), validators=[DataRequired(), Length(max=64)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=1024)])


class PasswordForm(FlaskForm):
    current = PasswordField(_l("Current password"), validators=[DataRequired()])
    new = PasswordField(_l("New password"), validators=[DataRequired(), Length(max=1024)])
    confirm = PasswordField(_l("Repeat the new password"), validators=[
        DataRequired(), EqualTo("new", message=_l("The two new passwords differ."))])

    locked = False   # the check was refused for too many wrong passwords

    def validate_current(self, field):
        # Counted like sign-ins: a stolen session must not guess the password freely.
        throttle = current_app.extensions["crm"].throttle
        username, address = current_user.username, client_address()
        wait = throttle.wait_seconds(username, address)
        if wait:
            self.locked = True
            raise ValidationError(wait_message(wait))
        if not current_user.check_password(field.data):
            throttle.failed(username, address)
            raise ValidationError(_("This is not your current password."))
        throttle.succeeded(username, address)

    def validate_new(self, field):
        problem = password_problem(current_user.username, field.data)
        if problem:
            raise ValidationError(problem)
        if current_user.check_password(field.data):
            raise ValidationError(_("Choose a password different from the current one."))


def client_address():
    return request.remote_addr or "-"


def wait_message(seconds):
    minutes = max(1, math.ceil(seconds / 60))
    if minutes > 90:
        return _("Too many failed sign-ins. Try again in %(hours)d hours.",
                 hours=math.ceil(minutes / 60))
    return _("Too many failed sign-ins. Try again in %(minutes)d minutes.", minutes=minutes)


def authenticate(username, password):
    """The active user with this username and password, or None; as slow for an
    unknown or inactive username as for a real one."""
    user = db.session.scalar(select(User).where(User.username == username))
    if user is None or not user.active or user.is_integration:
        User.check_no_password(password)
        return None
    return user if user.check_password(password) else None


def sign_in(user):
    """A new server-side session, and a new Flask session around it: nothing from before
    the sign-in (a CSRF token an attacker planted or read) carries over."""
    session.clear()
    g.pop(CSRF_KEY, None)
    sessions.start(user)
    login_user(user)


def sign_out():
    """Ends this session's row and the Flask session; keeps only the language."""
    sessions.end_current()
    logout_user()
    language = session.get("language")
    session.clear()
    g.pop(CSRF_KEY, None)
    if language:
        session["language"] = language


@blueprint.before_app_request
def keep_session_alive():
    """Marks the session used (at most once a minute), before any view changes things."""
    if getattr(current_user, "is_authenticated", False):
        sessions.touch()


@blueprint.before_app_request
def require_new_password():
    """A user flagged must-change can do nothing else until the password is changed."""
    if (getattr(current_user, "is_authenticated", False) and current_user.must_change_password
            and request.endpoint not in OPEN_WHILE_MUST_CHANGE):
        return redirect(url_for("auth.change_password"))
    return None


@blueprint.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("admin.index"))
    form = LoginForm()
    status = 200
    if form.validate_on_submit():
        throttle = current_app.extensions["crm"].throttle
        username, address = form.username.data.strip(), client_address()
        wait = throttle.wait_seconds(username, address)
        if wait:
            form.password.errors.append(wait_message(wait))
            status = 429
        else:
            user = authenticate(username, form.password.data)
            if user:
                throttle.succeeded(username, address)
                sign_in(user)
                return redirect(local_path(request.args.get("next")) or url_for("admin.index"))
            throttle.failed(username, address)
            # One message for every failure: it must not tell which usernames exist.
            form.password.errors.append(_("Invalid username or password."))
    return render_template("core/login.html", form=form), status


@blueprint.route("/password", methods=["GET", "POST"])
@login_required
def change_password():
    form = PasswordForm()
    if form.validate_on_submit():
        user = current_user._get_current_object()
        user.set_password(form.new.data)   # ends every session of the user, this one too
        user.must_change_password = False
        db.session.commit()
        sign_in(user)                      # so this browser goes on in a new one
        flash(_("Your password has been changed."), "success")
        return redirect(url_for("admin.index"))
    status = 429 if form.locked else 200
    return render_template("core/password.html", form=form,
                           min_length=MIN_PASSWORD_LENGTH), status


@blueprint.route("/logout", methods=["POST"])
def logout():
    sign_out()
    flash(_("You are signed out."), "info")
    return redirect(url_for("auth.login"))


@blueprint.route("/logout/everywhere", methods=["POST"])
@login_required
def logout_everywhere():
    """Ends every session of the user: a lost phone, a shared computer left signed in."""
    sessions.end_all(current_user.id)
    db.session.commit()
    sign_out()
    flash(_("You are signed out on every device."), "info")
    return redirect(url_for("auth.login"))


@blueprint.route("/language", methods=["POST"])
def language():
    choice = request.form.get("language")
    if choice in LANGUAGES:
        session["language"] = choice
        if current_user.is_authenticated:
            current_user.language = choice
            db.session.commit()
    return redirect(local_path(request.form.get("next")) or url_for("admin.index"))
