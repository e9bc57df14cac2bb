"""core.i18n.label: stored values shown translated when they are declared words, and
as plain text (escaped by the template, never %-formatted) otherwise."""
import uuid

from flask import render_template_string
from flask_babel import force_locale
from markupsafe import Markup, escape
from sqlalchemy import Column, Enum

from core import i18n
from core.admin import translated_choices
from core.i18n import label, lazy_label
from core.registry import Registry
from tests.core.test_registry import make_addon

HOSTILE = '<b data-x="xss">H</b><img src=x onerror=alert(1)>%s%(x)s'


def test_label_translates_declared_words_only(suite):
    app = suite.app()
    with app.test_request_context(), force_locale("zh_Hans_CN"):
        assert label("ok") == "成功"            # core.messaging: mark("ok")
        assert label("Draft plans") == "Draft plans"   # not declared: as it is
        assert label(HOSTILE) == HOSTILE and type(label(HOSTILE)) is str
        assert label(None) == ""
        assert str(lazy_label("ok")) == "成功"


def test_templates_escape_what_label_returns(suite):
    app = suite.app()
    with app.test_request_context(), force_locale("zh_Hans_CN"):
        page = render_template_string(
            "{{ label(value) }}|{{ value|label }}|{{ _('Only members of %(group)s may move "
            "deals here', group=label(value)) }}|{{ lazy }}", value=HOSTILE,
            lazy=lazy_label(HOSTILE))
    assert "<b" not in page and "<img" not in page
    assert page.count(str(escape(HOSTILE))) == 4


def test_lazy_label_is_text_not_markup():
    assert not isinstance(lazy_label(HOSTILE), Markup)
    assert Markup("{}").format(lazy_label(HOSTILE)) == escape(HOSTILE)


def test_words_marked_in_an_addons_data_modules_are_declared_on_load(tmp_path):
    """Default records (stage names) are stored in English and shown translated: a web
    process that did not enable the addon must know those words too."""
    name = f"lbl_{uuid.uuid4().hex[:8]}"
    word = f"Default stage {name}"
    folder = make_addon(tmp_path, name, extra='"data": ["data/defaults.py"]')
    (folder / "data").mkdir()
    (folder / "data" / "defaults.py").write_text(
        f"from core.i18n import mark\nWORDS = [mark({word!r})]\n\n\ndef load(session):\n"
        "    pass\n", encoding="utf-8")
    assert word not in i18n.DECLARED
    assert Registry([tmp_path]).addons[name].installable
    assert word in i18n.DECLARED


def test_fixed_choices_read_capitalised_in_english_and_translated_in_chinese(suite):
    # As the state bar shows them: a list, a filter or a record page says "Waiting",
    # not the stored "waiting".
    column = Column("state", Enum("ok", "waiting", name="label_test_state"))
    app = suite.app()
    with app.test_request_context():
        with force_locale("en"):
            assert [str(text) for _value, text in translated_choices(column)] == [
                "Ok", "Waiting"]
        with force_locale("zh_Hans_CN"):
            assert str(translated_choices(column)[0][1]) == "成功"
