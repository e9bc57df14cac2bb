"""Demo records of Sales for `python run.py init --demo`, on top of the customers of
crm_contacts' demo: a product catalogue with price lists, a web form and assignment
rules, leads in every state, a pipeline across every stage, quotes in every state (one
waiting for approval), contracts (one ending soon), orders partly delivered, returned
and paid, and expenses to approve. Something on every screen."""
import random
import secrets
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from sqlalchemy import select

from addons.crm_contacts.models import Competitor, Customer, Region, Source
from addons.crm_sales.data.defaults import open_waiting_requests
from addons.crm_sales.models import (AssignmentRule, Contract, CustomerReturn, Delivery,
                                     DeliveryLine, Expense, ExpenseCategory, Lead, LostReason,
                                     Opportunity, OrderLine, Payment, PriceList, PriceListItem,
                                     Product, ProductCategory, Quote, QuoteLine, ReturnLine,
                                     SalesOrder, Stage, WebForm)
from core.demo import demo_users
from core.models import Team, User

PRODUCTS = [  # code, name, category, unit, price, cost, tax rate
    ("CRM-STD", "CRM 标准版 (每用户每年) CRM Standard, per user-year", "软件 Software", "用户", 1200, 300, 6),
    ("CRM-PRO", "CRM 专业版 (每用户每年) CRM Professional, per user-year", "软件 Software", "用户", 2400, 500, 6),
    ("IMPL-D", "实施服务 (人天) Implementation, per day", "服务 Services", "人天", 3000, 1500, 6),
    ("TRAIN-D", "培训 (天) Training, per day", "服务 Services", "天", 2500, 800, 6),
    ("SUP-Y", "年度技术支持 Annual support", "服务 Services", "年", 18000, 6000, 6),
    ("SRV-R740", "服务器 R740 Server", "硬件 Hardware", "台", 45800, 38000, 13),
    ("SCAN-BC", "条码扫描枪 Barcode scanner", "硬件 Hardware", "把", 680, 420, 13),
    ("PRN-LBL", "标签打印机 Label printer", "硬件 Hardware", "台", 1980, 1350, 13),
    ("PAD-10", "平板电脑 10 寸 Tablet 10\"", "硬件 Hardware", "台", 2899, 2300, 13),
    ("CBL-5M", "网线 5 米 Network cable 5 m", "配件 Accessories", "根", 25.5, 9.8, 13),
]
GOODS = ("硬件 Hardware", "配件 Accessories")   # the other categories are services
LEADS = [  # name, company, phone, email, status
    ("王建国", "嘉兴新材料有限公司", "0573-82260011", "wangjg@example.cn", "new"),
    ("刘芳", "常州恒力机电有限公司", "0519-86600022", "liufang@example.cn", "new"),
    ("Emma Wilson", "Northwind Traders", "+44 20 7946 0011", "emma@northwind.example.com", "new"),
    ("陈志远", "绍兴纺织印染有限公司", "0575-85110033", "chenzy@example.cn", "qualified"),
    ("赵丽华", "泉州石材有限公司", "0595-22880044", "zhaolh@example.cn", "qualified"),
    ("James Miller", "Blue Harbor Foods", "+1 555 0199 2211", "james@blueharbor.example.com", "qualified"),
    ("孙伟", "烟台葡萄酒业有限公司", "0535-66220055", "sunwei@example.cn", "disqualified"),
    ("周婷", "珠海游艇制造有限公司", "0756-33990066", "zhouting@example.cn", "new"),
    ("李明", "兰州牛肉面连锁管理有限公司", "0931-84450077", "liming@example.cn", "new"),
    ("Hannah Becker", "Alpen Tools GmbH", "+49 89 1234 5678", "h.becker@alpentools.example.com", "disqualified"),
]
DEALS = [  # name, stage name, amount
    ("CRM 专业版 50 用户", "Qualification", 120000), ("仓库扫码改造", "Qualification", 35000),
    ("ERP 对接实施", "Needs analysis", 90000), ("门店平板采购", "Needs analysis", 58000),
    ("Sales team rollout", "Needs analysis", 48000), ("年度支持续约", "Proposal", 18000),
    ("服务器扩容", "Proposal", 137400), ("培训项目", "Proposal", 25000),
    ("Warehouse labels", "Negotiation", 19800), ("CRM 标准版 30 用户", "Negotiation", 36000),
    ("集团 CRM 升级", "Negotiation", 480000), ("营销模块试点", "Qualification", 12000),
    ("CRM 标准版 20 用户", "Won", 24000), ("实施二期", "Won", 60000),
    ("Tablet pilot", "Won", 14495), ("硬件打包采购", "Lost", 88000), ("呼叫中心集成", "Lost", 150000),
]
EXPENSES = [  # category, amount, description, state
    ("Travel", 1280, "上海—苏州 客户拜访高铁及出租车", "approved"),
    ("Entertainment", 860, "与明远贸易采购部午餐", "submitted"),
    ("Samples", 2899, "平板样机一台 (客户试用)", "approved"),
    ("Trade shows", 12000, "CRM 行业展会展位费", "submitted"),
    ("Travel", 3450, "Flight to Hong Kong for the Harbor Foods demo", "draft"),
    ("Office", 320, "打印报价单、合同用纸", "refused"),
    ("Service fees", 5000, "培训服务费 (收入)", "approved"),
]


def load(session):
    rng = random.Random(20261126)   # the same demo every time
    today = date.today()
    users = _sales_team(session)
    customers = session.scalars(select(Customer).where(Customer.kind == "company")
                                .order_by(Customer.id)).all()
    if not customers:
        return
    products = _catalogue(session, customers)
    _leads(session, rng, users, today)
    deals = _pipeline(session, rng, customers, today)
    quotes = _quotes(session, rng, deals, products, today)
    orders = _orders(session, quotes, today)
    _contracts(session, quotes, orders, today)
    _expenses(session, rng, customers, deals, today)
    session.flush()
    # The quote and the expenses waiting for a manager: their approval requests.
    open_waiting_requests(session)


def _sales_team(session):
    """The demo salespeople of crm_contacts join the sales groups; 李雷, who leads the
    team, is the sales manager."""
    return demo_users(session, [("li.lei", "李雷", "sales_manager"),
                                ("han.meimei", "韩梅梅", "sales_user"),
                                ("tom.lee", "Tom Lee", "sales_user")])


def _catalogue(session, customers):
    categories = {}
    products = []
    for code, name, category, unit, price, cost, tax_rate in PRODUCTS:
        if category not in categories:
            categories[category] = ProductCategory(name=category)
        products.append(Product(code=code, name=name, category=categories[category], unit=unit,
                                price=Decimal(str(price)), cost=Decimal(str(cost)),
                                tax_rate=tax_rate,
                                kind="goods" if category in GOODS else "service"))
    session.add_all(products)
    year_start = date(date.today().year, 1, 1)
    session.add(PriceList(name="A 级客户价 Grade A prices", grade="A", valid_from=year_start,
                          items=[PriceListItem(product=p, price=p.price * Decimal("0.9"))
                                 for p in products[:5]]))
    session.add(PriceList(name=f"{customers[0].name} 协议价", customer=customers[0],
                          valid_from=year_start, valid_to=year_start.replace(month=12, day=31),
                          items=[PriceListItem(product=products[1], price=Decimal("1980"))]))
    return products


def _leads(session, rng, users, today):
    website = session.scalar(select(Source).where(Source.name.like("%Website%")))
    team = session.scalar(select(Team).order_by(Team.id))
    form = WebForm(name="官网 联系我们 Contact us", token=secrets.token_urlsafe(24), source=website,
                   team=team)
    session.add(form)
    east = session.scalar(select(Region).where(Region.name == "华东"))
    session.add_all([
        AssignmentRule(name="华东线索给韩梅梅", sequence=10, region=east, user=users[1 % len(users)]),
        AssignmentRule(name="其余线索团队轮流 Round robin", sequence=100, team=team),
    ])
    for index, (name, company, phone, email, status) in enumerate(LEADS):
        session.add(Lead(name=name, company=company, phone=phone, email=email, status=status,
                         source=website if index % 3 == 0 else None,
                         web_form=form if index % 3 == 0 else None,
                         region=east if "有限公司" in company and index % 2 == 0 else None,
                         estimated_amount=Decimal(rng.choice([20000, 50000, 120000])),
                         owner=users[index % len(users)],
                         description="来自官网留言：希望了解 CRM 报价" if index % 3 == 0 else None))


def _pipeline(session, rng, customers, today):
    stages = {s.name: s for s in session.scalars(select(Stage))}
    reasons = session.scalars(select(LostReason).order_by(LostReason.id)).all()
    competitors = session.scalars(select(Competitor)).all()
    deals = []
    for index, (name, stage_name, amount) in enumerate(DEALS):
        stage = stages.get(stage_name) or next(iter(stages.values()))
        customer = customers[index * 2 % len(customers)]
        closed = stage.kind != "open"
        deal = Opportunity(
            name=name, customer=customer, owner=customer.owner, stage=stage,
            amount=Decimal(amount), probability=stage.probability,
            expected_close=today + timedelta(days=rng.randint(-20, 150)),
            closed_on=today - timedelta(days=rng.randint(1, 150)) if closed else None,
            lost_reason=reasons[index % len(reasons)] if stage.kind == "lost" and reasons else None,
            competitors=competitors[:1] if index % 4 == 0 else [])
        deals.append(deal)
    session.add_all(deals)
    return deals


def _quote(deal, products, lines, state, today, days_ago, discount=0):
    quote = Quote(customer=deal.customer, opportunity=deal, owner=deal.owner, state=state,
                  quote_date=today - timedelta(days=days_ago),
                  valid_until=today - timedelta(days=days_ago) + timedelta(days=30),
                  terms="报价有效期 30 天；款到发货；含税价。\nPrices include VAT; payment before delivery.")
    for number, (product_index, quantity) in enumerate(lines, start=1):
        product = products[product_index]
        quote.lines.append(QuoteLine(sequence=number * 10, product=product,
                                     description=product.name, quantity=Decimal(quantity),
                                     unit_price=product.price, discount=Decimal(discount),
                                     tax_rate=product.tax_rate))
    if state != "draft":
        quote.sent_at = datetime.combine(quote.quote_date, time(10, 0))
    return quote


def _quotes(session, rng, deals, products, today):
    quotes = [
        _quote(deals[5], products, [(4, 1)], "sent", today, 5),
        _quote(deals[6], products, [(5, 3)], "sent", today, 40),     # past validity: expires
        _quote(deals[7], products, [(3, 10)], "draft", today, 1),
        _quote(deals[8], products, [(7, 8), (6, 4), (9, 50)], "sent", today, 3),
        _quote(deals[9], products, [(0, 30), (2, 5)], "draft", today, 0, discount=20),
        _quote(deals[12], products, [(0, 20), (3, 2)], "accepted", today, 60),
        _quote(deals[13], products, [(2, 20)], "accepted", today, 45),
        _quote(deals[14], products, [(8, 5)], "accepted", today, 20),
        _quote(deals[15], products, [(5, 2), (6, 10)], "rejected", today, 70),
    ]
    quotes[4].approval = "pending"   # a 20 % discount waits for the sales manager
    session.add_all(quotes)
    return quotes


def _orders(session, quotes, today):
    orders = []
    for quote in quotes:
        if quote.state != "accepted":
            continue
        order = SalesOrder(customer=quote.customer, quote=quote, owner=quote.owner,
                           order_date=quote.quote_date + timedelta(days=7), currency=quote.currency)
        for line in quote.lines:
            order.lines.append(OrderLine(
                sequence=line.sequence, product=line.product, description=line.description,
                quantity=line.quantity, unit_price=line.unit_price, discount=line.discount,
                tax_rate=line.tax_rate))
        orders.append(order)
    session.add_all(orders)
    session.flush()   # totals and numbers
    first, second, third = orders[:3]
    # The first order delivered in full and paid; the second half delivered, partly paid,
    # one unit returned; the third not delivered yet.
    _deliver(session, first, 1, today - timedelta(days=40))
    session.add(Payment(customer=first.customer, order=first, owner=first.owner,
                        amount=first.total, payment_date=today - timedelta(days=30),
                        reference="招商银行 转账"))
    _deliver(session, second, Decimal("0.5"), today - timedelta(days=20))
    session.add(Payment(customer=second.customer, order=second, owner=second.owner,
                        amount=(second.total * Decimal("0.3")).quantize(Decimal("0.01")),
                        payment_date=today - timedelta(days=10), method="wechat pay"))
    line = second.lines[0]
    session.flush()
    session.add(CustomerReturn(order=second, owner=second.owner, return_date=today - timedelta(days=5),
                               reason="一台外观划伤 One unit scratched",
                               amount=(line.total / line.quantity).quantize(Decimal("0.01")),
                               lines=[ReturnLine(order_line=line, quantity=1)]))
    line.returned = 1
    return orders


def _deliver(session, order, share, on):
    delivery = Delivery(order=order, owner=order.owner, delivery_date=on, carrier="顺丰速运 SF Express",
                        tracking=f"SF{secrets.randbelow(10**12):012d}")
    for line in order.lines:
        quantity = (line.quantity * share).quantize(Decimal("1"))
        if quantity > 0:
            delivery.lines.append(DeliveryLine(order_line=line, quantity=quantity))
            line.delivered = quantity
    session.add(delivery)


def _contracts(session, quotes, orders, today):
    accepted = [q for q in quotes if q.state == "accepted"]
    for index, (quote, order) in enumerate(zip(accepted, orders)):
        start = order.order_date
        ends = [today + timedelta(days=20), start + timedelta(days=365), today + timedelta(days=200)]
        session.add(Contract(
            title=f"{quote.customer.name} 软件许可及服务合同", customer=quote.customer,
            quote=quote, order=order, owner=quote.owner, start_date=start,
            end_date=ends[index % 3], signed_on=start, value=order.total,
            payment_terms="合同签订后 10 个工作日内支付 100%", status="active",
            auto_renew=index == 1,
            terms="1. 乙方提供软件许可及实施服务。\n2. 甲方按约定付款。\n3. 本合同一式两份，双方各执一份。"))


def _expenses(session, rng, customers, deals, today):
    categories = {c.name: c for c in session.scalars(select(ExpenseCategory))}
    approver = session.scalar(select(User).where(User.username == "li.lei"))
    for index, (category, amount, description, state) in enumerate(EXPENSES):
        category_row = categories.get(category)
        if category_row is None:
            continue
        deal = deals[index % len(deals)]
        if state == "submitted" and deal.owner is approver:
            # The manager's own would wait for an administrator, and there is none yet.
            state = "draft"
        session.add(Expense(
            expense_date=today - timedelta(days=rng.randint(1, 40)), kind=category_row.kind,
            category=category_row, amount=Decimal(amount), customer=deal.customer,
            opportunity=deal if index % 2 == 0 else None, description=description, state=state,
            owner=deal.owner,
            approved_by=approver if state in ("approved", "refused") else None,
            approved_at=datetime.combine(today, time(9, 0)) if state in ("approved", "refused") else None))
