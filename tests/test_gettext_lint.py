"""Only string literals go through gettext, in every template and every Python file of
the core and of each addon (found at run time, so a new addon is checked too).

In a template, Jinja's ``_()`` marks its result safe and %-formats it: a stored name
passed to it is printed as raw HTML, and one with a "%" in it crashes the page. In
Python, a variable passed to gettext is not extracted into the catalog either. A stored
value that may be a declared word (a state, a stage kind, a default name) is shown with
``core.i18n.label``, which translates only declared words and returns plain text."""
import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FOLDERS = [ROOT / "core", ROOT / "addons"]

# A gettext call whose first character after "(" is not a quote. "label_(" or "x._("
# are other functions: the name must not follow a letter, digit, "_" or ".".
TEMPLATE_CALL = re.compile(r"(?<![\w.])(_|gettext|ngettext|pgettext)\((?!\s*['\"])")
# How many leading arguments of each function must be literals (msgid, plural, context).
LITERAL_ARGS = {"_": 1, "_l": 1, "gettext": 1, "lazy_gettext": 1, "ngettext": 2,
                "lazy_ngettext": 2, "pgettext": 2, "lazy_pgettext": 2, "npgettext": 3}
# The one place that translates a stored value, after checking it is a declared word;
# and the one that hands Flask-Admin's templates' own literals on to its catalog.
ALLOWED = {("core/i18n.py", "label"), ("core/admin.py", "admin_gettext"),
           ("core/admin.py", "admin_ngettext")}


def source_files(pattern):
    return sorted(path for folder in FOLDERS for path in folder.rglob(pattern)
                  if ".venv" not in path.parts)


def template_problems(path):
    text = path.read_text(encoding="utf-8")
    return [f"{path.relative_to(ROOT)}:{text.count(chr(10), 0, match.start()) + 1}: "
            f"{text[match.start():match.start() + 60].splitlines()[0]}"
            for match in TEMPLATE_CALL.finditer(text)]


class GettextCalls(ast.NodeVisitor):
    """Calls of gettext functions (also under another name: ``import gettext as tr``)
    whose leading arguments are not all string literals."""

    def __init__(self, path):
        self.path = path.relative_to(ROOT).as_posix()
        self.names = {name: name for name in LITERAL_ARGS}
        self.function = None
        self.problems = []

    def visit_ImportFrom(self, node):
        for alias in node.names:
            if alias.name in LITERAL_ARGS and alias.asname:
                self.names[alias.asname] = alias.name

    def visit_FunctionDef(self, node):
        outer, self.function = self.function, node.name
        self.generic_visit(node)
        self.function = outer

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_Call(self, node):
        called = node.func.id if isinstance(node.func, ast.Name) else \
            node.func.attr if isinstance(node.func, ast.Attribute) else None
        name = self.names.get(called)
        if name and (self.path, self.function) not in ALLOWED:
            leading = node.args[:LITERAL_ARGS[name]]
            if len(leading) < LITERAL_ARGS[name] or not all(
                    isinstance(arg, ast.Constant) and isinstance(arg.value, str)
                    for arg in leading):
                self.problems.append(f"{self.path}:{node.lineno}: {ast.unparse(node)[:80]}")
        self.generic_visit(node)


def python_problems(path):
    visitor = GettextCalls(path)
    visitor.visit(ast.parse(path.read_text(encoding="utf-8"), filename=str(path)))
    return visitor.problems


def test_templates_pass_only_literals_to_gettext():
    templates = source_files("*.html")
    assert len(templates) > 20   # the folders were found
    problems = [problem for path in templates for problem in template_problems(path)]
    assert not problems, "use label(value) for a stored value:\n" + "\n".join(problems)


def test_python_passes_only_literals_to_gettext():
    modules = source_files("*.py")
    assert len(modules) > 20
    problems = [problem for path in modules for problem in python_problems(path)]
    assert not problems, ("use core.i18n.label / lazy_label for a stored value:\n"
                          + "\n".join(problems))


def test_the_lint_sees_what_it_must():
    """The checks themselves, on made-up code."""
    sample = ROOT / "core" / "sample.py"
    visitor = GettextCalls(sample)
    visitor.visit(ast.parse(
        "from flask_babel import gettext as tr\n"
        "_('ok'); _(name); tr(stage.name); _l(kind); x.gettext(v)\n"
        "ngettext('one', plural, n); ngettext('one', 'many', n, name=name)\n"))
    assert [problem.split(": ", 1)[1] for problem in visitor.problems] == [
        "_(name)", "tr(stage.name)", "_l(kind)", "x.gettext(v)", "ngettext('one', plural, n)"]
    found = TEMPLATE_CALL.findall("{{ _('ok') }} {{ _(stage.name) }} {{ _( \"ok\" ) }} "
                                  "{{ label_(x) }} {{ gettext(x) }} {{ ngettext(a, b, n) }}")
    assert found == ["_", "gettext", "ngettext"]
