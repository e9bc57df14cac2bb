"""Marketing (crm_marketing) at scale: segment counts, queueing a mailing's recipients,
sending to an SMTP server with sender processes, and the campaign and recipient lists.

    python bench/marketing.py [--scale small|large] [--database-url URL] [--keep]
                              [--customers N] [--recipients N] [--sends N,N]
                              [--campaigns N] [--runs N] [--only MEASURES] [--results DIR]

A site in a temporary folder with crm_contacts, crm_sales and crm_marketing (the core
adds the bridge crm_marketing_sales) on the database named (default: a SQLite file in
that folder; a PostgreSQL database is dropped and created, unless --keep finds it
holding this scale's data already), filled by bench/generate.py (customers, 2 contacts
each on average, leads, deals) and here:

- a marketing manager (group marketing_manager), who signs in to the lists;
- tags on the first customers (by id): ``bench-<n>`` on as many as it takes for their
  contacts to give exactly n addresses not suppressed, for n = --recipients and each
  of --sends; a filter segment for each tag ("Tags equals bench-<n>"), one for grade A
  in 广东 and one for grade A;
- the suppression list: every 100th contact of those customers (its e-mail address and
  its mobile number), what a tag's last customer has beyond its n, and --recipients / 20
  addresses of people who are not customers;
- --campaigns campaigns with 1-8 cost lines and about 150 responses each, 10 of which
  became leads (with a deal: campaign revenue for the bridge's hook);
- mailings: the --recipients tag segment by e-mail and by SMS, and one e-mail mailing
  for each of --sends.

Scales: small 20,000 customers, 5,000 recipients, sends of 1,000 and 5,000 (SQLite is
fine; about two minutes); large 1,000,000 customers, 100,000 recipients, sends of
5,000 and 20,000 (PostgreSQL; about 10 minutes to generate).

Measured, through the real application (run:app's Dispatcher, in this process, and
``python run.py run-job crm_marketing.send`` processes):

- segments: segments.counts (customers, and distinct addresses of their contacts) of a
  filter segment on the customer list (grade A in 广东, grade A, a tag), each run in a
  new request; the SQL statements of a run are kept, and on PostgreSQL their
  EXPLAIN (ANALYZE, BUFFERS) is written to marketing-<scale>-explain.txt;
- queue: mailings.queue (one row per address, suppressed ones left out) of the
  --recipients e-mail mailing, committed, as the Send page does; and queue_sms (mobile
  numbers compared by their national digits, in Python) of the SMS mailing;
- send: each of --sends e-mail mailings sent by two sender processes at a time (the job
  ends after 50 s: the bench starts two more while anything is left, as the scheduler
  would) to a local SMTP server that only counts (aiosmtpd, a process of its own started
  here: it shares the cores), no cap per second, 100 messages per connection. Messages
  a second from the first sender's start to the last one's end, and between the first
  and last message the server received; each sender's peak resident memory (the kernel's
  ru_maxrss of the process, its VmHWM, read by a small launcher process: see MEASURED)
  and CPU time, and the SMTP server's CPU time;
- lists: the campaign list (20 and 100 a page) and the recipient list of the --recipients
  mailing (first page and a deep one), signed in as the marketing manager.

Each timed measure: warm-up runs, then --runs timed runs (queueing: 3); median and 95th
percentile, the SQL statements of one run (bench/run.py's measure). Results:
bench/results/marketing-<scale>-latest.json and .md (a run replaces its database's
figures of the measures it ran, keeps the others).
"""
import argparse
import itertools
import json
import os
import platform
import random
import re
import signal
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import startup  # noqa: E402
from bench.generate import (BASE, BASE_DAY, COLUMNS, OWNED, PASSWORD, Writer,  # noqa: E402
                            _scalar, person_name)
from bench.run import (get_ok, measure, merge_results, ms_text,  # noqa: E402
                       signed_in_client)
from bench.service import sql  # noqa: E402

ADDONS = ["crm_contacts", "crm_sales", "crm_marketing", "crm_reports"]
SCALES = {
    "small": {"customers": 20_000, "recipients": 5_000, "sends": (1_000, 5_000),
              "campaigns": 100, "runs": 10},
    "large": {"customers": 1_000_000, "recipients": 100_000, "sends": (5_000, 20_000),
              "campaigns": 100, "runs": 30},
}
QUEUE_RUNS = 3
SENDERS = 2                 # sender processes at a time
PER_CONNECTION = 100
SUPPRESS_EVERY = 100        # every 100th contact of the tagged customers is suppressed
RESPONSES = 150             # responses per campaign, on average
LEADS = 10                  # responses per campaign that became a lead
PAGE = 20                   # the lists' default page size
TARGETS = {"segment count": ("p95_ms", 1000), "queue": ("median_ms", 30_000),
           "sending": ("rate", 300), "campaign list": ("p95_ms", 50),
           "recipient list": ("p95_ms", 50), "dashboard": ("p95_ms", 300)}
MEASURES = ("segments", "queue", "send", "lists", "dashboards")
MANAGER = "bench_marketing"
NEWSLETTER = "Bench newsletter (e-mail)"
NEWSLETTER_SMS = "Bench newsletter (SMS)"
SUBJECT = "{{ customer }}: our spring catalogue / 春季新品目录"
BODY = ("<p>{{ first_name }}，您好！</p>"
        "<p>Our spring catalogue is out: 40 new products for {{ customer }} in {{ city }}, "
        "and prices held for a year on the ones you buy most.</p>"
        '<p><a href="https://shop.example.com/spring?utm_source=mail&amp;utm_campaign=spring">'
        "See the catalogue</a> · "
        '<a href="https://shop.example.com/price-list.pdf">Download the price list</a></p>'
        "<p>春季新品目录已发布：四十款新品，常购产品价格一年不变。欢迎来电咨询。</p>"
        "<p>Best regards,<br>The sales team</p>")
SMS_BODY = "{{ first_name }}您好，春季新品目录已发布，常购产品价格一年不变，详询销售顾问。"

MARKETING_COLUMNS = {
    "core_user": COLUMNS["core_user"], "core_user_group": COLUMNS["core_user_group"],
    "crm_tag": ("id", "name"),
    "mkt_campaign": ("id", "name", "kind", "state", "channel", "start_date", "end_date",
                     "budget", "expected_revenue", "plan") + OWNED,
    "mkt_campaign_cost": ("id", "campaign_id", "spent_on", "description", "amount"),
    "mkt_response": ("id", "campaign_id", "kind", "responded_at", "customer_id", "contact_id",
                     "name", "email", "phone", "lead_id"),
    "mkt_lead_campaign": ("id", "lead_id", "campaign_id", "response_id"),
    "mkt_segment": ("id", "name", "kind", "rules", "description") + OWNED,
    "mkt_mailing": ("id", "name", "channel", "segment_id", "audience", "subject", "body",
                    "state") + OWNED,
    "mkt_suppression": ("id", "address", "reason", "added_at"),
}
CAMPAIGN_WORDS = ["春季新品", "Trade show", "秋季促销", "Webinar", "客户答谢会", "Newsletter",
                  "Product launch", "年终回馈"]
CAMPAIGN_KINDS = ["e-mail", "e-mail", "SMS", "event or trade show", "promotion", "survey"]
CAMPAIGN_STATES = ["draft", "approved", "running", "running", "done", "done", "cancelled"]
COST_WORDS = ["展位费", "Printing", "邮件服务费", "Catering", "广告投放", "Design"]
RESPONSE_KINDS = ["click", "click", "click", "reply", "registration", "form", "other"]

# The SMTP server the senders send to: counts what it receives, says when the first and
# last message came, and its count when it is stopped (SIGTERM).
SINK = r"""
import asyncio, json, logging, signal, time
from aiosmtpd.smtp import SMTP
logging.getLogger("mail.log").setLevel(logging.ERROR)

class Counter:
    messages, first, last = 0, None, None

    async def handle_DATA(self, server, session, envelope):
        now = time.time()
        self.first = self.first or now
        self.last = now
        self.messages += 1
        return "250 OK"

async def main():
    counter, loop = Counter(), asyncio.get_running_loop()
    server = await loop.create_server(lambda: SMTP(counter, hostname="bench-sink"),
                                      "127.0.0.1", 0)
    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    print("ready", server.sockets[0].getsockname()[1], flush=True)
    await stop.wait()
    server.close()
    print(json.dumps({"messages": counter.messages, "first": counter.first,
                      "last": counter.last}), flush=True)

asyncio.run(main())
"""

# Runs a command (argv[2:]) and writes its exit status, peak resident memory and CPU time
# to argv[1]. A process forked from the bench itself would report the bench's memory as
# its peak (the kernel counts what the child shared with its parent until its exec); one
# forked from this small process reports its own.
MEASURED = r"""
import json, os, subprocess, sys
child = subprocess.Popen(sys.argv[2:])
_pid, status, usage = os.wait4(child.pid, 0)
with open(sys.argv[1], "w") as out:
    json.dump({"status": os.waitstatus_to_exitcode(status), "rss_kb": usage.ru_maxrss,
               "cpu_s": usage.ru_utime + usage.ru_stime}, out)
"""


# -- the site and its data ---------------------------------------------------------------------

def prepare(folder, database_url, scale, keep):
    """The site's environment, on a database holding the scale's data."""
    def kept(url):
        return keep and held(url, scale) and \
            f"{scale['customers']:,} customers and the marketing data"
    return startup.generated_site(folder, database_url, ADDONS, "marketing.db",
                                  lambda url: fill(url, scale), kept)


def held(database_url, scale):
    """Does the database hold this scale's customers and a tag for every size?"""
    tags = [tag_name(size) for size in sizes(scale)]
    try:
        customers = sql(database_url, "SELECT count(*) FROM crm_customer")[0][0]
        found = {row[0] for row in sql(database_url, "SELECT name FROM crm_tag")}
    except Exception:  # noqa: BLE001 - no such database or table: nothing kept
        return False
    return customers == scale["customers"] and set(tags) <= found


def sizes(scale):
    """The address counts a tag is made for, smallest first."""
    return sorted({scale["recipients"], *scale["sends"]})


def tag_name(size):
    return f"bench-{size}"


def fill(database_url, scale):
    from sqlalchemy import create_engine

    from bench.generate import generate
    from core.config import normalise_database_url
    engine = create_engine(normalise_database_url(database_url))
    with engine.begin() as connection:
        counts = generate(connection, scale["customers"], users=10,
                          progress=lambda line: print(line, flush=True)
                          if "00,000 " in line else None)
        counts.update(fill_marketing(connection, scale))
    startup.analyse_tables(engine)
    engine.dispose()
    return counts


def fill_marketing(connection, scale, seed=13):
    """The manager, tags, segments, suppressions, campaigns and mailings (module
    docstring); {table: rows added}."""
    rng = random.Random(seed)
    writer = Writer(connection, MARKETING_COLUMNS)
    ids = writer.next_ids()
    manager = add_manager(writer, ids)
    owned = (manager, manager, manager, BASE, BASE)
    contacts, prefixes, suppressed = tag_prefixes(connection, sizes(scale))
    writer.write("crm_tag", [(ids["crm_tag"] + n, tag_name(size))
                             for n, size in enumerate(prefixes)])
    tagged = tag_customers(connection, ids["crm_tag"], prefixes)
    add_suppressions(writer, ids, suppressed, scale["recipients"] // 20, rng)
    add_campaigns(writer, connection, ids, scale["campaigns"], contacts, owned, rng)
    add_segments_and_mailings(writer, ids, scale, owned)
    writer.move_sequences()
    return {**writer.counts, "crm_customer_tag": tagged}


def add_manager(writer, ids):
    """The marketing manager the lists are measured as; their id."""
    from werkzeug.security import generate_password_hash
    group = _scalar(writer.connection, "SELECT id FROM core_group WHERE code = :code",
                    code="marketing_manager")
    uid = ids["core_user"]
    writer.write("core_user", [(uid, MANAGER, "市场经理 Marketing manager",
                                f"{MANAGER}@example.com", generate_password_hash(PASSWORD),
                                "", True, False, False, f"bench-marketing-{uid}",
                                BASE - timedelta(days=800))])
    writer.write("core_user_group", [(uid, group)])
    return uid


def tag_prefixes(connection, wanted):
    """Walk the contacts of the first customers (by id) and end a prefix of customers
    where the contacts not suppressed give exactly each of ``wanted`` addresses (a last
    customer's extra contacts are suppressed). Returns (the contacts walked, {size: last
    customer id}, the suppressed contacts)."""
    from sqlalchemy import text
    first = _scalar(connection, "SELECT min(id) FROM crm_customer")
    # Every customer has a contact, nearly always one not suppressed.
    bound = first + max(wanted) * 11 // 10 + 100
    contacts = connection.execute(text(
        "SELECT customer_id, id, name, email, mobile FROM crm_contact "
        "WHERE customer_id < :bound ORDER BY customer_id, id"), {"bound": bound}).all()
    pending, prefixes, suppressed, reached = list(wanted), {}, [], 0
    for customer_id, group in itertools.groupby(contacts, key=lambda row: row.customer_id):
        if not pending:
            break
        group = list(group)
        kept = [row for row in group if row.id % SUPPRESS_EVERY]
        suppressed += [row for row in group if not row.id % SUPPRESS_EVERY]
        need = pending[0] - reached
        suppressed += kept[need:]
        reached += len(kept[:need])
        while pending and reached == pending[0]:
            prefixes[pending.pop(0)] = customer_id
    if pending:
        raise SystemExit(f"not enough customers for {pending[0]:,} addresses: "
                         "give more --customers")
    return contacts, prefixes, suppressed


def tag_customers(connection, first_tag_id, prefixes):
    """Each tag on the customers of its prefix; the links written."""
    from sqlalchemy import text
    written = 0
    for n, last in enumerate(prefixes.values()):
        written += connection.execute(text(
            "INSERT INTO crm_customer_tag (customer_id, tag_id) SELECT id, :tag "
            "FROM crm_customer WHERE id <= :last"), {"tag": first_tag_id + n, "last": last}
        ).rowcount
    return written


def add_suppressions(writer, ids, suppressed, others, rng):
    """The suppressed contacts' e-mail addresses and mobile numbers (as address_key has
    them), and ``others`` addresses of people who are not customers."""
    from addons.crm_marketing.models import address_key
    addresses = {address_key(row.email) for row in suppressed if row.email}
    addresses |= {address_key(row.mobile) for row in suppressed if row.mobile}
    addresses |= {f"gone{n}@example.net" for n in range(others)}
    reasons = ["unsubscribed", "unsubscribed", "hard bounce", "complaint"]
    writer.write("mkt_suppression", [
        (ids["mkt_suppression"] + n, address, rng.choice(reasons),
         BASE - timedelta(minutes=rng.randrange(365 * 1440)))
        for n, address in enumerate(sorted(addresses))])


def add_campaigns(writer, connection, ids, count, contacts, owned, rng):
    """Campaigns with their cost lines and responses; the first LEADS responses of each
    became a converted lead whose customer's first deal is the lead's."""
    from sqlalchemy import bindparam, text
    leads = iter(connection.execute(text(
        "SELECT id, customer_id FROM sale_lead WHERE status = 'converted' "
        "AND customer_id IS NOT NULL ORDER BY id LIMIT :n"), {"n": count * LEADS}).all())
    campaigns, costs, responses, links = [], [], [], []
    for n in range(count):
        campaign_id = ids["mkt_campaign"] + n
        start = BASE_DAY - timedelta(days=rng.randint(0, 700))
        budget = Decimal(rng.randint(1, 100) * 1000)
        kind = rng.choice(CAMPAIGN_KINDS)
        campaigns.append((campaign_id, f"{rng.choice(CAMPAIGN_WORDS)} {n + 1}", kind,
                          rng.choice(CAMPAIGN_STATES), kind, start,
                          start + timedelta(days=rng.randint(7, 90)), budget, budget * 3,
                          "目标：新客户 50 家。Goal: 50 new customers.") + owned)
        for line in range(rng.randint(1, 8)):
            costs.append((ids["mkt_campaign_cost"] + len(costs), campaign_id,
                          start + timedelta(days=line), rng.choice(COST_WORDS),
                          Decimal(rng.randint(1, 200) * 50)))
        for number in range(rng.randint(0, 2 * RESPONSES)):
            person = rng.choice(contacts)
            response_id = ids["mkt_response"] + len(responses)
            lead = next(leads, None) if number < LEADS else None
            if lead is not None:
                links.append((ids["mkt_lead_campaign"] + len(links), lead.id, campaign_id,
                              response_id))
            responses.append((response_id, campaign_id, rng.choice(RESPONSE_KINDS),
                              BASE - timedelta(minutes=rng.randrange(365 * 1440)),
                              lead.customer_id if lead else person.customer_id,
                              None if lead else person.id, person.name or person_name(rng),
                              person.email, person.mobile, lead.id if lead else None))
    writer.write("mkt_campaign", campaigns)
    writer.write("mkt_campaign_cost", costs)
    writer.write("mkt_response", responses)
    writer.write("mkt_lead_campaign", links)
    if links:
        customers = dict(connection.execute(text(
            "SELECT id, customer_id FROM sale_lead WHERE id IN :ids").bindparams(
                bindparam("ids", expanding=True)), {"ids": [link[1] for link in links]}).all())
        connection.execute(text(
            "UPDATE sale_opportunity SET lead_id = :lead WHERE id = "
            "(SELECT min(id) FROM sale_opportunity WHERE customer_id = :customer)"),
            [{"lead": lead, "customer": customer} for lead, customer in customers.items()])


def add_segments_and_mailings(writer, ids, scale, owned):
    segments = [("Bench grade A, 广东", urlencode([("flt0_grade_equals", "A"),
                                                 ("flt1_province_state_equals", "广东")])),
                ("Bench grade A", urlencode([("flt0_grade_equals", "A")]))]
    segments += [(f"Bench tag {size}", urlencode([("flt0_tags_crm_tag_name_equals",
                                                   tag_name(size))])) for size in sizes(scale)]
    segment_id = {name: ids["mkt_segment"] + n for n, (name, _rules) in enumerate(segments)}
    writer.write("mkt_segment", [(segment_id[name], name, "filter", rules, "bench") + owned
                                 for name, rules in segments])
    newsletter = segment_id[f"Bench tag {scale['recipients']}"]
    mailings = [(NEWSLETTER, "e-mail", newsletter, SUBJECT, BODY),
                (NEWSLETTER_SMS, "SMS", newsletter, "", SMS_BODY)]
    mailings += [(send_name(size), "e-mail", segment_id[f"Bench tag {size}"], SUBJECT, BODY)
                 for size in scale["sends"]]
    writer.write("mkt_mailing", [(ids["mkt_mailing"] + n, name, channel, segment, "contacts",
                                  subject, body, "draft") + owned
                                 for n, (name, channel, segment, subject, body)
                                 in enumerate(mailings)])


def send_name(size):
    return f"Bench send {size}"


def facts_of(app, scale):
    """What the measures refer to: the segments' and mailings' ids by name."""
    from sqlalchemy import text

    from core.db import db
    with app.app_context():
        facts = {
            "segments": dict(db.session.execute(text(
                "SELECT name, id FROM mkt_segment WHERE description = 'bench'")).all()),
            "mailings": dict(db.session.execute(text(
                "SELECT name, id FROM mkt_mailing WHERE name LIKE 'Bench %'")).all()),
            "customers": db.session.scalar(text("SELECT count(*) FROM crm_customer")),
            "contacts": db.session.scalar(text("SELECT count(*) FROM crm_contact")),
            "suppressed": db.session.scalar(text("SELECT count(*) FROM mkt_suppression")),
        }
        db.session.rollback()
    facts["scale"] = scale
    return facts


def reset_mailing(session, mailing_id):
    """A mailing back to draft without recipients (as before its send)."""
    from sqlalchemy import text
    session.execute(text("DELETE FROM mkt_recipient WHERE mailing_id = :m"), {"m": mailing_id})
    session.execute(text("UPDATE mkt_mailing SET state = 'draft', queued_at = NULL, "
                         "finished_at = NULL, problem = NULL WHERE id = :m"), {"m": mailing_id})
    session.commit()


def queue_mailing(mailing_id):
    """Queue a draft mailing as the Send page does (the segment evaluated now), committed;
    (queued, suppressed)."""
    from addons.crm_marketing import mailings
    from addons.crm_marketing.models import Mailing
    from core import workflow
    from core.db import db
    from core.models import utcnow
    mailing = db.session.get(Mailing, mailing_id)
    workflow.move(mailing, "send")
    mailing.queued_at = utcnow()
    counts = mailings.queue(mailing)
    db.session.commit()
    return counts


def pause(session, mailing_id):
    """Out of the senders' way (they send the rows of mailings "sending")."""
    from sqlalchemy import text
    session.execute(text("UPDATE mkt_mailing SET state = 'paused' WHERE id = :m "
                         "AND state = 'sending'"), {"m": mailing_id})
    session.commit()


def analyse(engine, *tables):
    """Fresh planner statistics (and on PostgreSQL the dead rows of re-queueing gone)."""
    postgresql = engine.dialect.name == "postgresql"
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        for table in tables:
            connection.exec_driver_sql(f"{'VACUUM ANALYZE' if postgresql else 'ANALYZE'} "
                                       f"{table}")


# -- segment counts ------------------------------------------------------------------------------

@contextmanager
def recording_statements(engine):
    """The (statement, parameters) sent while the block runs: ``with ... as seen``."""
    from sqlalchemy import event
    seen = []

    def listener(_connection, _cursor, statement, parameters, _context, _many):
        seen.append((statement, parameters))
    event.listen(engine, "before_cursor_execute", listener)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", listener)


def segment_checks(scale):
    """(label, segment name) of every segment counted."""
    return [("grade A and a province (广东)", "Bench grade A, 广东"),
            ("grade A", "Bench grade A"),
            (f"a tag ({tag_name(scale['recipients'])})", f"Bench tag {scale['recipients']}")]


def measure_segments(app, engine, facts, runs, record, explained):
    from addons.crm_marketing import segments
    from addons.crm_marketing.models import Segment
    from core.db import db
    for label, name in segment_checks(facts["scale"]):
        segment_id, found = facts["segments"][name], []

        def count():
            with app.test_request_context():
                found[:] = segments.counts(db.session.get(Segment, segment_id))
        figures = measure(count, engine, runs)
        with recording_statements(engine) as seen:
            count()
        statements = [(statement, parameters) for statement, parameters in seen
                      if "count(" in statement]
        record(f"segment count, {label}: segments.counts ({found[0]:,} customers, "
               f"{found[1]:,} addresses)", facts["customers"],
               {**figures, "sql": [{"statement": statement, "parameters": repr(parameters)}
                                   for statement, parameters in statements]})
        if engine.dialect.name == "postgresql":
            explained.append((label, explain(engine, statements)))


def explain(engine, statements):
    """EXPLAIN (ANALYZE, BUFFERS) of each statement, as PostgreSQL prints it."""
    plans = []
    with engine.connect() as connection:
        for statement, parameters in statements:
            rows = connection.exec_driver_sql(f"EXPLAIN (ANALYZE, BUFFERS) {statement}",
                                              parameters).all()
            plans.append((statement, parameters, "\n".join(row[0] for row in rows)))
        connection.rollback()
    return plans


# -- queueing ------------------------------------------------------------------------------------

def measure_queue(app, engine, facts, record):
    from core.db import db
    for name, function in ((NEWSLETTER, "mailings.queue"), (NEWSLETTER_SMS, "mailings.queue_sms")):
        mailing_id, outcome = facts["mailings"][name], []
        with app.app_context():
            def before():
                reset_mailing(db.session, mailing_id)

            def action():
                outcome[:] = queue_mailing(mailing_id)
            figures = measure(action, engine, QUEUE_RUNS, warm_ups=0, before=before)
            pause(db.session, mailing_id)
        channel = "SMS" if "SMS" in name else "e-mail"
        record(f"queue {channel} recipients, {function} ({outcome[0]:,} queued, "
               f"{outcome[1]:,} suppressed left out; committed)", outcome[0], figures)
    analyse(engine, "mkt_recipient")


def ensure_queued(app, mailing_id):
    """The newsletter queued (and paused) for the recipient list, when the queue measure
    did not run."""
    from sqlalchemy import text

    from core.db import db
    with app.app_context():
        if not db.session.scalar(text("SELECT count(*) FROM mkt_recipient WHERE mailing_id = :m"),
                                 {"m": mailing_id}):
            reset_mailing(db.session, mailing_id)
            queue_mailing(mailing_id)
        pause(db.session, mailing_id)


# -- sending -------------------------------------------------------------------------------------

def start_sink():
    """The counting SMTP server, in a process of its own; (process, port)."""
    process = subprocess.Popen([sys.executable, "-c", SINK], stdout=subprocess.PIPE, text=True)
    line = process.stdout.readline().split()
    if not line or line[0] != "ready":
        process.kill()
        raise RuntimeError("the SMTP sink did not start")
    return process, int(line[1])


def stop_sink(process):
    """Stop the sink; what it received and its CPU seconds."""
    process.send_signal(signal.SIGTERM)
    report = json.loads(process.stdout.readline())
    usage = wait_with_usage(process)
    process.stdout.close()
    return report, usage.ru_utime + usage.ru_stime


def wait_with_usage(process):
    """Wait for a child process; its resource usage (its CPU time) from the kernel."""
    _pid, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    return usage


def use_sink(session, port):
    """The site's mail server is the sink (Settings > Mail server), no cap per second,
    PER_CONNECTION messages per connection."""
    from sqlalchemy import text
    options = {("core.mail", "host"): "127.0.0.1", ("core.mail", "port"): str(port),
               ("core.mail", "sender"): "news@crm.example.com",
               ("core.mail", "timeout"): "10", ("crm_marketing", "per_second"): "0",
               ("crm_marketing", "per_connection"): str(PER_CONNECTION)}
    for (addon, key), value in options.items():
        session.execute(text('DELETE FROM core_option WHERE addon = :a AND "key" = :k'),
                        {"a": addon, "k": key})
        session.execute(text('INSERT INTO core_option (addon, "key", value) '
                             "VALUES (:a, :k, :v)"), {"a": addon, "k": key, "v": value})
    session.commit()


def left_to_send(session, mailing_id):
    from sqlalchemy import text
    left = session.scalar(text(
        "SELECT count(*) FROM mkt_recipient WHERE mailing_id = :m "
        "AND state IN ('queued', 'claimed', 'sending')"), {"m": mailing_id})
    session.commit()
    return left


def run_senders(env, folder, session, mailing_id):
    """SENDERS sender processes at a time until the mailing has nothing left to send;
    [{"round", "sent", "rss_mb", "cpu_s"}] of each process, and the seconds from the
    first start to the last end."""
    senders, started, rounds = [], time.time(), 0
    while left_to_send(session, mailing_id):
        rounds += 1
        batch = [start_sender(env, Path(folder) / f"sender-{mailing_id}-{rounds}-{number}")
                 for number in range(SENDERS)]
        for process, path in batch:
            process.wait()
            output = path.with_suffix(".log").read_text()
            usage = json.loads(path.with_suffix(".json").read_text())
            found = re.search(r"crm_marketing\.send: ok sent (\d+)", output)
            if usage["status"] or found is None or "stopped:" in output:
                raise RuntimeError(f"a sender failed ({usage['status']}):\n{output[-2000:]}")
            senders.append({"round": rounds, "sent": int(found.group(1)),
                            "rss_mb": round(usage["rss_kb"] / 1024, 1),
                            "cpu_s": round(usage["cpu_s"], 1)})
        if not sum(sender["sent"] for sender in senders if sender["round"] == rounds):
            raise RuntimeError(f"{SENDERS} senders sent nothing; rows are left")
    return senders, time.time() - started


def start_sender(env, path):
    """``python run.py run-job crm_marketing.send`` under MEASURED: its output to
    path.log, its figures to path.json."""
    with open(path.with_suffix(".log"), "w") as log:
        return subprocess.Popen(
            [sys.executable, "-c", MEASURED, str(path.with_suffix(".json")), sys.executable,
             str(ROOT / "run.py"), "run-job", "crm_marketing.send"],
            env=env, stdout=log, stderr=subprocess.STDOUT), path


def measure_sending(app, engine, env, folder, facts, record):
    from sqlalchemy import text

    from core.db import db
    with app.app_context():
        # Nothing but the mailing measured is under way.
        db.session.execute(text("UPDATE mkt_mailing SET state = 'paused' WHERE state = 'sending'"))
        db.session.commit()
        for size in facts["scale"]["sends"]:
            mailing_id = facts["mailings"][send_name(size)]
            reset_mailing(db.session, mailing_id)
            queued, _suppressed = queue_mailing(mailing_id)
            sink, port = start_sink()
            try:
                use_sink(db.session, port)
                load = os.getloadavg()[0]
                senders, seconds = run_senders(env, folder, db.session, mailing_id)
            finally:
                received, sink_cpu = stop_sink(sink)
            states = dict(db.session.execute(text(
                "SELECT state, count(*) FROM mkt_recipient WHERE mailing_id = :m "
                "GROUP BY state"), {"m": mailing_id}).all())
            db.session.commit()
            if received["messages"] != queued or states != {"sent": queued}:
                raise RuntimeError(f"{queued} queued, the server received "
                                   f"{received['messages']}, rows {states}")
            steady = received["messages"] / max(0.001, received["last"] - received["first"])
            record(f"sending e-mails, {SENDERS} sender processes at a time, {queued:,} "
                   f"recipients ({len(senders)} processes in {senders[-1]['round']} "
                   f"round{'s' if senders[-1]['round'] > 1 else ''}; the SMTP server received {received['messages']:,}; load "
                   f"{load:.1f} at the start)", queued,
                   {"median_ms": round(seconds * 1000), "p95_ms": None, "queries": None,
                    "rate": round(queued / seconds, 1), "steady_rate": round(steady, 1),
                    "peak_rss_mb": max(sender["rss_mb"] for sender in senders),
                    "senders": senders,
                    "sender_cpu_ms": round(sum(s["cpu_s"] for s in senders) * 1000 / queued, 2),
                    "sink_cpu_ms": round(sink_cpu * 1000 / queued, 2)})
    analyse(engine, "mkt_recipient")


# -- the lists -----------------------------------------------------------------------------------

def list_checks(facts):
    """(name, path, rows) of every list page measured."""
    from urllib.parse import quote
    recipients = facts["scale"]["recipients"]
    mailing = "/admin/mailing-recipient/?flt0_mailing_mkt_mailing_name_equals=" + quote(NEWSLETTER)
    deep = recipients // PAGE * 4 // 5
    campaigns = facts["scale"]["campaigns"]
    return [
        ("campaign list, first page (20 a page)", "/admin/campaign/", campaigns),
        ("campaign list, 100 a page", "/admin/campaign/?page_size=100", campaigns),
        ("recipient list, one mailing, first page", mailing, recipients),
        (f"recipient list, one mailing, page {deep + 1}", f"{mailing}&page={deep}", recipients),
    ]


def measure_lists(dispatcher, engine, facts, runs, record):
    client = signed_in_client(dispatcher, MANAGER, PASSWORD)
    for name, path, rows in list_checks(facts):
        record(name, rows, measure(lambda: get_ok(client, path), engine, runs))


# -- the run -----------------------------------------------------------------------------------

def run_site(folder, database_url, scale, keep, only=MEASURES):
    env, generated = prepare(folder, database_url, scale, keep)
    database_url = env["CRM_DATABASE_URL"]
    dispatcher, engine, db_name, results, record = startup.measured_site(env, row_line)
    app, explained = dispatcher.app, []
    if generated:
        record(f"generate customers and marketing data ({scale['customers']:,} customers; "
               f"{generated['counts'].get('crm_contact', 0):,} contacts)", scale["customers"],
               {"median_ms": generated["seconds"] * 1000, "p95_ms": None, "queries": None})
    facts = facts_of(app, scale)
    print(f"# {facts['customers']:,} customers, {facts['contacts']:,} contacts, "
          f"{facts['suppressed']:,} suppressed addresses", flush=True)
    try:
        if "segments" in only:
            measure_segments(app, engine, facts, scale["runs"], record, explained)
        if "queue" in only:
            measure_queue(app, engine, facts, record)
        if "send" in only:
            measure_sending(app, engine, env, folder, facts, record)
        if "lists" in only:
            ensure_queued(app, facts["mailings"][NEWSLETTER])
            measure_lists(dispatcher, engine, facts, scale["runs"], record)
        if "dashboards" in only:
            from bench.reports import grant, measure_dashboards
            grant(app, {MANAGER: "reports_user"})
            measure_dashboards(dispatcher, engine, [
                (MANAGER, "marketing manager", facts["customers"])], scale["runs"], record,
                keys=["marketing"])
    finally:
        engine.dispose()
    return results, db_name, facts, explained


def row_line(result):
    return (f"| {result['name']} | {result['db']} | {result['rows']:,} | "
            f"{ms_text(result['median_ms'])} | {ms_text(result['p95_ms'])} | "
            f"{'' if result.get('queries') is None else result['queries']} | "
            f"{other_figures(result)} | {target_text(result)} |")


def other_figures(result):
    """The rate, memory and CPU figures of a result, as text."""
    if result.get("rate") is not None:
        return (f"{result['rate']} messages/s ({result['steady_rate']}/s between the first "
                f"and last message); senders' peak RSS {result['peak_rss_mb']} MB (each: "
                + ", ".join(f"{s['rss_mb']} MB after {s['sent']:,}" for s in result["senders"])
                + f"); CPU per message {result['sender_cpu_ms']} ms in the senders, "
                f"{result['sink_cpu_ms']} ms in the SMTP server")
    if result.get("peak_mb") is not None:
        return f"{result['peak_mb']} MB allocated"
    return ""


def target_text(result):
    for prefix, (statistic, limit) in TARGETS.items():
        if not result["name"].startswith(prefix) or result.get(statistic) is None:
            continue
        if statistic == "rate":
            verdict = "met" if result["rate"] >= limit else "**missed**"
            return f">= {limit} messages/s: {verdict}"
        shown = f"{limit / 1000:g} s" if limit >= 1000 else f"{limit} ms"
        verdict = "met" if result[statistic] < limit else "**missed**"
        return f"{'p95' if statistic == 'p95_ms' else 'time'} < {shown}: {verdict}"
    return ""


def machine_facts(database_url):
    """The machine, and the PostgreSQL server's version and memory settings."""
    cpu = next((line.split(":", 1)[1].strip() for line in
                Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    memory = next((int(line.split()[1]) // 2**20 for line in
                   Path("/proc/meminfo").read_text().splitlines()
                   if line.startswith("MemTotal")), 0)
    facts = (f"{platform.machine()}, {os.cpu_count()} cores ({cpu}), {memory} GB of memory, "
             f"Python {platform.python_version()}")
    if database_url and database_url.startswith("postgres"):
        version, buffers, work_mem = (sql(database_url, f"SHOW {name}")[0][0] for name in
                                      ("server_version", "shared_buffers", "work_mem"))
        facts += f"; PostgreSQL {version.split()[0]} (shared_buffers {buffers}, work_mem {work_mem})"
    return facts


def write_results(results, db_name, folder, scale_name, machine, loads, explained):
    folder.mkdir(parents=True, exist_ok=True)
    merged = merge_results(results, db_name,
                           folder / f"marketing-{scale_name}-latest.json")
    lines = [f"Machine: {machine}; {time.strftime('%Y-%m-%d %H:%M')}; load average "
             f"{loads[0]:.1f} at the start of the run, {loads[1]:.1f} at its end (each "
             "result's own in the JSON).", "",
             "| measure | db | rows | median | p95 | queries | rate, memory, CPU | target |",
             "|---|---|---|---|---|---|---|---|"] + [row_line(r) for r in merged]
    lines += ["", "SQL statements of the segment counts (one run):"]
    for result in merged:
        for statement in result.get("sql", []):
            lines += ["", f"{result['name']} ({result['db']}), parameters "
                          f"{statement['parameters']}:", "", "```sql",
                      statement["statement"].strip(), "```"]
    if explained:
        plans = folder / f"marketing-{scale_name}-explain.txt"
        plans.write_text("\n\n".join(
            f"== segment count, {label}\n{statement}\n-- parameters: {parameters!r}\n{plan}"
            for label, found in explained for statement, parameters, plan in found) + "\n",
            encoding="utf-8")
        lines += ["", f"EXPLAIN (ANALYZE, BUFFERS) of each: {plans.name}."]
    (folder / f"marketing-{scale_name}-latest.md").write_text("\n".join(lines) + "\n",
                                                             encoding="utf-8")
    return folder / f"marketing-{scale_name}-latest.md"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", choices=SCALES, default="small")
    parser.add_argument("--database-url", default=None,
                        help="a PostgreSQL database (dropped and created unless --keep "
                             "finds it filled); default: SQLite in a temporary folder")
    parser.add_argument("--keep", action="store_true",
                        help="reuse the PostgreSQL database when it holds this scale's data")
    for key in ("customers", "recipients", "campaigns", "runs"):
        parser.add_argument(f"--{key}", type=int, help="instead of the scale's number")
    parser.add_argument("--sends", help="recipients of each mailing sent, comma-separated "
                                        "(instead of the scale's)")
    parser.add_argument("--only", default=",".join(MEASURES),
                        help=f"which measures, comma-separated ({', '.join(MEASURES)})")
    parser.add_argument("--results", type=Path, default=startup.RESULTS)
    parser.add_argument("--if-reachable", action="store_true",
                        help="skip quietly when the PostgreSQL server does not answer")
    args = parser.parse_args(argv)
    if args.database_url and args.if_reachable:
        from bench.run import reachable
        if not reachable(args.database_url):
            print(f"PostgreSQL at {args.database_url} not reachable: skipped")
            return
    scale = dict(SCALES[args.scale])
    for key in ("customers", "recipients", "campaigns", "runs"):
        if getattr(args, key) is not None:
            scale[key] = getattr(args, key)
    if args.sends:
        scale["sends"] = tuple(int(size) for size in args.sends.split(","))
    started_load = os.getloadavg()[0]
    print(f"# {args.scale} scale: {scale['customers']:,} customers, {scale['recipients']:,} "
          f"recipients, sends of {', '.join(f'{size:,}' for size in scale['sends'])} on "
          f"{'PostgreSQL' if args.database_url else 'SQLite'}; load average "
          f"{started_load:.1f}", flush=True)
    with tempfile.TemporaryDirectory(prefix="crm-bench-marketing-") as folder:
        results, db_name, _facts, explained = run_site(Path(folder), args.database_url, scale,
                                                       args.keep, args.only.split(","))
    machine = machine_facts(args.database_url)
    print(f"# {machine}", flush=True)
    written = write_results(results, db_name, args.results, args.scale, machine,
                            (started_load, os.getloadavg()[0]), explained)
    print(f"written: {written}")


if __name__ == "__main__":
    main()
