"""Demo records of Marketing for `python run.py init --demo`, on top of crm_contacts'
customers: two marketing people (周敏 manages, Lucy Chen plans), segments (a filter of
the customer list and a static list of fair visitors), campaigns in several states with
their costs, a newsletter already sent with its recipients' figures (sent, opened,
clicked, a bounce, an unsubscribe), responses, the suppression list and one delivery
report waiting for review. Something on every screen.

States past a campaign's or mailing's first one are written as they would stand after
their workflow (the approval, the senders), dated back over the last weeks."""
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import select, update

from addons.crm_contacts.models import Contact, Customer
from addons.crm_marketing.models import (BounceReport, Campaign, CampaignCost, CampaignResponse,
                                         Mailing, Recipient, Segment, SegmentMember,
                                         Suppression, address_key)
from addons.crm_marketing.responses import responded
from core.demo import demo_users
from core.models import utcnow

PEOPLE = (("zhou.min", "周敏", "marketing_manager"), ("lucy.chen", "Lucy Chen", "marketing_user"))
NEWSLETTER = ("<p>{{ name }}，您好！</p><p>十二月新品与服务更新请见"
              '<a href="https://www.example.com/news/2026-12">本月通讯</a>。</p>'
              "<p>Dear {{ first_name }}, our December news is "
              '<a href="https://www.example.com/news/2026-12?lang=en">here</a>.</p>')
VISITORS = (("赵磊", "zhao.lei@example.cn", "13900001111"),
            ("钱静", "qian.jing@example.cn", "13900002222"),
            ("Sun Yue", "sun.yue@example.com", "13900003333"),
            ("李娜", "li.na@example.cn", "13900004444"),
            ("Peter Wong", "peter.wong@example.com", "+852 9123 4567"))


def load(session):
    manager, planner = demo_users(session, PEOPLE)
    grade_a, _key, visitors = _segments(session, manager)
    launch, newsletter, _promotion, _survey = _campaigns(session, manager, planner)
    _newsletter_sent(session, newsletter, grade_a, planner)
    _responses(session, launch, visitors)
    session.flush()


def _segments(session, owner):
    grade_a = Segment(name="A级客户 Grade A customers", kind="filter",
                      rules="flt0_grade_equals=A", owner=owner,
                      description="A级客户的全部联系人 Every contact of grade A customers")
    key = Segment(name="重点客户 Key customers", kind="filter", rules="flt0_is_key_equals=1",
                  owner=owner)
    visitors = Segment(name="2026 展会访客 Fair visitors", kind="static list", owner=owner,
                       description="上海工博会展台留下名片的访客 Visitors of our stand")
    session.add_all([grade_a, key, visitors])
    for name, email, phone in VISITORS:
        visitors.members.append(SegmentMember(name=name, email=email, email_key=email.lower(),
                                              phone=phone))
    session.flush()
    return grade_a, key, visitors


def _campaigns(session, manager, planner):
    today = date.today()
    launch = Campaign(
        name="2027 春季新品发布会 Spring launch", kind="event or trade show",
        channel="上海国际工业博览会 展台 B12", start_date=today + timedelta(days=40),
        end_date=today + timedelta(days=43), budget=Decimal("80000"),
        expected_revenue=Decimal("400000"), owner=planner,
        plan="展台、产品演示、现场签到；会后一周内回访所有留资客户。\n"
             "Stand, demos, sign-in; call back every visitor within a week.")
    launch.costs = [CampaignCost(spent_on=today - timedelta(days=20), description="展位费 Stand",
                                 amount=Decimal("30000")),
                    CampaignCost(spent_on=today - timedelta(days=6),
                                 description="宣传册印刷 Brochures", amount=Decimal("4800"))]
    newsletter = Campaign(
        name="客户通讯 十二月 December newsletter", kind="e-mail", channel="E-mail",
        start_date=today - timedelta(days=10), end_date=today - timedelta(days=3),
        budget=Decimal("2000"), owner=planner)
    newsletter.costs = [CampaignCost(spent_on=today - timedelta(days=10),
                                     description="邮件服务 Mail service", amount=Decimal("800"))]
    promotion = Campaign(name="双十二促销 Double 12 promotion", kind="promotion",
                         start_date=today + timedelta(days=5), end_date=today + timedelta(days=12),
                         budget=Decimal("15000"), owner=planner,
                         plan="老客户九折，新客户首单赠送一年服务。")
    survey = Campaign(name="2026 客户满意度调查 Customer survey", kind="survey",
                      start_date=today, end_date=today + timedelta(days=30),
                      budget=Decimal("500"), owner=manager)
    session.add_all([launch, newsletter, promotion, survey])
    session.flush()
    # As they stand after their approvals: the launch approved by 周敏, the newsletter done.
    for campaign, state in ((launch, "approved"), (newsletter, "done"), (survey, "running")):
        session.execute(update(Campaign).where(Campaign.id == campaign.id).values(state=state))
    return launch, newsletter, promotion, survey


def _newsletter_sent(session, campaign, segment, owner):
    """The newsletter as the senders left it, a week ago."""
    sent_at = utcnow() - timedelta(days=7)
    mailing = Mailing(name="十二月通讯 December news", campaign=campaign, segment=segment,
                      audience="contacts", subject="{{ customer }}：十二月新品与服务更新",
                      body=NEWSLETTER, owner=owner)
    session.add(mailing)
    session.flush()
    session.execute(update(Mailing).where(Mailing.id == mailing.id).values(
        state="sent", queued_at=sent_at, finished_at=sent_at + timedelta(minutes=4)))
    people = session.execute(
        select(Contact.id, Contact.customer_id, Contact.name, Contact.email)
        .join(Customer, Customer.id == Contact.customer_id)
        .where(Customer.grade == "A", Contact.email.is_not(None), Contact.email != "")
        .order_by(Contact.id).limit(40)).all()
    for number, (contact_id, customer_id, name, email) in enumerate(people):
        state = "bounced" if number == 3 else "unsubscribed" if number == 5 else "sent"
        session.add(Recipient(
            mailing_id=mailing.id, customer_id=customer_id, contact_id=contact_id, name=name,
            email=email, address_key=address_key(email), state=state, attempts=1,
            sent_at=sent_at + timedelta(seconds=number),
            opened_at=sent_at + timedelta(hours=number) if number % 2 == 0 else None,
            clicked_at=sent_at + timedelta(hours=number, minutes=3) if number % 4 == 0 else None))
        if state != "sent":
            reason = "hard bounce" if state == "bounced" else "unsubscribed"
            session.add(Suppression(address=address_key(email), reason=reason,
                                    added_at=sent_at + timedelta(hours=2), mailing=mailing))
        if state == "bounced":
            session.add(BounceReport(email=address_key(email), kind="hard", status="5.1.1",
                                     diagnostic="550 5.1.1 <" + email + ">: Recipient address "
                                                "rejected: User unknown", decision="applied",
                                     received_at=sent_at + timedelta(hours=2)))
        if number % 4 == 0:
            session.add(CampaignResponse(campaign_id=campaign.id, kind="click",
                                         responded_at=sent_at + timedelta(hours=number),
                                         customer_id=customer_id, contact_id=contact_id,
                                         name=name, email=email,
                                         note="https://www.example.com/news/2026-12"))
    session.add(BounceReport(email="old.buyer@example.net", kind="soft", status="",
                             diagnostic="mailbox unavailable", decision="to review",
                             doubt="no status code; guessed from the text",
                             received_at=sent_at + timedelta(days=1)))


def _responses(session, campaign, visitors):
    """Visitors who left their card at the fair stand."""
    for member in visitors.members:
        response = CampaignResponse(campaign_id=campaign.id, kind="registration",
                                    name=member.name, email=member.email, phone=member.phone,
                                    note="展台留资 Met at the stand")
        session.add(response)
        session.flush()
        responded(response)      # with Sales, each becomes a lead of the campaign
