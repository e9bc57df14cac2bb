"""Customer service (crm_service, issue 18) at scale: the ticket list as an agent, the
SLA figures of a page, the escalation job, and incoming mail.

    python bench/service.py [--scale small|large] [--database-url URL] [--keep]
                            [--tickets N] [--messages N] [--customers N] [--runs N]
                            [--mails N] [--cli-mails N] [--results DIR]

A site in a temporary folder with crm_contacts, crm_sales and crm_service on the
database named (default: a SQLite file in that folder; a PostgreSQL database is dropped
and created, unless --keep finds it holding the tickets already), filled by
bench/generate.py (customers) and bench/service_generate.py (tickets, messages, state
histories, sla_due_at / sla_warn_at). Scales: small 20,000 tickets and 100,000 messages
over 5,000 customers (a few minutes); large 1,000,000 tickets and 5,000,000
messages over 100,000 customers (PostgreSQL; about 15 minutes to generate).

Measured, through the real application (run:app's Dispatcher, in this process):

- the ticket list (/admin/ticket/, 100 a page, default order: newest first) signed in
  as an agent (group service_agent, a member of one team of 10: the record rule lets
  them read their team's tickets and nobody's), then deeper, sorted by SLA due,
  filtered; the same first page as the service manager (no rule);
- the SLA figures of a page of 100 tickets (addons.crm_service.sla.sla_for_page): the
  agent's page loaded with and without them, and sla_for_page alone, each in a new
  request (policies and calendars read again); the newest page (running clocks) and
  a page of old closed tickets (full histories);
- the escalation job (crm_service.escalate as the scheduler runs it): with the
  generated SLA index (about half the open tickets past their warning), at once again
  (nothing new), and with every open ticket due for a look (what saving a calendar or
  policy does: sla_warn_at = now for all of them). The index is restored from a copy
  made when the data was generated, and what the job wrote is removed, before and
  after, so runs can be repeated on a kept database;
- incoming mail: generated messages (new tickets from known customers in UTF-8 and
  GBK, plain and HTML, some with an attachment; answers by In-Reply-To and by the
  ticket number in the subject; out-of-office replies) through core.mailgate.receive
  in one process, and through ``python run.py mail-in`` one process per message, as an
  MTA pipes them. What the mail wrote is removed afterwards.

Each timed measure: warm-up runs, then --runs timed runs; median and 95th percentile,
the SQL statements of one run. Results: bench/results/service-<scale>-latest.json and
.md (a run replaces its database's figures of the measures it ran, keeps the others).
"""
import argparse
import os
import platform
import random
import resource
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta
from email.header import Header
from email.mime.application import MIMEApplication
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import format_datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import startup  # noqa: E402
from bench.run import (counting_statements, get_ok, measure, merge_results,  # noqa: E402
                       ms_text, signed_in_client, summary)
from bench.service_generate import SENTENCES, SUBJECTS  # noqa: E402

ADDONS = ["crm_contacts", "crm_sales", "crm_service", "crm_reports"]
SCALES = {
    "small": {"tickets": 20_000, "messages": 100_000, "customers": 5_000, "agents": 20,
              "runs": 10, "mails": 200, "cli_mails": 3},
    "large": {"tickets": 1_000_000, "messages": 5_000_000, "customers": 100_000,
              "agents": 100, "runs": 30, "mails": 2_000, "cli_mails": 20},
}
PAGE = 100
WARM_UPS = 3
TARGETS = {"ticket list, agent, first page": ("p95_ms", 50),
           "SLA figures of a page": ("p95_ms", 30),
           "escalation job": ("median_ms", 30_000),
           "mail-in": ("rate", 50), "dashboard": ("p95_ms", 300)}
MEASURES = ("lists", "sla", "escalation", "mail", "dashboards")
INDEX_COPY = "bench_sla_index"     # the generated sla_due_at / sla_warn_at, to restore


# -- the site and its data ---------------------------------------------------------------------

def prepare(folder, database_url, scale, keep):
    """The site's environment, on a database holding the scale's data."""
    def kept(url):
        if not keep or tickets_held(url) < scale["tickets"]:
            return None
        copy_index(url)
        return f"{tickets_held(url):,} tickets"
    return startup.generated_site(folder, database_url, ADDONS, "service.db",
                                  lambda url: fill(url, scale), kept)


def sql(database_url, statement, **params):
    from sqlalchemy import create_engine, text

    from core.config import normalise_database_url
    engine = create_engine(normalise_database_url(database_url))
    try:
        with engine.begin() as connection:
            result = connection.execute(text(statement), params)
            return result.all() if result.returns_rows else []
    finally:
        engine.dispose()


def tickets_held(database_url):
    try:
        return int(sql(database_url, "SELECT count(*) FROM svc_ticket")[0][0])
    except Exception:  # noqa: BLE001 - no such database or table: nothing kept
        return 0


def copy_index(database_url):
    """A copy of the generated SLA index (sla_due_at, sla_warn_at), which the escalation
    job moves on: restored before and after each measure that runs it. Made once, when
    the data is generated (or first kept, for a database bench/service_generate.py
    filled)."""
    try:
        sql(database_url, f"SELECT count(*) FROM {INDEX_COPY}")
    except Exception:  # noqa: BLE001 - not made yet
        sql(database_url, f"CREATE TABLE {INDEX_COPY} AS SELECT id, sla_due_at, sla_warn_at "
                          "FROM svc_ticket WHERE sla_warn_at IS NOT NULL")


def fill(database_url, scale):
    from sqlalchemy import create_engine

    from bench.generate import generate
    from bench.service_generate import generate_service
    from core.config import normalise_database_url
    engine = create_engine(normalise_database_url(database_url))
    with engine.begin() as connection:
        counts = generate(connection, scale["customers"], users=10)
        counts.update(generate_service(
            connection, scale["tickets"], scale["messages"], agents=scale["agents"],
            progress=lambda line: print(line, flush=True) if "00,000 " in line else None))
    copy_index(database_url)
    startup.analyse_tables(engine)
    engine.dispose()
    return counts


def people(session):
    """The agent measured (the second member of the first service team, not its
    leader), the service manager, and what the agent may read."""
    from sqlalchemy import text
    team_id, leader = session.execute(text(
        "SELECT t.id, t.leader_id FROM core_team t JOIN svc_team s ON s.team_id = t.id "
        "ORDER BY t.id LIMIT 1")).one()
    members = [row[0] for row in session.execute(text(
        "SELECT m.user_id FROM core_team_member m WHERE m.team_id = :team "
        "ORDER BY m.user_id"), {"team": team_id})]
    agent = next(member for member in members if member != leader)
    names = dict(session.execute(text(
        "SELECT id, username FROM core_user WHERE id = :agent "
        "OR username LIKE 'service\\_manager\\_%' ESCAPE '\\'"), {"agent": agent}).all())
    manager = next(name for uid, name in names.items() if uid != agent)
    return {"agent_id": agent, "agent": names[agent], "manager": manager, "team_id": team_id}


# -- the list and the SLA figures --------------------------------------------------------------

def list_checks(facts):
    """(name, who, path) of every list page measured."""
    sla_sort = "sort=5&desc=0"      # column_sortable_list's sla_due_at
    middle = facts["visible"] // PAGE // 2
    return [
        ("ticket list, agent, first page, 20 a page (the default)", "agent", "/admin/ticket/"),
        ("ticket list, agent, first page", "agent", f"/admin/ticket/?page_size={PAGE}"),
        (f"ticket list, agent, page {middle + 1}", "agent",
         f"/admin/ticket/?page_size={PAGE}&page={middle}"),
        ("ticket list, agent, by SLA due", "agent",
         f"/admin/ticket/?page_size={PAGE}&{sla_sort}"),
        ("ticket list, agent, searched by number", "agent",
         f"/admin/ticket/?page_size={PAGE}&search={facts['number']}"),
        ("ticket list, manager, first page", "manager", f"/admin/ticket/?page_size={PAGE}"),
    ]


def measure_lists(dispatcher, engine, facts, runs, record):
    from bench.generate import PASSWORD
    clients = {"agent": signed_in_client(dispatcher, facts["agent"], PASSWORD),
               "manager": signed_in_client(dispatcher, facts["manager"], PASSWORD)}
    for name, who, path in list_checks(facts):
        record(name, facts["visible"] if who == "agent" else facts["tickets"],
               measure(lambda: get_ok(clients[who], path), engine, runs))


def page_of_tickets(user_id, offset):
    """The agent's page of tickets as the list reads it (rule, newest first)."""
    from sqlalchemy import select

    from addons.crm_service.models import Ticket
    from core import permissions
    from core.db import db
    from core.models import User
    user = db.session.get(User, user_id)
    return db.session.scalars(permissions.apply_rules(select(Ticket), Ticket, user)
                              .order_by(Ticket.id.desc()).offset(offset).limit(PAGE)).all()


def measure_sla(app, engine, facts, runs, record):
    """A page of tickets loaded with and without their SLA figures, and the figures
    alone; each run a new request (a new session and a new policy/calendar book)."""
    from addons.crm_service import sla
    for label, offset in (("newest", 0), ("old, closed", facts["visible"] // 2)):
        def plain():
            with app.test_request_context():
                page_of_tickets(facts["agent_id"], offset)

        def with_sla():
            with app.test_request_context():
                sla.sla_for_page(page_of_tickets(facts["agent_id"], offset))
        without = measure(plain, engine, runs)
        both = measure(with_sla, engine, runs)
        alone = sla_alone(app, engine, facts, offset, runs)
        record(f"ticket page of {PAGE} ({label}), loaded", facts["visible"], without)
        record(f"ticket page of {PAGE} ({label}), loaded with SLA figures", facts["visible"],
               both)
        record(f"SLA figures of a page of {PAGE} ({label}): sla_for_page alone",
               facts["visible"], alone)
        record(f"SLA figures of a page of {PAGE} ({label}): difference", facts["visible"],
               {"median_ms": round(both["median_ms"] - without["median_ms"], 1),
                "p95_ms": round(both["p95_ms"] - without["p95_ms"], 1),
                "queries": both["queries"] - without["queries"]})


def sla_alone(app, engine, facts, offset, runs):
    from addons.crm_service import sla
    times, cpu, queries = [], [], None
    for index in range(WARM_UPS + runs):
        with app.test_request_context():
            tickets = page_of_tickets(facts["agent_id"], offset)
            with counting_statements(engine) as count:
                started, started_cpu = time.perf_counter(), time.process_time()
                figures = sla.sla_for_page(tickets)
                elapsed = (time.perf_counter() - started) * 1000
                elapsed_cpu = (time.process_time() - started_cpu) * 1000
            assert len(figures) == len(tickets)
        if index >= WARM_UPS:
            times.append(elapsed)
            cpu.append(elapsed_cpu)
            queries = count[0] if queries is None else queries
    # The CPU time of this process too: on a shared machine the wall time includes
    # waiting for a core, which the CPU time does not.
    return {**summary(times), "queries": queries,
            "cpu_median_ms": round(sorted(cpu)[len(cpu) // 2], 1)}


# -- the escalation job --------------------------------------------------------------------------

# What a job or the mail writes (children first), removed after each measure.
WRITTEN = ("svc_ticket_attachment", "svc_ticket_message", "svc_ticket_state_change",
           "svc_sla_escalation", "svc_rating", "core_notification",
           "core_message_attachment", "core_message", "core_audit", "core_mail_received",
           "svc_ticket")


def put_back(session, marks):
    """Remove what was added since ``marks`` and restore the generated SLA index."""
    from sqlalchemy import text
    startup.delete_since(session, marks)
    session.execute(text("DELETE FROM svc_sla_escalation"))
    session.execute(text(
        f"UPDATE svc_ticket SET sla_due_at = b.sla_due_at, sla_warn_at = b.sla_warn_at "
        f"FROM {INDEX_COPY} b WHERE svc_ticket.id = b.id"))
    session.commit()


def measure_escalation(app, engine, record, worst=False):
    from sqlalchemy import text

    from addons.crm_service.models import DONE_STATES
    from core.db import db
    from core.models import utcnow
    from core.scheduler import job_specs, run_job
    done = ", ".join(f"'{state}'" for state in DONE_STATES)
    with app.app_context():
        spec = job_specs(app.extensions["crm"])["crm_service.escalate"]
        marks = startup.high_water(db.session, WRITTEN)
        put_back(db.session, marks)
        open_tickets = db.session.execute(text(
            f"SELECT count(*) FROM svc_ticket WHERE state NOT IN ({done})")).scalar()

        def run(name):
            due = db.session.execute(text(
                f"SELECT count(*) FROM svc_ticket WHERE state NOT IN ({done}) "
                "AND sla_warn_at <= :now"), {"now": utcnow()}).scalar()
            db.session.commit()
            with counting_statements(engine) as count:
                started, started_cpu = time.perf_counter(), time.process_time()
                status, message = run_job(spec)
                elapsed = (time.perf_counter() - started) * 1000
                cpu = (time.process_time() - started_cpu) * 1000
            if status != "ok":
                raise RuntimeError(f"crm_service.escalate: {status} {message}")
            notified = db.session.execute(text(
                "SELECT count(*) FROM core_notification WHERE id > :last"),
                {"last": marks.get("core_notification", 0)}).scalar()
            db.session.commit()
            record(f"escalation job, {name} ({due:,} of {open_tickets:,} open tickets due; "
                   f"{message}; {notified:,} notifications in all)", open_tickets,
                   {"median_ms": round(elapsed), "p95_ms": None, "queries": count[0],
                    "cpu_median_ms": round(cpu)})
        def all_due():
            db.session.execute(text(
                f"UPDATE svc_ticket SET sla_warn_at = :now WHERE state NOT IN ({done}) "
                "AND sla_policy_id IS NOT NULL"), {"now": utcnow() - timedelta(minutes=1)})
            db.session.commit()
        try:
            run("generated index")
            run("again at once")
            all_due()     # what saving a calendar or a policy does
            run("every open ticket due, escalated before (as after a calendar change)")
            if worst:
                put_back(db.session, marks)
                all_due()
                run("every open ticket due, none escalated before")
        finally:
            put_back(db.session, marks)


# -- incoming mail ---------------------------------------------------------------------------------

def mail_sources(session):
    """What generated mail refers to: customers' addresses, teams' addresses, Message-IDs
    of e-mailed customer messages of open tickets, and open tickets' numbers."""
    from sqlalchemy import text
    return {
        "senders": [tuple(row) for row in session.execute(text(
            "SELECT email, name FROM crm_customer ORDER BY id LIMIT 5000"))],
        "teams": [row[0] for row in session.execute(text(
            "SELECT email FROM svc_team WHERE email IS NOT NULL ORDER BY id"))],
        "threads": [row[0] for row in session.execute(text(
            "SELECT m.message_id FROM svc_ticket_message m JOIN svc_ticket t "
            "ON t.id = m.ticket_id WHERE m.message_id IS NOT NULL AND t.state = 'open' "
            "ORDER BY m.id DESC LIMIT 2000"))],
        "numbers": [row[0] for row in session.execute(text(
            "SELECT number FROM svc_ticket WHERE state = 'open' "
            "ORDER BY id DESC LIMIT 2000"))],
    }


def make_mails(sources, count, stamp, seed=5):
    """``count`` raw messages: 60 % new (a third in GBK, a fifth with HTML, one in twenty
    with a 20 KB attachment), 20 % answers by In-Reply-To, 15 % by the ticket number in
    the subject, 5 % out-of-office replies. [(kind, bytes)]."""
    rng = random.Random(seed)
    mails = []
    for number in range(count):
        draw = rng.random()
        kind = ("new" if draw < 0.6 else "in-reply-to" if draw < 0.8 else
                "number in subject" if draw < 0.95 else "out of office")
        email, name = rng.choice(sources["senders"])
        text = "\n\n".join(rng.choice(SENTENCES) for _ in range(rng.randint(1, 5)))
        subject = rng.choice(SUBJECTS)
        charset = "gbk" if kind == "new" and rng.random() < 0.33 else "utf-8"
        body = MIMEText(text, "plain", charset)
        if kind == "new" and rng.random() < 0.2:
            message = MIMEMultipart("alternative")
            message.attach(body)
            message.attach(MIMEText("<html><body>" + "".join(
                f"<p>{line}</p>" for line in text.split("\n\n")) +
                '<img src="https://tracker.example.com/p.gif" onerror="alert(1)">'
                "</body></html>", "html", charset))
        else:
            message = body
        if kind == "new" and rng.random() < 0.05:
            mixed = MIMEMultipart("mixed")
            mixed.attach(message)
            mixed.attach(MIMEApplication(rng.randbytes(20_000), "pdf",
                                         Name="故障照片.pdf"))
            message = mixed
        message["Message-ID"] = f"<bench-{stamp}-{number}@mail.example.com>"
        message["From"] = f"{Header(name[:20], 'utf-8').encode()} <{email}>"
        message["To"] = rng.choice(sources["teams"])
        message["Date"] = format_datetime(datetime.now().astimezone())
        if kind == "in-reply-to" and sources["threads"]:
            thread = rng.choice(sources["threads"])
            message["In-Reply-To"] = f"<{thread}>"
            message["References"] = f"<{thread}>"
            subject = f"Re: {subject}"
        elif kind == "number in subject" and sources["numbers"]:
            subject = f"Re: [{rng.choice(sources['numbers'])}] {subject}"
        elif kind == "out of office":
            message["Auto-Submitted"] = "auto-replied"
            subject = f"自动回复: {subject}"
            if sources["threads"]:
                message["In-Reply-To"] = f"<{rng.choice(sources['threads'])}>"
        message["Subject"] = Header(subject, charset).encode()
        mails.append((kind, message.as_bytes()))
    return mails


def measure_mail(app, env, scale, record):
    from collections import Counter

    from core import mailgate
    from core.db import db
    stamp = datetime.now().strftime("%Y%m%d%H%M%S")
    with app.app_context():
        marks = startup.high_water(db.session, WRITTEN)
        sources = mail_sources(db.session)
        db.session.commit()
        mails = make_mails(sources, scale["mails"] + scale["cli_mails"], stamp)
        in_process, by_pipe = mails[:scale["mails"]], mails[scale["mails"]:]
        try:
            outcomes = Counter()
            for _kind, raw in in_process[:5]:          # warm-up (their own messages)
                outcomes[mailgate.receive(raw).status] += 1
            started, started_cpu = time.perf_counter(), time.process_time()
            for _kind, raw in in_process[5:]:
                outcomes[mailgate.receive(raw).status] += 1
            elapsed = time.perf_counter() - started
            cpu = time.process_time() - started_cpu
            kinds = Counter(kind for kind, _raw in in_process)
            rate = (len(in_process) - 5) / elapsed
            record(f"mail-in, core.mailgate.receive in one process ({len(in_process):,} "
                   f"messages: {dict(kinds)}; outcomes {dict(outcomes)})", len(in_process),
                   {"median_ms": round(elapsed * 1000 / (len(in_process) - 5), 1),
                    "p95_ms": None, "queries": None, "rate": round(rate, 1),
                    "cpu_median_ms": round(cpu * 1000 / (len(in_process) - 5), 1)})

            times = []
            children = resource.getrusage(resource.RUSAGE_CHILDREN)
            for _kind, raw in by_pipe:
                started = time.perf_counter()
                done = subprocess.run([sys.executable, str(ROOT / "run.py"), "mail-in"],
                                      input=raw, env=env, capture_output=True)
                times.append((time.perf_counter() - started) * 1000)
                if done.returncode:
                    raise RuntimeError(f"run.py mail-in exited {done.returncode}: "
                                       f"{done.stderr.decode(errors='replace')[-800:]}")
            figures = summary(times)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu = (after.ru_utime + after.ru_stime - children.ru_utime - children.ru_stime)
            record(f"mail-in, `python run.py mail-in` one process per message "
                   f"({len(by_pipe)} messages, one after another)", len(by_pipe),
                   {**figures, "queries": None,
                    "rate": round(1000 * len(times) / sum(times), 2),
                    "cpu_median_ms": round(cpu * 1000 / len(by_pipe))})
        finally:
            db.session.rollback()
            put_back(db.session, marks)


# -- the run -----------------------------------------------------------------------------------

def facts_of(app):
    from sqlalchemy import func, select

    from addons.crm_service.models import Ticket
    from core import permissions
    from core.db import db
    from core.models import User
    with app.test_request_context():
        facts = people(db.session)
        user = db.session.get(User, facts["agent_id"])
        facts["visible"] = db.session.scalar(permissions.apply_rules(
            select(func.count(Ticket.id)), Ticket, user))
        facts["tickets"] = db.session.scalar(select(func.count(Ticket.id)))
        facts["number"] = db.session.scalar(permissions.apply_rules(
            select(Ticket.number), Ticket, user).order_by(Ticket.id).limit(1))
    return facts


def run_site(folder, database_url, scale, keep, only=MEASURES, no_count=False, worst=False):
    env, generated = prepare(folder, database_url, scale, keep)
    database_url = env["CRM_DATABASE_URL"]
    db_name = "postgresql" if database_url.startswith("postgres") else "sqlite"
    if no_count:
        # What the list would cost without counting every ticket the agent may read:
        # Flask-Admin's simple pager (previous / next), which runs no count query.
        from addons.crm_service.views import TicketView
        TicketView.simple_list_pager = True
    from core.app import Dispatcher
    dispatcher = Dispatcher()
    app, engine = dispatcher.app, dispatcher._engine
    results = []

    def record(name, rows, figures):
        if no_count:
            name += " [what-if: no count, simple pager]"
        results.append({"name": name, "db": db_name, "rows": rows, **figures})
        print(row_line(results[-1]), flush=True)
    if generated:
        record(f"generate {scale['tickets']:,} tickets, {scale['messages']:,} messages",
               scale["tickets"], {"median_ms": generated["seconds"] * 1000, "p95_ms": None,
                                  "queries": None})
    facts = facts_of(app)
    print(f"# agent {facts['agent']} reads {facts['visible']:,} of {facts['tickets']:,} "
          "tickets", flush=True)
    try:
        if "lists" in only:
            measure_lists(dispatcher, engine, facts, scale["runs"], record)
        if "sla" in only:
            measure_sla(app, engine, facts, scale["runs"], record)
        if "escalation" in only:
            measure_escalation(app, engine, record, worst)
        if "mail" in only:
            measure_mail(app, env, scale, record)
        if "dashboards" in only:
            from bench.reports import grant, measure_dashboards
            measure_remember(app, record)
            grant(app, {facts["manager"]: "reports_user", facts["agent"]: "reports_user"})
            measure_dashboards(dispatcher, engine, [
                (facts["manager"], "service manager (every ticket)", facts["tickets"]),
                (facts["agent"], "agent (their team's tickets)", facts["visible"])],
                scale["runs"], record, keys=["service"])
    finally:
        engine.dispose()
    return results, db_name, facts


def measure_remember(app, record):
    """The job that works out the resolution SLA of tickets written by other means (the
    generator's, the first time), which the SLA report then counts in SQL."""
    from addons.crm_service import sla
    from core.db import db
    with app.app_context():
        started = time.perf_counter()
        count = sla.remember_resolutions()
        seconds = time.perf_counter() - started
        db.session.remove()
    record(f"resolution SLA worked out for {count:,} generated tickets "
           "(job crm_service.remember_sla)", count,
           {"median_ms": round(seconds * 1000), "p95_ms": None, "queries": None})


def row_line(result):
    rate = "; ".join(
        ([f"{result['rate']} messages/s"] if result.get("rate") is not None else []) +
        ([f"CPU {result['cpu_median_ms']} ms"] if result.get("cpu_median_ms") is not None
         else []))
    return (f"| {result['name']} | {result['db']} | {result['rows']:,} | "
            f"{ms_text(result['median_ms'])} | {ms_text(result['p95_ms'])} | "
            f"{'' if result.get('queries') is None else result['queries']} | {rate} | "
            f"{target_text(result)} |")


def target_text(result):
    for prefix, (statistic, limit) in TARGETS.items():
        if not result["name"].startswith(prefix) or result.get(statistic) is None:
            continue
        if prefix.startswith("SLA") and not result["name"].endswith("alone"):
            continue
        if statistic == "rate":
            verdict = "met" if result["rate"] >= limit else "**missed**"
            return f">= {limit} messages/s: {verdict}"
        shown = f"{limit / 1000:g} s" if limit >= 10_000 else f"{limit} ms"
        verdict = "met" if result[statistic] < limit else "**missed**"
        return f"{'p95' if statistic == 'p95_ms' else 'time'} < {shown}: {verdict}"
    return ""


def write_results(results, db_name, folder, facts, scale_name):
    folder.mkdir(parents=True, exist_ok=True)
    merged = merge_results(results, db_name,
                           folder / f"service-{scale_name}-latest.json")
    lines = [f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python "
             f"{platform.python_version()}; {datetime.now():%Y-%m-%d %H:%M}; load average "
             f"{os.getloadavg()[0]:.1f}. Agent {facts['agent']} reads {facts['visible']:,} "
             f"of {facts['tickets']:,} tickets.", "",
             "| measure | db | rows | median | p95 | queries | rate / CPU | target |",
             "|---|---|---|---|---|---|---|---|"] + [row_line(r) for r in merged]
    (folder / f"service-{scale_name}-latest.md").write_text("\n".join(lines) + "\n",
                                                           encoding="utf-8")
    return folder / f"service-{scale_name}-latest.md"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", choices=SCALES, default="small")
    parser.add_argument("--database-url", default=None,
                        help="a PostgreSQL database (dropped and created unless --keep "
                             "finds it filled); default: SQLite in a temporary folder")
    parser.add_argument("--keep", action="store_true",
                        help="reuse the PostgreSQL database when it holds the tickets")
    for key in ("tickets", "messages", "customers", "agents", "runs", "mails", "cli_mails"):
        parser.add_argument(f"--{key.replace('_', '-')}", type=int,
                            help="instead of the scale's number")
    parser.add_argument("--only", default=",".join(MEASURES),
                        help=f"which measures, comma-separated ({', '.join(MEASURES)})")
    parser.add_argument("--no-count", action="store_true",
                        help="what-if: the ticket list without its count query (Flask-Admin's "
                             "simple pager), set for this run only")
    parser.add_argument("--escalate-all", action="store_true",
                        help="also run the escalation job with every open ticket due and "
                             "none escalated before (every one warned or breached at once)")
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
    for key in scale:
        if getattr(args, key, None) is not None:
            scale[key] = getattr(args, key)
    print(f"# {args.scale} scale: {scale['tickets']:,} tickets, {scale['messages']:,} "
          f"messages, {scale['customers']:,} customers on "
          f"{'PostgreSQL' if args.database_url else 'SQLite'}", flush=True)
    with tempfile.TemporaryDirectory(prefix="crm-bench-service-") as folder:
        results, db_name, facts = run_site(Path(folder), args.database_url, scale, args.keep,
                                           args.only.split(","), args.no_count,
                                           args.escalate_all)
    print(f"written: {write_results(results, db_name, args.results, facts, args.scale)}")


if __name__ == "__main__":
    main()
