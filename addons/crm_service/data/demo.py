"""Demo records of Service for `python run.py init --demo`, on top of crm_contacts'
customers and demo users: a service team (李雷 leads it as service manager, 韩梅梅 and
Tom Lee answer), serviced products and routing rules, tickets in every state, kind and
channel with their conversations and state history, ratings, complaints with
corrective actions (one done, one overdue, one coming), service records with fees, and
knowledge base articles in Chinese and English (some public). Something on every
screen. Tickets are opened through tickets.open_ticket (customer found from the
address, assignment), then dated back as if they had come in over the last weeks."""
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from sqlalchemy import delete, select

from addons.crm_contacts.models import Contact, Customer
from addons.crm_service.models import (
    RoutingRule,
    BusinessCalendar,
    KbArticle,
    KbFolder,
    RootCause,
    SatisfactionRating,
    ServiceProduct,
    ServiceRecord,
    ServiceTeam,
    TicketMessage,
    TicketStateChange,
)
from addons.crm_service.tickets import open_ticket
from core.demo import demo_users
from core.models import Team, utcnow

TEAM = "客户服务部 Customer service"
PRODUCTS = [("CRM 标准版 CRM Standard", "CRM-STD"), ("条码扫描枪 Barcode scanner", "SCAN-BC"),
            ("标签打印机 Label printer", "PRN-LBL")]
# subject, kind, channel, priority, final state, product index or None, days ago,
# the customer's words, the answer (None: not answered yet)
TICKETS = [
    ("扫码枪无法识别条码", "request", "phone", "high", "open", 1, 2,
     "仓库的扫码枪从昨天开始读不出条码,灯是亮的。", "请先按说明书恢复出厂设置,我们明天上午上门检查。"),
    ("How do I export my customer list?", "inquiry", "email", "normal", "resolved", 0, 9,
     "Hello, where do I find the export button for customers?",
     "Open Contacts > Customers and use Export at the top of the list."),
    ("标签打印机打印模糊", "request", "visit", "normal", "waiting for customer", 2, 5,
     "门店的标签打印机打出来的字很淡。", "请拍一张打印效果的照片发给我们,便于判断是否需要换打印头。"),
    ("发票抬头开错了", "complaint", "phone", "high", "closed", None, 30,
     "上个月的发票抬头写错了公司名称,财务无法报销。", "非常抱歉,已重新开具发票并快递寄出。"),
    ("送货延迟三天", "complaint", "web form", "urgent", "resolved", 1, 12,
     "订购的扫码枪比约定时间晚了三天才到,影响了盘点。", "已与物流核实原因,补偿运费并调整发货流程。"),
    ("安装工程师态度不好", "complaint", "visit", "normal", "open", None, 3,
     "上门安装的工程师说话很不耐烦。", None),
    ("Feedback on the new dashboard", "feedback", "web form", "low", "closed", 0, 20,
     "The new sales dashboard is great, but the chart colours are hard to tell apart.",
     "Thank you! We have passed this on to the product team."),
    ("希望增加微信通知", "feedback", "other", "low", "new", 0, 0,
     "能否在有新工单时通过微信通知我们?", None),
    ("Scanner battery does not charge", "request", "email", "normal",
     "waiting for third party", 1, 6,
     "The battery of one of our scanners no longer charges.",
     "We have sent the battery to the manufacturer for testing."),
    ("账号被锁定", "inquiry", "phone", "urgent", "resolved", 0, 1,
     "我输错几次密码后账号被锁定了,急需登录。", "已为您解除锁定,请重新登录并修改密码。"),
    ("Printer labels are cut off", "request", "visit", "normal", "new", 2, 0,
     "Labels come out with the last line cut off.", None),
]
ARTICLES = [  # title, language, visibility, folder index, keywords, body
    ("如何导出客户列表", "Chinese", "public", 0, "导出 客户 Excel",
     "打开“联系人 > 客户”,在列表上方点击“导出”,选择 CSV 或 Excel 格式即可。"),
    ("How to export the customer list", "English", "public", 0, "export customers excel",
     "Open Contacts > Customers and click Export above the list; choose CSV or Excel."),
    ("扫码枪恢复出厂设置", "Chinese", "public", 1, "扫码枪 条码 出厂设置",
     "依次扫描说明书第 2 页的“进入设置”“恢复出厂”“退出设置”三个条码,然后重新配对。"),
    ("Label printer prints faintly", "English", "internal", 1, "printer faint print head",
     "Raise the print density to 12 in the driver; if it is still faint, replace the print "
     "head (part PH-200) under warranty."),
    ("账号锁定后如何解锁", "Chinese", "internal", 0, "账号 锁定 密码",
     "管理员在“设置 > 登录锁定”中选择该账号并解除锁定;提醒用户修改密码。"),
    ("Draft: wireless scanner pairing", "English", "draft", 2, "scanner bluetooth pairing",
     "Steps to pair the scanner with a tablet over Bluetooth (to be checked)."),
]


def load(session):
    agents, leader = _service_team(session)
    team = session.scalar(select(Team).where(Team.name == TEAM))
    products = _products_and_rules(session, team, leader)
    customers = session.scalars(select(Customer).where(Customer.kind == "company")
                                .order_by(Customer.id).limit(len(TICKETS))).all()
    tickets = _tickets(session, customers, products, team, [leader, *agents])
    _complaints(session, tickets, leader, agents)
    _ratings(session, tickets)
    _service_records(session, tickets)
    _articles(session, products, leader)
    session.flush()


def _service_team(session):
    """The demo users join the service groups: 李雷 manages, the others answer."""
    users = demo_users(session, [("li.lei", "李雷", "service_manager"),
                                 ("han.meimei", "韩梅梅", "service_agent"),
                                 ("tom.lee", "Tom Lee", "service_agent")])
    if session.scalar(select(Team).where(Team.name == TEAM)) is None:
        session.add(Team(name=TEAM, leader=users[0], members=users[1:]))
    session.flush()
    return users[1:], users[0]


def _products_and_rules(session, team, leader):
    products = [ServiceProduct(name=name, code=code) for name, code in PRODUCTS]
    session.add_all(products)
    calendar = session.scalar(select(BusinessCalendar).where(BusinessCalendar.is_default.is_(True))) \
        or session.scalar(select(BusinessCalendar).order_by(BusinessCalendar.id))
    session.add(ServiceTeam(team=team, calendar=calendar, assignment="round robin",
                            email="support@example.com"))
    session.add_all([
        # Complaints go to the manager; scanner tickets to the team in turn.
        RoutingRule(sequence=10, kind="complaint", team=team, user=leader),
        RoutingRule(sequence=20, product=products[1], team=team),
        RoutingRule(sequence=100, team=team),
    ])
    session.flush()
    return products


def _tickets(session, customers, products, team, people):
    """Each ticket opened as it came in, then its conversation and its states dated."""
    now = utcnow().replace(second=0, microsecond=0)
    made = []
    for index, (subject, kind, channel, priority, state, product, days_ago, words,
                answer) in enumerate(TICKETS):
        customer = customers[index % len(customers)] if customers else None
        contact = session.scalar(select(Contact).where(Contact.customer_id == customer.id)
                                 .order_by(Contact.id).limit(1)) if customer else None
        ticket = open_ticket(
            subject=subject, body_text=words, channel=channel, kind=kind, priority=priority,
            customer=customer, contact=contact,
            product=products[product] if product is not None else None,
            requester_name=contact.name if contact else None,
            requester_email=contact.email if contact else None)
        ticket.team = ticket.team or team
        ticket.owner = ticket.owner or people[index % len(people)]
        ticket.state = state   # a new record: the states before it are recorded below
        session.flush()
        opened = now - timedelta(days=days_ago, hours=3 + index % 5)
        _date_back(session, ticket, opened, state, answer, now)
        made.append(ticket)
    return made


def _date_back(session, ticket, opened, state, answer, now):
    """The ticket as if opened at ``opened``: its first message, an answer and an
    internal note an hour or so later, and every state it went through, in order."""
    ticket.created_at = opened
    first = ticket.messages.order_by(TicketMessage.id).first()
    if first is not None:
        first.created_at = opened
    ticket.last_customer_message_at = opened
    path = {"new": ["new"], "open": ["new", "open"],
            "waiting for customer": ["new", "open", "waiting for customer"],
            "waiting for third party": ["new", "open", "waiting for third party"],
            "resolved": ["new", "open", "resolved"],
            "closed": ["new", "open", "resolved", "closed"]}[state]
    session.execute(delete(TicketStateChange).where(TicketStateChange.ticket_id == ticket.id))
    step = min(timedelta(hours=5), (now - opened) / (len(path) + 1))
    for position, entered in enumerate(path):
        session.add(TicketStateChange(ticket=ticket, state=entered, at=opened + step * position))
    if answer:
        answered = opened + step
        session.add(TicketMessage(ticket=ticket, kind="reply", author=ticket.owner,
                                  body_text=answer, created_at=answered))
        ticket.first_response_at = ticket.last_reply_at = answered
        session.add(TicketMessage(ticket=ticket, kind="note", author=ticket.owner,
                                  body_text="已电话确认客户收到答复。 Called to confirm the answer arrived.",
                                  created_at=answered + timedelta(minutes=20)))
    if state in ("resolved", "closed"):
        ticket.resolved_at = opened + step * path.index("resolved")
    if state == "closed":
        ticket.closed_at = opened + step * path.index("closed")


def _complaints(session, tickets, leader, agents):
    """Root cause and corrective action of each complaint: done (closed), overdue
    (resolved, waiting for it), and due next week (still open)."""
    causes = {cause.name: cause for cause in session.scalars(select(RootCause))}
    complaints = [ticket for ticket in tickets if ticket.kind == "complaint"]
    today = date.today()
    plans = [("Billing error", "开票前由第二人核对抬头和税号。", leader, today - timedelta(days=25), True),
             ("Late delivery", "与物流签订时效协议,超时自动补偿运费。", agents[0], today - timedelta(days=2), False),
             ("Staff attitude", "安排服务礼仪培训并回访客户致歉。", leader, today + timedelta(days=7), False)]
    for ticket, (cause, action, owner, due, done) in zip(complaints, plans):
        ticket.root_cause = causes.get(cause)
        ticket.corrective_action, ticket.action_owner, ticket.action_due = action, owner, due
        if done:
            ticket.action_done_at = datetime.combine(due, time(10, 0))


def _ratings(session, tickets):
    comments = ["回复很快,问题解决了。", "Clear answer, thanks.", None, "还可以,但等了比较久。"]
    for index, ticket in enumerate(t for t in tickets if t.state in ("resolved", "closed")):
        sent = ticket.resolved_at or ticket.created_at
        score = (5, 4, 5, 3)[index % 4]
        session.add(SatisfactionRating(
            ticket=ticket, agent=ticket.owner, team=ticket.team, kind=ticket.kind,
            sent_at=sent, score=score if index != 2 else None,
            comment=comments[index % 4] if index != 2 else None,
            rated_at=sent + timedelta(hours=2) if index != 2 else None,
            closed_at=sent + timedelta(hours=2) if index != 2 else None))


def _service_records(session, tickets):
    """Time and fees over the last months: on-site visits billable, phone help not."""
    today = date.today()
    for index, ticket in enumerate(tickets):
        if ticket.state == "new":
            continue
        on_site = ticket.channel == "visit" or ticket.kind == "request"
        session.add(ServiceRecord(
            ticket=ticket, owner=ticket.owner, minutes=90 if on_site else 20,
            work_date=today - timedelta(days=(index * 23) % 150),
            description="上门检修 On-site repair" if on_site else "电话指导 Phone help",
            fee=Decimal("800.00") if on_site else Decimal("0"), billable=on_site))
    if tickets:
        session.add(ServiceRecord(ticket=tickets[0], owner=tickets[0].owner, minutes=45,
                                  work_date=today, description="更换扫码枪电池 Replaced the battery",
                                  fee=Decimal("260.00"), billable=True))


def _articles(session, products, author):
    folders = session.scalars(select(KbFolder).where(KbFolder.parent_id.is_(None))
                              .order_by(KbFolder.sequence, KbFolder.id)).all()
    for title, language, visibility, folder, keywords, body in ARTICLES:
        session.add(KbArticle(title=title, language=language, visibility=visibility,
                              folder=folders[folder % len(folders)] if folders else None,
                              keywords=keywords, body=body, owner=author,
                              product=products[1] if "扫码" in title or "scanner" in title.lower()
                              else None))
