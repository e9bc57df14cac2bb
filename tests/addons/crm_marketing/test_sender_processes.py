"""Senders as separate processes (python run.py run-job crm_marketing.send): killed
with SIGKILL in the middle of a send and resumed, and two at once. Nobody gets a second
copy, except at most the one message whose SMTP transaction was under way when the
sender died (README, "Mass e-mail")."""
import os
import signal
from datetime import timedelta

import pytest

from tests.addons.crm_marketing.mass_mail_helpers import (add_people, mail_suite,
                                                          make_mailing, queue, send_here,
                                                          sender_process, start_sink, states,
                                                          wait_for)


@pytest.fixture
def slow_sink():
    sink, controller = start_sink(delay=0.01)
    yield sink
    controller.stop()


@pytest.fixture
def office(tmp_path, database_url, slow_sink):
    suite = mail_suite(tmp_path, database_url, slow_sink.port)
    yield suite
    suite.close()


def test_a_sender_killed_mid_send_resumes_without_second_copies(office, slow_sink):
    from core.models import utcnow
    add_people(office, 300)
    mailing = make_mailing(office)
    queue(office, mailing)
    process = sender_process(office)
    try:
        assert wait_for(lambda: slow_sink.count() >= 60), process.communicate()[0]
    finally:
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
    died_at = slow_sink.count()
    assert died_at < 300
    left = states(office, mailing)
    assert left.get("sending", 0) <= 1
    # The dead sender's claim lapses; the next run (here, after its lease) sends the rest.
    send_here(office, now=utcnow() + timedelta(minutes=10))
    received = slow_sink.per_address()
    assert len(received) == 300                             # nobody lost
    twice = [address for address, count in received.items() if count > 1]
    assert len(twice) <= 1 and max(received.values()) <= 2  # at most the one under way
    assert states(office, mailing) == {"sent": 300}


def test_two_senders_share_the_work_and_each_address_gets_one_message(office, slow_sink):
    add_people(office, 400)
    mailing = make_mailing(office)
    queue(office, mailing)
    first, second = sender_process(office), sender_process(office)
    outputs = [first.communicate(timeout=120)[0], second.communicate(timeout=120)[0]]
    assert first.returncode == 0 and second.returncode == 0, outputs
    received = slow_sink.per_address()
    assert len(received) == 400 and set(received.values()) == {1}
    assert states(office, mailing) == {"sent": 400}
    # Both took part (each says how many it sent).
    sent = [int(output.decode().split("sent ")[1].split(",")[0]) for output in outputs]
    assert sum(sent) == 400 and min(sent) > 0, outputs
