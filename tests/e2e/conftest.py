"""Browser tests: Debian's Chromium driven by Playwright, against a real server on
loopback. Skipped where Chromium is not installed."""
import shutil
import threading
from contextlib import contextmanager

import pytest
from werkzeug.serving import make_server

from tests.conftest import ADMIN_PASSWORD

CHROMIUM = shutil.which("chromium") and "/usr/lib/chromium/chromium"
# Flask-Admin's own onclick handlers and javascript: links, which the CSP blocks by
# design: core/static/core/crm.js does their work (tests/e2e/test_browser.py proves it).
CSP_BLOCKED_INLINE = ("Executing inline event handler violates",
                      "Running the JavaScript URL violates")
playwright = pytest.importorskip("playwright.sync_api")


def pytest_collection_modifyitems(items):
    for item in items:
        if "/e2e/" in str(item.fspath) and not CHROMIUM:
            item.add_marker(pytest.mark.skip(reason="Debian's chromium is not installed"))


@contextmanager
def serve(suite):
    """The installation served on a free loopback port; yields its address."""
    server = make_server("127.0.0.1", 0, suite.dispatcher(), threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()


@contextmanager
def signed_in(site, username="admin", password=ADMIN_PASSWORD):
    """A browser tab signed in to ``site``; console errors (but the blocked inline
    handlers) are collected in ``tab.errors``."""
    with playwright.sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=CHROMIUM, args=[
            "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--no-first-run"])
        tab = browser.new_page()
        tab.errors = []
        tab.on("console", lambda message: message.type == "error"
               and not message.text.startswith(CSP_BLOCKED_INLINE)
               and tab.errors.append(message.text))
        tab.goto(f"{site}/login")
        tab.fill("#username", username)
        tab.fill("#password", password)
        tab.click("button[type=submit]")
        tab.wait_for_url(f"{site}/admin/")
        try:
            yield tab
        finally:
            browser.close()
