"""A mailing's subject and body: templates in a sandboxed Jinja (no attribute of ours
reachable, every value escaped in the HTML), filled in from plain values of one
recipient; checked before anything is queued; and, for sending, the body's links
turned into signed click links, an open pixel added, and a text part made.

The names a template may use are FIELDS; anything else is refused with its line."""
import functools
import hashlib
import hmac
import html
import re
from dataclasses import dataclass

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from jinja2 import StrictUndefined, TemplateSyntaxError, meta, nodes
from jinja2.sandbox import ImmutableSandboxedEnvironment

from core import company, notifications

FIELDS = {
    "name": _l("the recipient's name"),
    "first_name": _l("the recipient's given name (the name less its family name)"),
    "email": _l("the recipient's address"),
    "customer": _l("the customer's name"),
    "title": _l("the contact's job title"),
    "city": _l("the customer's city"),
    "company": _l("your company's name"),
    "unsubscribe_url": _l("the address of the unsubscribe page"),
    "survey_url": _l("the recipient's link to the campaign's survey (when it has one)"),
}
LINK = re.compile(r'''(<a\b[^>]*?\bhref\s*=\s*)(["'])(https?://[^"']+)\2''', re.IGNORECASE)
TAG = re.compile(r"<[^>]+>")
BLOCK_END = re.compile(r"</(p|div|h[1-6]|li|tr|table)>|<br\s*/?>", re.IGNORECASE)

_environment = ImmutableSandboxedEnvironment(autoescape=True, undefined=StrictUndefined)
_text_environment = ImmutableSandboxedEnvironment(autoescape=False, undefined=StrictUndefined)


@dataclass
class Problem:
    text: str
    line: int = None
    where: str = "body"    # the field it is on: subject or body


def check(subject, body, environment=None):
    """The first problem of a mailing's templates, or None: syntax, a name that is not
    one of FIELDS, or an error rendering them for a sample recipient. ``environment``:
    the body's (plain text for an SMS; HTML, escaped, for an e-mail)."""
    for where, source, env in (("subject", subject, _text_environment),
                               ("body", body, environment or _environment)):
        if not (source or "").strip():
            return Problem(_("This cannot be empty."), None, where)
        try:
            tree = env.parse(source)
        except TemplateSyntaxError as error:
            return Problem(_("Syntax error on line %(line)s: %(error)s", line=error.lineno,
                             error=error.message), error.lineno, where)
        unknown = meta.find_undeclared_variables(tree) - set(FIELDS)
        if unknown:
            found = [node for node in tree.find_all(nodes.Name)
                     if node.ctx == "load" and node.name in unknown]
            first = min(found, key=lambda node: node.lineno) if found else None
            return Problem(_("Unknown field %(name)s on line %(line)s; a mailing may use "
                             "%(names)s.", name=first.name if first else sorted(unknown)[0],
                             line=first.lineno if first else 1,
                             names=", ".join(sorted(FIELDS))),
                           first.lineno if first else None, where)
        try:
            env.from_string(source).render(sample_values())
        except Exception as error:   # whatever a template does wrong, the user reads why
            return Problem(_("It does not render: %(error)s",
                             error=str(error) or type(error).__name__), None, where)
    return None


def sample_values():
    return values_for(_("Li Lei"), "li.lei@example.com", _("Example Trading Co."), "",
                      _("Shanghai"), "#")


def values_for(name, email, customer, title, city, unsubscribe_url, survey_url="",
               company_name=None):
    """A recipient's fields. ``company_name``: read once by a caller writing many."""
    name = name or customer or ""
    return {"name": name, "first_name": given_name(name), "email": email or "",
            "customer": customer or "", "title": title or "", "city": city or "",
            "company": company_name if company_name is not None else company.name(),
            "unsubscribe_url": unsubscribe_url, "survey_url": survey_url}


def given_name(name):
    """"Lei" of "Li Lei"? No: Chinese names lead with the family name, and a given name
    alone is too familiar; a name with a space in Latin letters gives its first word
    (Anna Smith: Anna), any other name is used whole."""
    parts = name.split()
    return parts[0] if len(parts) > 1 and name.isascii() else name


@functools.lru_cache(maxsize=64)
def compiled(source, html=True):
    """A template compiled once (a sender renders the same one for every recipient)."""
    return (_environment if html else _text_environment).from_string(source)


def render(subject, body, values):
    """(subject, html) for one recipient's values (see values_for)."""
    return (" ".join(compiled(subject, html=False).render(values).split()),
            compiled(body).render(values))


def text_of(html_body):
    """A plain-text part from the HTML: paragraphs kept as lines, links as their
    address after the words."""
    text = re.sub(r'<a\b[^>]*href=["\']([^"\']+)["\'][^>]*>(.*?)</a>',
                  lambda m: f"{m.group(2)} ({m.group(1)})", html_body, flags=re.IGNORECASE | re.S)
    text = BLOCK_END.sub("\n", text)
    text = html.unescape(TAG.sub("", text))
    return "\n".join(line.strip() for line in text.splitlines()).strip() + "\n"


# -- tracking ------------------------------------------------------------------------------------

def signature(*parts):
    """A short HMAC of ``parts`` with the site's secret: a link of ours that cannot be
    made for another recipient or another address."""
    key = current_app.config["SECRET_KEY"].encode()
    message = "\x1f".join(str(part) for part in parts).encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()[:20]


def signed(recipient_id, *parts):
    return f"{recipient_id}.{signature(recipient_id, *parts)}"


def verified(token, *parts):
    """The recipient id a token carries when its signature holds, else None."""
    number, _dot, mac = (token or "").partition(".")
    if not number.isdigit() or len(token) > 40:
        return None
    return int(number) if hmac.compare_digest(mac, signature(number, *parts)) else None


def public_link(endpoint, **values):
    path = current_app.url_map.bind("localhost").build(endpoint, values)
    return notifications.public_url() + path


def tracked(html_body, recipient_id):
    """The body with each http(s) link going through our click link (signed with the
    address, so it redirects only where the message pointed) and an open pixel."""
    def through(match):
        url = html.unescape(match.group(3))
        link = public_link("crm_marketing_public.click",
                           token=signed(recipient_id, "click", url), u=url)
        return f"{match.group(1)}{match.group(2)}{html.escape(link)}{match.group(2)}"

    pixel = public_link("crm_marketing_public.opened", token=signed(recipient_id, "open"))
    return LINK.sub(through, html_body) + (
        f'<img src="{html.escape(pixel)}" width="1" height="1" alt="" style="border:0">')


def unsubscribe_link(recipient_id):
    return public_link("crm_marketing_public.unsubscribe",
                       token=signed(recipient_id, "unsubscribe"))


# -- SMS -------------------------------------------------------------------------------------------

# The GSM 03.38 basic alphabet (and its extension, which costs two characters): a message
# only in these goes as 7-bit text, 160 characters in one part, 153 in each of several;
# any other character (Chinese, say) makes it UCS-2, 70 in one part, 67 in each of several.
GSM_BASIC = set("@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
                "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà")
GSM_EXTENDED = set("^{}\\[~]|€\f")


def sms_size(text):
    """(characters, parts) of an SMS as the network counts them."""
    if all(char in GSM_BASIC or char in GSM_EXTENDED for char in text):
        length = sum(2 if char in GSM_EXTENDED else 1 for char in text)
        single, each = 160, 153
    else:
        length = sum(2 if ord(char) > 0xFFFF else 1 for char in text)   # UTF-16 units
        single, each = 70, 67
    parts = 1 if length <= single else -(-length // each)
    return length, parts


def render_sms(body, values):
    """One recipient's SMS: the body, then the unsubscribe link (in every message)."""
    text = " ".join(compiled(body, html=False).render(values).split())
    return f"{text} {_('Unsubscribe: %(url)s', url=values['unsubscribe_url'])}"


def check_sms(body):
    """The first problem of an SMS body, or None (as check, for the body alone)."""
    return check("-", body, environment=_text_environment)
