"""A validator's message shows under its field whether it is plain or lazy text
(Flask-Admin's form macro drops errors that are not str)."""
from flask_babel import lazy_gettext as _l
from wtforms import StringField, ValidationError
from werkzeug.datastructures import MultiDict

from core.admin import AdminForm


def refuse_lazily(form, field):
    raise ValidationError(_l("Enter an e-mail address."))


class LazyForm(AdminForm):
    class Meta:
        csrf = False

    email = StringField(validators=[refuse_lazily])


def test_lazy_validator_messages_become_text(suite):
    app = suite.app()
    with app.test_request_context("/", method="POST"):
        form = LazyForm(formdata=MultiDict({"email": "nobody"}))
        assert not form.validate()
        assert form.email.errors == ["Enter an e-mail address."]
        assert all(type(error) is str for error in form.email.errors)
