"""HTTP hardening: security headers with a per-request CSP nonce, secure cookies over
HTTPS, and trust in a reverse proxy's headers only when configured."""
import secrets
from urllib.parse import urlsplit

from flask import g, redirect, request, url_for
from flask.sessions import SecureCookieSessionInterface
from werkzeug.middleware.proxy_fix import ProxyFix


def csp_nonce():
    """One random nonce per request, for the few inline scripts the pages need."""
    if "csp_nonce" not in g:
        g.csp_nonce = secrets.token_urlsafe(16)
    return g.csp_nonce


def local_path(target):
    """``target`` if it is a path on this site (one "/" first), else None: the one check
    of every redirect, so that no link can send a signed-in user elsewhere."""
    if not target or "\\" in target or any(ord(char) < 32 or ord(char) == 127
                                             for char in target):
        return None   # browsers read "/\\host" as "//host", and drop tabs and newlines
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


def external_redirect(url, code=302):
    """A redirect off the site that the application itself chose (a web form's
    thank-you page set by an administrator): the only kind let through."""
    response = redirect(url, code)
    response.crm_external = True
    return response


class SessionInterface(SecureCookieSessionInterface):
    """Marks the session cookie Secure whenever the request came over HTTPS."""

    def get_cookie_secure(self, app):
        return app.config["SESSION_COOKIE_SECURE"] or request.is_secure


def init_app(app, settings):
    app.session_interface = SessionInterface()
    if settings.get("server", "behind_proxy", "false").lower() in ("1", "true", "yes"):
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1, x_host=1)

    @app.after_request
    def local_redirects_only(response):
        """Whatever built it (Flask-Admin's ?url=, a login's ?next=, an addon), a
        redirect goes to a path on this site, or home."""
        location = response.headers.get("Location")
        if location and not local_path(location) and not getattr(response, "crm_external",
                                                                 False):
            response.headers["Location"] = url_for("admin.index")
        return response

    @app.after_request
    def json_without_markup(response):
        """Stored names travel in JSON too (Flask-Admin's look-ups of related records,
        an addon's answers): with "<", ">" and "&" written \\u003c, \\u003e, \\u0026,
        none becomes markup, even in a script that inserts the text as HTML. They occur
        in JSON only inside strings, where both forms mean the same."""
        if response.mimetype == "application/json" and not response.is_streamed:
            response.set_data(response.get_data().replace(b"<", b"\\u003c")
                              .replace(b">", b"\\u003e").replace(b"&", b"\\u0026"))
        return response

    @app.after_request
    def security_headers(response):
        headers = response.headers
        headers.setdefault("Content-Security-Policy", (
            "default-src 'self'; "
            f"script-src 'self' 'nonce-{csp_nonce()}'; "
            # Bootstrap widgets (select2, date pickers) set inline styles.
            "style-src 'self' 'unsafe-inline'; "
            "img-src 'self' data:; font-src 'self' data:; object-src 'none'; "
            "base-uri 'self'; form-action 'self'; frame-ancestors 'none'"))
        if "frame-ancestors 'none'" in headers["Content-Security-Policy"]:
            # For old browsers; a page that lets itself be framed (a public web form)
            # says so in its own CSP, and then this would contradict it.
            headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("Referrer-Policy", "same-origin")
        if response.mimetype == "text/html":
            headers.setdefault("Cache-Control", "no-store")
        if request.is_secure:
            headers.setdefault("Strict-Transport-Security", "max-age=31536000")
        return response
