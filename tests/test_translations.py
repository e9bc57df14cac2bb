"""Every user-facing string of the core and of each addon of the suite has its
Simplified Chinese translation (run `make translations`, then translate what is new)."""
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
METHODS = [("**/templates/**.html", "jinja2"), ("**.py", "python")]
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "_l": None, "lazy_gettext": None,
            "mark": None}
PACKAGES = [ROOT / "core"] + sorted(p.parent for p in (ROOT / "addons").glob("*/__manifest__.py"))


@pytest.mark.parametrize("package", PACKAGES, ids=lambda p: p.name)
def test_every_string_is_translated(package):
    catalog_path = package / "translations" / "zh_Hans_CN" / "LC_MESSAGES" / "messages.po"
    assert catalog_path.is_file(), f"{catalog_path} is missing: run make translations"
    with open(catalog_path, "rb") as handle:
        catalog = read_po(handle)
    # A plural entry's id and string are tuples: (singular, plural), (forms...).
    translated = {message.id if isinstance(message.id, str) else message.id[0]
                  for message in catalog if message.id and not message.fuzzy
                  and all(message.string if isinstance(message.string, tuple)
                          else [message.string])}
    wanted = {}
    for filename, _line, message, _comments, _context in extract_from_dir(
            package, METHODS, keywords=KEYWORDS):
        key = message if isinstance(message, str) else message[0]
        wanted.setdefault(key, filename)
    missing = [f"{where}: {text!r}" for text, where in sorted(wanted.items())
               if text not in translated]
    assert not missing, "untranslated:\n" + "\n".join(missing)
