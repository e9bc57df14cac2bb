"""Signing in and out, passwords, login throttling and the language switch."""
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    current_app,
    flash,
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

from core.db import db
from core.i18n import LANGUAGES
from core.models import User

MIN_PASSWORD_LENGTH = 10
# Endpoints a user who must change the password may still reach.
OPEN_WHILE_MUST_CHANGE = {"auth.change_password", "auth.logout", "auth.language", "static",
                          "admin.static", "healthz"}

blueprint = Blueprint("auth", __name__)
login_manager = LoginManager()
login_manager.login_view = "auth.login"
login_manager.login_message = _l("Please sign in to see this page.")


@login_manager.user_loader
def load_user(session_token):
    with db.session.no_autoflush:   # loading the user must never flush half-made changes
        return db.session.scalar(select(User).where(User.session_token == session_token,
                                                    User.active.is_(True)))


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

    def validate_current(self, field):
        if not current_user.check_password(field.data):
            raise ValidationError(_("This is not your current password."))

    def validate_new(self, field):
        problem = password_problem(current_user.username, field.data)
        if problem:
            raise ValidationError(problem)
        if current_user.check_password(field.data):
            raise ValidationError(_("Choose a password different from the current one."))


def safe_next(target):
    """Only paths on this site: an attacker's link must not send users elsewhere."""
    if not target or "\\" in target or any(ord(char) < 32 for char in target):
        return None   # browsers read "/\\host" as "//host"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


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
        username, address = form.username.data.strip(), request.remote_addr or "-"
        wait = throttle.wait_seconds(username, address)
        if wait:
            form.password.errors.append(_(
                "Too many failed sign-ins. Try again in %(minutes)d minutes.",
                minutes=max(1, (wait + 59) // 60)))
            status = 429
        else:
            user = db.session.scalar(select(User).where(User.username == username))
            if user and user.active and user.check_password(form.password.data):
                throttle.succeeded(username, address)
                login_user(user)
                session.pop("language", None)
                return redirect(safe_next(request.args.get("next")) or url_for("admin.index"))
            throttle.failed(username, address)
            # One message for every failure: it must not tell which usernames exist.
            form.password.errors.append(_("Invalid username or password."))
    return render_template("core/login.html", form=form), status


@blueprint.route("/password", methods=["GET", "POST"])
@login_required
def change_password():
    form = PasswordForm()
    if form.validate_on_submit():
        current_user.set_password(form.new.data)   # also ends the user's other sessions
        current_user.must_change_password = False
        db.session.commit()
        login_user(current_user._get_current_object())  # this session goes on: new token
        flash(_("Your password has been changed."), "success")
        return redirect(url_for("admin.index"))
    return render_template("core/password.html", form=form, min_length=MIN_PASSWORD_LENGTH)


@blueprint.route("/logout", methods=["POST"])
def logout():
    logout_user()
    flash(_("You are signed out."), "info")
    return redirect(url_for("auth.login"))


@blueprint.route("/language", methods=["POST"])
def language():
    choice = request.form.get("language")
    if choice in LANGUAGES:
        session["language"] = choice
        if current_user.is_authenticated:
            current_user.language = choice
            db.session.commit()
    return redirect(safe_next(request.form.get("next")) or url_for("admin.index"))
