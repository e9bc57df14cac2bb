"""Signing in and out, and the language switch."""
from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import LoginManager, current_user, login_user, logout_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length

from core.db import db
from core.i18n import LANGUAGES
from core.models import User

blueprint = Blueprint("auth", __name__)
login_manager = LoginManager()
login_manager.login_view = "auth.login"
login_manager.login_message = _l("Please sign in to see this page.")


@login_manager.user_loader
def load_user(session_token):
    return db.session.scalar(select(User).where(User.session_token == session_token,
                                                User.active.is_(True)))


class LoginForm(FlaskForm):
    username = StringField(_l("Username"), validators=[DataRequired(), Length(max=64)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=1024)])


def safe_next(target):
    """Only paths on this site: an attacker's link must not send users elsewhere."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


@blueprint.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("admin.index"))
    form = LoginForm()
    if form.validate_on_submit():
        user = db.session.scalar(select(User).where(User.username == form.username.data.strip()))
        if user and user.active and user.check_password(form.password.data):
            login_user(user)
            session.pop("language", None)
            return redirect(safe_next(request.args.get("next")) or url_for("admin.index"))
        # One message for every failure: it must not tell which usernames exist.
        form.password.errors.append(_("Invalid username or password."))
    return render_template("core/login.html", form=form)


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
