"""A seeded generator of customer-service data for benchmarks (crm_service): service
teams and agents on a business calendar, SLA policies, tickets with their conversation,
state history and ratings, over the customers bench/generate.py made.

    python bench/service_generate.py --database-url URL --tickets 1000000
        [--messages 5000000] [--customers 100000] [--seed 11] [--now 2026-12-05T12:00]
        [--init]

``--init`` drops and creates the PostgreSQL database (or removes the SQLite file), runs
``run.py init`` with crm_contacts, crm_sales and crm_service, and fills the customers
with bench/generate.py first. As a library::

    from bench.service_generate import generate_service
    counts = generate_service(connection_or_session, tickets=20_000, messages=100_000,
                              now=datetime(2026, 12, 5, 12))

It adds to what the database holds, inside the caller's transaction (the caller
commits), and returns ``{table: rows added}``. The customers must exist already.

What is made:
- a business calendar "Bench working hours <id>": Monday to Friday 09:00-12:00 and
  13:30-18:00 (local time, UTC+8), China's public holidays of 2025 and 2026 and their
  调休 working days (worked like a Monday);
- ``agents`` users ``agent_<id>`` (password "bench password 1", groups service_agent and
  contacts_user) in service teams of 10 (the first member leads), each team on that
  calendar, round robin; one ``service_manager_<id>`` (group service_manager);
- 20 serviced products, 6 complaint root causes, 4 SLA policies by priority (order
  1-4, before any other policy; on that calendar): first response and next reply 30 / 60 / 240 / 480
  working minutes, resolution 240 / 960 / 2,400 / 4,800 for urgent / high / normal / low;
  warning at 80 %;
- ``tickets`` tickets, ids in the order they were opened, numbered T<year>-<nnnnnn> by
  the year they were opened (the core's counters are moved past them): 80 % closed,
  7 % resolved (in the last 7 days), 3 % new, 8 % open, 1.5 % waiting for the
  customer, 0.5 % waiting for a third party; kinds, channels, priorities, products and
  customers (85 %; the rest from unknown people) mixed; every ticket in a team and
  assigned to one of its agents, but for 3 % that have neither (new ones) or only a
  team (open ones);
- a conversation of ``messages`` messages in all (about 5 a ticket, a long tail up to
  60): the customer's first message when the ticket opened, then replies and the
  customer's answers in turn, one message in ten an internal note;
- the state history every state entered (new, open, a pause waiting for the customer
  on one ticket in five, resolved, closed 7 days later), consistent with the ticket's
  state, first_response_at, last_reply_at, last_customer_message_at, resolved_at and
  closed_at;
- for open tickets (new and open) sla_due_at and sla_warn_at: the earliest due time and
  warning time of their pending targets, computed from their history and the calendar
  (Clock below); tickets opened up to 1.5 times their target ago, so that about half
  are past their warning time and a third past their due time. Waiting and done
  tickets have neither;
- complaints with a root cause, a corrective action and its owner (done before
  closing); a satisfaction rating for 30 % of the resolved and closed tickets.

Deterministic: one random.Random(seed); every time is relative to ``now`` (default:
the current time), so the same seed, scale and --now give the same rows on an empty
installation. Rows go in by COPY (psycopg 3) on PostgreSQL with explicit ids, then each
id sequence is set past them; executemany on SQLite.
"""
import argparse
import bisect
import random
import sys
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.generate import (PASSWORD, Writer, _connection, _counter,  # noqa: E402
                            _raise_counter, _scalar, person_name)

CHUNK = 20_000            # tickets per chunk
TEAM_SIZE = 10
UTC_OFFSET = timedelta(hours=8)          # the calendar's local time: Asia/Shanghai
PERIODS = [((9, 0), (12, 0)), ((13, 30), (18, 0))]   # Monday to Friday
# China's public holidays and adjusted working days (调休), as the State Council
# published them for 2025 and 2026.
HOLIDAYS = {
    2025: [("元旦", "01-01", "01-01"), ("春节", "01-28", "02-04"), ("清明节", "04-04", "04-06"),
           ("劳动节", "05-01", "05-05"), ("端午节", "05-31", "06-02"),
           ("国庆节、中秋节", "10-01", "10-08")],
    2026: [("元旦", "01-01", "01-03"), ("春节", "02-15", "02-23"), ("清明节", "04-04", "04-06"),
           ("劳动节", "05-01", "05-05"), ("端午节", "06-19", "06-21"), ("中秋节", "09-25", "09-27"),
           ("国庆节", "10-01", "10-07")],
}
WORKING_WEEKEND_DAYS = {
    2025: ["01-26", "02-08", "04-27", "09-28", "10-11"],
    2026: ["01-04", "02-14", "02-28", "05-09", "09-20", "10-10"],
}
# (priority, first response = next reply, resolution) in working minutes
POLICIES = [("urgent", 30, 240), ("high", 60, 960), ("normal", 240, 2400), ("low", 480, 4800)]
WARNING_PERCENT = 80
STATES = [("closed", 0.80), ("resolved", 0.07), ("new", 0.03), ("open", 0.08),
          ("waiting for customer", 0.015), ("waiting for third party", 0.005)]
KINDS = ["inquiry"] * 9 + ["request"] * 6 + ["complaint"] * 2 + ["feedback"] * 3
CHANNELS = ["email"] * 9 + ["phone"] * 6 + ["web form"] * 3 + ["visit", "other"]
PRIORITIES = ["low"] * 3 + ["normal"] * 12 + ["high"] * 4 + ["urgent"]
ROOT_CAUSES = ["产品质量", "交付延迟", "服务态度", "Billing error", "Documentation", "其他 Other"]
PRODUCT_NAMES = ["服务器", "交换机", "传感器", "控制器", "变频器", "水泵", "阀门", "ERP 软件",
                 "Pump", "Valve", "Motor", "License", "Router", "Printer", "UPS 电源",
                 "Cloud hosting", "安装服务", "维保合同", "Training", "Spare parts"]
SUBJECTS = ["无法开机", "报价咨询", "安装预约", "发票问题", "退货申请", "使用培训", "配件订购",
            "故障报修", "软件升级", "合同续签", "Cannot log in", "Request for quotation",
            "Delivery delayed", "Invoice copy", "Warranty question", "Feature request",
            "Error message on start-up", "Return request"]
SENTENCES = [
    "您好，我们公司上周购买的设备出现故障，请尽快安排工程师上门检查。",
    "请问这个型号的保修期是多久？发票已经附在邮件里。",
    "已经按照说明书重新安装了驱动，但问题依旧存在。",
    "谢谢您的回复，我们会在明天上午再测试一次。",
    "附件是故障现象的照片和序列号，请查收。",
    "我们已经为您安排了备件，预计三个工作日内送达。",
    "请提供设备的序列号和购买日期，以便我们核实保修状态。",
    "工程师将于周四下午两点到达现场，请安排人员接待。",
    "Hello, the unit we received last week does not start after the firmware update.",
    "Could you please send us a copy of the invoice for our records?",
    "We tried the steps in your previous e-mail; the error still appears on start-up.",
    "Thank you, the replacement part arrived and the machine works again.",
    "Please find attached the log file and the serial number of the device.",
    "Our engineer will call you tomorrow morning to go through the settings.",
    "The price list for 2026 is attached; the discount applies to orders above 50 units.",
    "问题已解决，感谢你们的耐心支持。",
]
NOTES = ["已联系客户，等待回复。", "需要二线支持确认。", "Checked the logs: a known issue, fix in 3.2.",
         "客户是重点客户，优先处理。", "Spare part ordered from the warehouse."]
COMMENTS = ["服务很及时，谢谢！", "工程师很专业。", "Quick and helpful.", "等了太久。",
            "The answer did not solve my problem.", "满意"]

# Columns of each table filled (nullable ones left out are NULL).
OWNED = ("owner_id", "created_by_id", "updated_by_id", "created_at", "updated_at")
COLUMNS = {
    "core_user": ("id", "username", "full_name", "email", "password_hash", "language",
                  "active", "must_change_password", "notify_by_email", "session_token",
                  "created_at"),
    "core_user_group": ("user_id", "group_id"),
    "core_team": ("id", "name", "leader_id"),
    "core_team_member": ("team_id", "user_id"),
    "svc_calendar": ("id", "name", "is_default", "time_zone"),
    "svc_working_period": ("id", "calendar_id", "weekday", "start", "end"),
    "svc_calendar_day": ("id", "calendar_id", "day", "kind", "like_weekday", "name"),
    "svc_team": ("id", "team_id", "calendar_id", "assignment", "email"),
    "svc_product": ("id", "name", "code", "active"),
    "svc_root_cause": ("id", "name", "active"),
    "svc_sla_policy": ("id", "name", "sequence", "active", "priority",
                       "first_response_minutes", "next_reply_minutes", "resolution_minutes",
                       "warning_percent", "raise_priority", "calendar_id"),
    "svc_ticket": ("id", "number", "subject", "kind", "channel", "priority", "state",
                   "customer_id", "contact_id", "requester_name", "requester_email",
                   "requester_phone", "product_id", "team_id", "sla_policy_id",
                   "first_response_at", "last_customer_message_at", "last_reply_at",
                   "resolved_at", "closed_at", "sla_due_at", "sla_warn_at", "root_cause_id",
                   "corrective_action", "action_owner_id", "action_due", "action_done_at",
                   "access_key") + OWNED,
    "svc_ticket_message": ("id", "ticket_id", "kind", "author_id", "from_name",
                           "from_address", "body_text", "body_html", "message_id",
                           "created_at"),
    "svc_ticket_state_change": ("id", "ticket_id", "state", "at"),
    "svc_rating": ("id", "ticket_id", "agent_id", "team_id", "kind", "score", "comment",
                   "sent_at", "rated_at", "closed_at"),
}


# -- working time -----------------------------------------------------------------------------

class Clock:
    """Working seconds of one calendar between UTC moments, by a table of days: W(t) is
    the working time from the table's first day to t, so the working time between two
    moments is a difference and the moment a given amount is reached a bisection."""

    def __init__(self, periods, days, first, last, offset=UTC_OFFSET):
        # periods: {weekday: [(start s, end s) of the local day]}; days: {date: (kind,
        # like_weekday)}; first, last: local dates the table covers.
        self.first, self.offset = first, offset
        self.spans, self.cumulative = [], [0]
        for number in range((last - first).days + 1):
            day = first + timedelta(days=number)
            kind, like = days.get(day, (None, None))
            spans = [] if kind == "holiday" else periods.get(
                like if kind == "working day" else day.weekday(), [])
            self.spans.append(spans)
            self.cumulative.append(self.cumulative[-1] + sum(e - s for s, e in spans))
        self.midnight = datetime.combine(first, datetime.min.time()) - offset  # UTC

    def worked(self, moment):
        """W(moment): working seconds from the table's first day to ``moment``."""
        seconds = (moment - self.midnight).total_seconds()
        index, second = divmod(seconds, 86400)
        index = int(index)
        return self.cumulative[index] + sum(
            min(second, end) - start for start, end in self.spans[index] if second > start)

    def moment(self, worked):
        """The first moment at which W reaches ``worked``."""
        index = bisect.bisect_left(self.cumulative, worked) - 1
        rest = worked - self.cumulative[index]
        for start, end in self.spans[index]:
            if rest <= end - start:
                return self.midnight + timedelta(days=index, seconds=start + rest)
            rest -= end - start
        raise ValueError(worked)

    def due(self, active, seconds):
        """When ``seconds`` of working time have run on the clock, which runs during the
        ``active`` intervals [(start, end or None for "still running")]; None when the
        clock is stopped before then."""
        for start, end in active:
            begin = self.worked(start)
            if end is None or self.worked(end) - begin >= seconds:
                return self.moment(begin + seconds)
            seconds -= self.worked(end) - begin
        return None


def calendar_days():
    """{date: (kind, like_weekday, name)} of the holidays and working weekend days."""
    days = {}
    for year, holidays in HOLIDAYS.items():
        for name, first, last in holidays:
            day = date.fromisoformat(f"{year}-{first}")
            while day <= date.fromisoformat(f"{year}-{last}"):
                days[day] = ("holiday", 0, name)
                day += timedelta(days=1)
        for text in WORKING_WEEKEND_DAYS[year]:
            days[date.fromisoformat(f"{year}-{text}")] = ("working day", 0, "调休上班")
    return days


def make_clock(now, history_days=800):
    days = calendar_days()
    periods = {weekday: [(h1 * 3600 + m1 * 60, h2 * 3600 + m2 * 60)
                         for (h1, m1), (h2, m2) in PERIODS] for weekday in range(5)}
    local = (now + UTC_OFFSET).date()
    return Clock(periods, {day: (kind, like) for day, (kind, like, _n) in days.items()},
                 local - timedelta(days=history_days), local + timedelta(days=400))


# -- one ticket ------------------------------------------------------------------------------

def _pick_state(rng):
    draw, total = rng.random(), 0.0
    for state, share in STATES:
        total += share
        if draw < total:
            return state
    return STATES[0][0]


def plan(rng, count, now, clock):
    """(created_at, state, priority) of every ticket, oldest first: ids follow the
    order tickets were opened."""
    targets = {priority: (first, resolution) for priority, first, resolution in POLICIES}
    now_worked = clock.worked(now)
    tickets = []
    for _ in range(count):
        state, priority = _pick_state(rng), rng.choice(PRIORITIES)
        if state == "closed":
            created = now - timedelta(seconds=rng.uniform(18 * 86400, 730 * 86400))
        elif state == "resolved":
            created = now - timedelta(seconds=rng.uniform(2 * 3600, 17 * 86400))
        elif state in ("new", "open"):
            # Opened up to 1.5 times the pending target's working time ago, most in
            # working hours, some at any time: about half are past their warning.
            target = targets[priority][0 if state == "new" else 1] * 60
            if rng.random() < 0.8:
                created = clock.moment(max(1, now_worked - rng.uniform(0, 1.5) * target))
            else:
                earliest = clock.moment(max(1, now_worked - 1.5 * target))
                created = now - timedelta(
                    seconds=rng.uniform(60, (now - earliest).total_seconds()))
            created = min(created, now - timedelta(seconds=60))
        else:
            created = now - timedelta(seconds=rng.uniform(3600, 20 * 86400))
        tickets.append((created.replace(microsecond=0), state, priority))
    tickets.sort(key=lambda ticket: ticket[0])
    return tickets


def conversation(rng, created, end, count, waiting_for_customer):
    """Times and kinds of ``count`` messages between created and end: the customer's
    first, then reply / incoming in turn, one in ten a note."""
    span = max(60.0, (end - created).total_seconds() - 60)
    times = sorted(created + timedelta(seconds=int(rng.uniform(30, span)))
                   for _ in range(count - 1))
    kinds, expected = ["incoming"], "reply"
    for _ in times:
        if rng.random() < 0.1:
            kinds.append("note")
        else:
            kinds.append(expected)
            expected = "incoming" if expected == "reply" else "reply"
    if waiting_for_customer and "reply" in kinds:
        last = max(i for i, kind in enumerate(kinds) if kind != "note")
        kinds[last] = "reply"
    return list(zip([created] + times, kinds))


def history(rng, created, state, messages, end):
    """The states entered [(state, at)], consistent with the final state."""
    changes = [("new", created)]
    if state == "new":
        return changes
    replies = [at for at, kind in messages if kind == "reply"]
    started = min(replies[0] if replies else messages[-1][0], end) - timedelta(seconds=60)
    changes.append(("open", max(created + timedelta(seconds=1), started)))
    # One ticket in five waited for the customer between a reply and their answer.
    pairs = [(messages[i][0], messages[i + 1][0]) for i in range(1, len(messages) - 1)
             if messages[i][1] == "reply" and messages[i + 1][1] == "incoming"]
    if pairs and rng.random() < 0.2:
        replied, answered = rng.choice(pairs)
        if replied + timedelta(seconds=30) < answered and replied > changes[-1][1]:
            changes += [("waiting for customer", replied + timedelta(seconds=30)),
                        ("open", answered)]
    if state in ("waiting for customer", "waiting for third party"):
        changes.append((state, max(messages[-1][0], changes[-1][1]) + timedelta(seconds=30)))
    elif state in ("resolved", "closed"):
        changes.append(("resolved", end))
        if state == "closed":
            changes.append(("closed", end + timedelta(days=7)))
    return changes


def active_intervals(changes, since):
    """The intervals from ``since`` on in which the SLA clock runs (not waiting, not
    done); the last one open-ended (None) when the ticket is in a running state."""
    paused = ("waiting for customer", "waiting for third party", "resolved", "closed")
    intervals = []
    for index, (state, at) in enumerate(changes):
        end = changes[index + 1][1] if index + 1 < len(changes) else None
        if state in paused or (end is not None and end <= since):
            continue
        intervals.append((max(at, since), end))
    return intervals


def sla_columns(clock, changes, policy, created, first_reply, last_incoming, last_reply):
    """(sla_due_at, sla_warn_at): the earliest of the pending targets'."""
    first_minutes, resolution_minutes = policy
    starts = [(created, resolution_minutes)]
    if first_reply is None:
        starts.append((created, first_minutes))
    elif last_incoming and (last_reply is None or last_incoming > last_reply):
        starts.append((last_incoming, first_minutes))       # next reply
    dues, warns = [], []
    for start, minutes in starts:
        active = active_intervals(changes, start)
        due = clock.due(active, minutes * 60)
        warn = clock.due(active, minutes * 60 * WARNING_PERCENT // 100)
        if due is not None:
            dues.append(due)
            warns.append(warn)
    if not dues:
        return None, None
    return min(dues).replace(microsecond=0), min(warns).replace(microsecond=0)


# -- the whole ------------------------------------------------------------------------------

def _group(connection, code):
    found = _scalar(connection, "SELECT id FROM core_group WHERE code = :code", code=code)
    if found is None:
        raise SystemExit(f"the database has no {code} group: run `python run.py init` "
                         "with crm_service enabled")
    return found


def _customers(connection):
    """[(customer id, email, phone, first contact id, its name)] of every customer."""
    from sqlalchemy import text
    contacts = {}
    for customer_id, contact_id, name in connection.execute(text(
            "SELECT customer_id, id, name FROM crm_contact ORDER BY id")):
        contacts.setdefault(customer_id, (contact_id, name))
    return [(cid, email, phone, *contacts.get(cid, (None, None))) for cid, email, phone in
            connection.execute(text("SELECT id, email, phone FROM crm_customer ORDER BY id"))]


def setup(writer, rng, ids, agents, seed):
    """Calendar, agents and teams, products, root causes, policies; what tickets need."""
    connection = writer.connection
    from werkzeug.security import generate_password_hash
    calendar_id = ids["svc_calendar"]
    writer.write("svc_calendar", [(calendar_id, f"Bench working hours {calendar_id}", False,
                                    "Asia/Shanghai")])
    from datetime import time as clock_time
    writer.write("svc_working_period", [
        (ids["svc_working_period"] + n, calendar_id, weekday, clock_time(*start),
         clock_time(*end))
        for n, (weekday, (start, end)) in enumerate(
            (weekday, period) for weekday in range(5) for period in PERIODS)])
    writer.write("svc_calendar_day", [
        (ids["svc_calendar_day"] + n, calendar_id, day, kind, like, name)
        for n, (day, (kind, like, name)) in enumerate(sorted(calendar_days().items()))])

    groups = [_group(connection, "service_agent"), _group(connection, "contacts_user")]
    password_hash = generate_password_hash(PASSWORD)
    first_user = ids["core_user"]
    agent_ids = list(range(first_user, first_user + agents))
    manager_id = first_user + agents
    users = [(uid, f"agent_{uid}", f"{person_name(rng)} {uid}", f"agent_{uid}@example.com",
              password_hash, "", True, False, False,
              f"svc-{seed}-{uid}-{rng.getrandbits(64):x}", datetime(2024, 1, 1))
             for uid in agent_ids]
    users.append((manager_id, f"service_manager_{manager_id}", f"Service manager {manager_id}",
                  f"service_manager_{manager_id}@example.com", password_hash, "", True, False,
                  False, f"svc-{seed}-{manager_id}-{rng.getrandbits(64):x}",
                  datetime(2024, 1, 1)))
    writer.write("core_user", users)
    writer.write("core_user_group", [(uid, gid) for uid in agent_ids for gid in groups] +
                 [(manager_id, _group(connection, "service_manager"))])
    teams, members, service_teams = [], [], []
    for index in range(0, agents, TEAM_SIZE):
        team_id = ids["core_team"] + len(teams)
        team_users = agent_ids[index:index + TEAM_SIZE]
        teams.append((team_id, f"Service team {team_id}", team_users[0]))
        members += [(team_id, uid) for uid in team_users]
        service_teams.append((ids["svc_team"] + len(service_teams), team_id, calendar_id,
                              "round robin", f"support{team_id}@example.com"))
    writer.write("core_team", teams)
    writer.write("core_team_member", members)
    writer.write("svc_team", service_teams)

    products = [ids["svc_product"] + n for n in range(len(PRODUCT_NAMES))]
    writer.write("svc_product", [(pid, f"{name} {pid}", f"SP-{pid:04d}", True)
                                 for pid, name in zip(products, PRODUCT_NAMES)])
    causes = [ids["svc_root_cause"] + n for n in range(len(ROOT_CAUSES))]
    writer.write("svc_root_cause", [(cid, f"{name} {cid}", True)
                                    for cid, name in zip(causes, ROOT_CAUSES)])
    policies = {}
    rows = []
    for n, (priority, first, resolution) in enumerate(POLICIES):
        pid = ids["svc_sla_policy"] + n
        policies[priority] = (pid, first, resolution)
        rows.append((pid, f"Bench {priority} {pid}", n + 1, True, priority, first, first,
                     resolution, WARNING_PERCENT, False, calendar_id))
    writer.write("svc_sla_policy", rows)
    return {"teams": [(team_id, leader, [m for t, m in members if t == team_id])
                      for team_id, _name, leader in teams],
            "agents": agent_ids, "manager": manager_id, "products": products,
            "causes": causes, "policies": policies}


def generate_service(session_or_connection, tickets, messages=None, seed=11, agents=100,
                     now=None, progress=None, timings=None):
    """Add the service data to an initialised database with customers; returns
    {table: rows added}. In the caller's transaction (the caller commits)."""
    connection = _connection(session_or_connection)
    writer = Writer(connection, COLUMNS)
    rng = random.Random(seed)
    now = (now or datetime.now(timezone.utc).replace(tzinfo=None)).replace(microsecond=0)
    messages = messages if messages is not None else tickets * 5
    started = time.perf_counter()
    ids = writer.next_ids()
    context = setup(writer, rng, ids, agents, seed)
    customers = _customers(connection)
    if not customers:
        raise SystemExit("no customers: run bench/generate.py first")
    clock = make_clock(now)
    schedule = plan(rng, tickets, now, clock)
    # Messages per ticket: new ones 1-2, the others 2 plus a long tail, to the total asked.
    new_share = sum(1 for _c, state, _p in schedule if state == "new") / max(1, tickets)
    tail = max(0.0, (messages / max(1, tickets) - 1.5 * new_share) / max(0.01, 1 - new_share)
               - 2)

    next_id = {t: ids[t] for t in ("svc_ticket", "svc_ticket_message",
                                   "svc_ticket_state_change", "svc_rating")}
    numbers = {}
    for start in range(0, tickets, CHUNK):
        rows = {t: [] for t in ("svc_ticket", "svc_ticket_message", "svc_ticket_state_change",
                                "svc_rating")}
        for created, state, priority in schedule[start:start + CHUNK]:
            ticket_id = next_id["svc_ticket"]
            next_id["svc_ticket"] += 1
            _ticket(rng, now, clock, context, customers, numbers, next_id, rows, ticket_id,
                    created, state, priority, tail)
        for table, chunk in rows.items():
            writer.write(table, chunk)
        if progress:
            progress(f"  {min(tickets, start + CHUNK):,} tickets "
                     f"({time.perf_counter() - started:.1f} s)")

    for year, value in numbers.items():
        _raise_counter(connection, f"crm_service.T.{year}",
                       max(value, _counter(connection, f"crm_service.T.{year}")))
    writer.move_sequences()
    if timings is not None:
        timings.update(writer.seconds, total=time.perf_counter() - started)
    return dict(writer.counts)


def _ticket(rng, now, clock, context, customers, numbers, next_id, rows, ticket_id,
            created, state, priority, tail):
    """The rows of one ticket: itself, its messages, its states, perhaps a rating."""
    kind, channel = rng.choice(KINDS), rng.choice(CHANNELS)
    team_id, leader, members = rng.choice(context["teams"])
    owner = rng.choice(members)
    if rng.random() < 0.03:            # nobody's yet: no team (new) or the team's (open)
        owner = None
        if state == "new":
            team_id = None
    customer = rng.choice(customers) if rng.random() < 0.85 else None
    if customer:
        customer_id, email, phone, contact_id, requester = customer
    else:
        customer_id = contact_id = None
        requester = person_name(rng)
        email, phone = f"visitor{ticket_id}@example.net", None
    from_address = email.lower() if email else None

    # When it ends (resolved) or now, and the conversation in between.
    if state == "closed":              # resolved within 10 days, closed 7 days later
        end = min(created + timedelta(seconds=rng.uniform(600, 10 * 86400)),
                  now - timedelta(days=8, seconds=rng.uniform(60, 3600)))
    elif state == "resolved":          # in the last 7 days (older ones would be closed)
        age = (now - created).total_seconds()
        end = now - timedelta(seconds=rng.uniform(60, min(7 * 86400, age - 180)))
    else:
        end = now - timedelta(seconds=rng.uniform(1, 60))
    if state == "new":
        count = rng.choice((1, 2))
    else:
        count = min(60, 2 + round(rng.expovariate(1 / tail))) if tail > 0 else 2
    messages = conversation(rng, created, end, count, state == "waiting for customer")
    if state == "new":
        messages = [(at, "incoming") for at, _kind in messages]
    changes = history(rng, created, state, messages, end)

    replies = [at for at, k in messages if k == "reply"]
    incoming = [at for at, k in messages if k == "incoming"]
    first_reply = replies[0] if replies else None
    last_reply = replies[-1] if replies else None
    last_incoming = incoming[-1] if incoming else None
    policy_id, first_minutes, resolution_minutes = context["policies"][priority]
    due = warn = None
    if state in ("new", "open"):
        due, warn = sla_columns(clock, changes, (first_minutes, resolution_minutes), created,
                                first_reply, last_incoming, last_reply)
    resolved = next((at for s, at in reversed(changes) if s == "resolved"), None)
    closed = next((at for s, at in changes if s == "closed"), None)

    year = created.year
    numbers[year] = numbers.get(year, 0) + 1
    subject = f"{rng.choice(SUBJECTS)} - {rng.choice(PRODUCT_NAMES)}"
    complaint = kind == "complaint"
    action_done = (resolved - timedelta(hours=1)) if complaint and resolved else None
    creator = owner if channel in ("phone", "visit") else None
    rows["svc_ticket"].append((
        ticket_id, f"T{year}-{numbers[year]:06d}", subject, kind, channel, priority, state,
        customer_id, contact_id, requester, email if channel in ("email", "web form") else None,
        phone if channel == "phone" else None,
        rng.choice(context["products"]) if rng.random() < 0.7 else None, team_id, policy_id,
        first_reply, last_incoming, last_reply, resolved, closed, due, warn,
        rng.choice(context["causes"]) if complaint and resolved else None,
        "更换批次并加强出厂检验 Replace the batch, add a factory check" if complaint else None,
        leader if complaint else None,
        (created + timedelta(days=7)).date() if complaint else None, action_done,
        f"{rng.getrandbits(128):032x}",
        owner, creator, owner, created, max(changes[-1][1], messages[-1][0])))

    for at, message_kind in messages:
        message_id = next_id["svc_ticket_message"]
        next_id["svc_ticket_message"] += 1
        text = " ".join(rng.choice(SENTENCES) for _ in range(rng.randint(1, 4)))
        if message_kind == "incoming":
            html = f"<p>{text}</p>" if channel == "email" and rng.random() < 0.15 else None
            rows["svc_ticket_message"].append((
                message_id, ticket_id, "incoming", None, requester, from_address, text, html,
                f"gen-{message_id}@mail.example.com" if channel == "email" else None, at))
        else:
            body = rng.choice(NOTES) if message_kind == "note" else text
            rows["svc_ticket_message"].append((
                message_id, ticket_id, message_kind, owner or leader, None, None, body, None,
                None, at))
    for changed_state, at in changes:
        rows["svc_ticket_state_change"].append(
            (next_id["svc_ticket_state_change"], ticket_id, changed_state, at))
        next_id["svc_ticket_state_change"] += 1
    if resolved and rng.random() < 0.3:
        rated = resolved + timedelta(seconds=rng.uniform(3600, 3 * 86400))
        rows["svc_rating"].append((
            next_id["svc_rating"], ticket_id, owner, team_id, kind,
            rng.choice((5, 5, 5, 4, 4, 3, 2, 1)),
            rng.choice(COMMENTS) if rng.random() < 0.3 else None, resolved,
            min(rated, now), min(rated, now)))
        next_id["svc_rating"] += 1


# -- the command ------------------------------------------------------------------------------

def initialise(url, customers, seed=7, users=50):
    """A fresh database with crm_contacts, crm_sales and crm_service and the customers
    of bench/generate.py."""
    import os
    import tempfile

    from sqlalchemy import create_engine

    from bench.generate import generate
    from bench.startup import fresh_database, run_cli, site_environment
    from core.config import normalise_database_url
    postgresql = url.startswith(("postgresql", "postgres"))
    with tempfile.TemporaryDirectory(prefix="crm-service-generate-") as folder:
        env = site_environment(folder, [ROOT / "addons"],
                               ["crm_contacts", "crm_sales", "crm_service"])
        if postgresql:
            fresh_database(url)
        else:
            path = url.split("///", 1)[1]
            if os.path.exists(path):
                os.remove(path)
        env["CRM_DATABASE_URL"] = url
        run_cli(env, "init")
    engine = create_engine(normalise_database_url(url))
    with engine.begin() as connection:
        generate(connection, customers, seed, users)
    engine.dispose()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--tickets", type=int, default=20_000)
    parser.add_argument("--messages", type=int, default=None,
                        help="messages in all (default: 5 a ticket)")
    parser.add_argument("--agents", type=int, default=100)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--now", type=datetime.fromisoformat, default=None,
                        help="the moment every time is relative to (UTC; default: now)")
    parser.add_argument("--init", action="store_true",
                        help="drop and create the database, run `run.py init` and "
                             "generate --customers customers first")
    parser.add_argument("--customers", type=int, default=100_000)
    args = parser.parse_args()
    overall = time.perf_counter()
    if args.init:
        initialise(args.database_url, args.customers)
        print(f"initialised with {args.customers:,} customers in "
              f"{time.perf_counter() - overall:.1f} s", flush=True)

    from sqlalchemy import create_engine

    from core.config import normalise_database_url
    engine = create_engine(normalise_database_url(args.database_url))
    seconds = {}
    with engine.begin() as connection:
        counts = generate_service(connection, args.tickets, args.messages, args.seed,
                                  args.agents, args.now,
                                  progress=lambda line: print(line, flush=True),
                                  timings=seconds)
    print(f"{'table':<26} {'rows':>12} {'write s':>9}")
    for table, count in counts.items():
        print(f"{table:<26} {count:>12,} {seconds[table]:>9.1f}")
    print(f"generated and written in {seconds['total']:.1f} s")
    if engine.dialect.name == "postgresql":
        started = time.perf_counter()
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.exec_driver_sql("VACUUM ANALYZE")
        print(f"VACUUM ANALYZE in {time.perf_counter() - started:.1f} s")
    print(f"total {time.perf_counter() - overall:.1f} s")
    engine.dispose()


if __name__ == "__main__":
    main()
