"""Fixtures of the core's tests."""
import pytest
from aiosmtpd.controller import Controller

from tests.core.test_outbox import Inbox, free_port


@pytest.fixture
def smtp():
    """A local SMTP server; what it receives is in the returned inbox."""
    port = free_port()
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    inbox.port = port
    yield inbox
    controller.stop()
