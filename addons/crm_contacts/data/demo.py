"""Demo records for `python run.py init --demo`: about 50 customers, Chinese and
English, with contacts and activities around today, owned by two demo salespeople.

The demo users get random passwords that nobody knows: an administrator sets one
(Settings > Users) to try the suite as a salesperson."""
import random
from datetime import date, datetime, time, timedelta

from sqlalchemy import select

from addons.crm_contacts.models import (Activity, Competitor, Contact, Customer, Industry,
                                        Region, Source, Tag)
from core.demo import demo_users
from core.models import Team

CHINESE_COMPANIES = [
    ("上海明远贸易有限公司", "上海", "上海市", "浦东新区", "张江路 88 号", "200120"),
    ("北京华信科技股份有限公司", "北京", "北京市", "海淀区", "中关村大街 27 号", "100080"),
    ("杭州西湖电子有限公司", "浙江", "杭州市", "西湖区", "文三路 199 号", "310012"),
    ("苏州工业园区精密机械有限公司", "江苏", "苏州市", "工业园区", "星湖街 328 号", "215021"),
    ("广州南方医疗器械有限公司", "广东", "广州市", "天河区", "体育西路 103 号", "510620"),
    ("深圳创新软件有限公司", "广东", "深圳市", "南山区", "科技园南路 15 号", "518057"),
    ("南京金陵食品有限公司", "江苏", "南京市", "鼓楼区", "中山北路 105 号", "210009"),
    ("天津港通物流有限公司", "天津", "天津市", "滨海新区", "新港二号路 35 号", "300456"),
    ("宁波海天塑料制品有限公司", "浙江", "宁波市", "北仑区", "明州路 88 号", "315800"),
    ("成都天府教育咨询有限公司", "四川", "成都市", "武侯区", "人民南路四段 9 号", "610041"),
    ("武汉长江汽车配件有限公司", "湖北", "武汉市", "江汉区", "建设大道 568 号", "430022"),
    ("青岛海润化工有限公司", "山东", "青岛市", "市南区", "香港中路 10 号", "266071"),
    ("厦门鹭岛茶业有限公司", "福建", "厦门市", "思明区", "鹭江道 8 号", "361001"),
    ("西安古城文化传媒有限公司", "陕西", "西安市", "雁塔区", "高新路 52 号", "710075"),
    ("无锡太湖纺织有限公司", "江苏", "无锡市", "梁溪区", "人民中路 139 号", "214002"),
    ("长沙湘江建材有限公司", "湖南", "长沙市", "岳麓区", "麓谷大道 627 号", "410205"),
    ("合肥科大智能设备有限公司", "安徽", "合肥市", "蜀山区", "黄山路 451 号", "230031"),
    ("上海浦江酒店管理有限公司", "上海", "上海市", "黄浦区", "南京东路 300 号", "200001"),
    ("北京燕山印刷有限公司", "北京", "北京市", "朝阳区", "建国路 93 号", "100022"),
    ("佛山顺德家电有限公司", "广东", "佛山市", "顺德区", "大良街道新城路 1 号", "528300"),
    ("大连渔港水产有限公司", "辽宁", "大连市", "中山区", "人民路 23 号", "116001"),
    ("郑州中原粮油有限公司", "河南", "郑州市", "金水区", "花园路 39 号", "450003"),
    ("昆明春城花卉有限公司", "云南", "昆明市", "五华区", "东风西路 11 号", "650032"),
    ("温州瓯江鞋业有限公司", "浙江", "温州市", "鹿城区", "车站大道 577 号", "325000"),
    ("济南泉城医药有限公司", "山东", "济南市", "历下区", "泉城路 180 号", "250011"),
    ("福州闽江电子有限公司", "福建", "福州市", "鼓楼区", "五四路 158 号", "350003"),
    ("重庆山城摩托车有限公司", "重庆", "重庆市", "渝北区", "金开大道 68 号", "401121"),
    ("东莞松山湖模具有限公司", "广东", "东莞市", "松山湖", "工业东路 6 号", "523808"),
    ("绍兴黄酒酿造有限公司", "浙江", "绍兴市", "越城区", "解放北路 8 号", "312000"),
    ("常州龙城电机有限公司", "江苏", "常州市", "新北区", "太湖东路 9 号", "213022"),
    ("烟台蓬莱葡萄酒有限公司", "山东", "烟台市", "芝罘区", "南大街 166 号", "264001"),
    ("珠海横琴文旅发展有限公司", "广东", "珠海市", "横琴新区", "环岛东路 3000 号", "519031"),
    ("嘉兴南湖丝绸有限公司", "浙江", "嘉兴市", "南湖区", "中山东路 1 号", "314001"),
]
WESTERN_COMPANIES = [
    ("Northwind Traders Ltd.", "London", "Greater London", "12 Fleet Street", "EC4Y 1AA", "United Kingdom"),
    ("Acme Industrial Supply Inc.", "Chicago", "IL", "350 N Orleans St", "60654", "USA"),
    ("Blue Harbor Logistics GmbH", "Hamburg", "", "Am Sandtorkai 50", "20457", "Germany"),
    ("Maple Leaf Foods Co.", "Toronto", "ON", "100 King St W", "M5X 1A9", "Canada"),
    ("Sunrise Medical Devices Pte. Ltd.", "Singapore", "", "1 Fusionopolis Way", "138632", "Singapore"),
    ("Redwood Software LLC", "San Francisco", "CA", "500 Howard St", "94105", "USA"),
    ("Alpine Precision AG", "Zurich", "", "Bahnhofstrasse 10", "8001", "Switzerland"),
    ("Coral Bay Hotels Pty Ltd", "Sydney", "NSW", "88 George St", "2000", "Australia"),
    ("Greenfield Agritech Ltd.", "Manchester", "", "1 Spinningfields", "M3 3AP", "United Kingdom"),
    ("Atlas Machinery Corporation", "Houston", "TX", "1200 Smith St", "77002", "USA"),
]
INDIVIDUALS = [
    ("王芳", "北京", "北京市", "东城区", "东直门南大街 5 号", "100007", "13911112222"),
    ("李娜", "上海", "上海市", "徐汇区", "漕溪北路 18 号", "200030", "13822223333"),
    ("张伟", "广东", "广州市", "越秀区", "中山五路 33 号", "510030", "13733334444"),
    ("刘洋", "浙江", "杭州市", "上城区", "解放路 10 号", "310002", "13644445555"),
    ("陈静", "江苏", "南京市", "玄武区", "中山路 1 号", "210008", "13555556666"),
    ("Emily Carter", "Boston", "MA", "", "10 Beacon St", "02108", "+1 617 555 0142"),
    ("James Wilson", "Leeds", "", "", "5 Park Row", "LS1 5HD", "+44 113 496 0000"),
]
CONTACT_NAMES = ["赵敏", "孙丽", "周强", "吴磊", "郑洁", "冯涛", "陈晨", "杨帆", "黄蕾", "徐鹏",
                 "朱琳", "马超", "胡军", "林雪", "何静", "高翔"]
WESTERN_CONTACTS = ["Anna Schmidt", "Tom Baker", "Laura Chen", "Mark Evans", "Sophie Martin",
                    "David Kim", "Olivia Brown", "Peter Jones"]
TITLES = [("采购经理", "采购部"), ("总经理", "总经办"), ("技术总监", "技术部"), ("财务主管", "财务部"),
          ("销售总监", "市场部")]
WESTERN_TITLES = [("Purchasing Manager", "Purchasing"), ("CEO", "Management"),
                  ("CTO", "Engineering"), ("Finance Director", "Finance")]
SUBJECTS = {"call": ["电话回访", "确认需求", "Follow-up call"], "visit": ["上门拜访", "Site visit"],
            "meeting": ["方案演示", "Quarterly review"], "email": ["发送资料", "Sent brochure"],
            "task": ["准备报价", "Prepare proposal"], "plan": ["季度拜访计划", "Account plan"]}


def load(session):
    rng = random.Random(20261125)   # the same demo every time
    users = _sales_users(session)
    lookups = _lookups(session)
    customers = _customers(session, rng, users, lookups)
    _contacts(session, rng, customers)
    _activities(session, rng, customers)
    session.add_all([
        Competitor(name="华腾 CRM", strengths="价格低", weaknesses="定制难", products="标准版 CRM",
                   customers=customers[:3]),
        Competitor(name="Bigsoft ERP", strengths="Brand, wide suite",
                   weaknesses="Slow, expensive to customise", products="ERP, CRM module",
                   customers=customers[28:30]),
    ])
    session.flush()


def _sales_users(session):
    users = demo_users(session, [(username, full_name, "contacts_user") for username, full_name
                                 in (("li.lei", "李雷"), ("han.meimei", "韩梅梅"),
                                     ("tom.lee", "Tom Lee"))])
    if session.scalar(select(Team).where(Team.name == "华东销售部 East China sales")) is None:
        session.add(Team(name="华东销售部 East China sales", leader=users[0], members=users[1:]))
    return users


def _lookups(session):
    china = Region(name="中国")
    regions = {name: Region(name=name, parent=china) for name in ("华东", "华北", "华南", "华中", "西部")}
    overseas = Region(name="海外 Overseas")
    provinces = {
        "上海": "华东", "江苏": "华东", "浙江": "华东", "安徽": "华东", "山东": "华东", "福建": "华东",
        "北京": "华北", "天津": "华北", "辽宁": "华北", "河南": "华中", "湖北": "华中", "湖南": "华中",
        "广东": "华南", "四川": "西部", "重庆": "西部", "陕西": "西部", "云南": "西部"}
    by_province = {province: Region(name=province, parent=regions[area])
                   for province, area in provinces.items()}
    industries = [Industry(name=name) for name in (
        "制造业 Manufacturing", "信息技术 IT", "零售 Retail", "医疗 Healthcare", "教育 Education",
        "物流 Logistics", "食品 Food")]
    sources = [Source(name=name) for name in (
        "网站 Website", "展会 Trade show", "转介绍 Referral", "电话开发 Cold call", "广告 Advertising")]
    tags = [Tag(name=name) for name in ("VIP", "潜在大客户", "需回访", "Price sensitive")]
    session.add_all([china, overseas, *industries, *sources, *tags])
    return {"provinces": by_province, "overseas": overseas, "industries": industries,
            "sources": sources, "tags": tags}


def _customers(session, rng, users, lookups):
    customers = []

    def add(**fields):
        customer = Customer(
            grade=rng.choice("AABBBCCD"), stage=rng.choice(["prospect", "active", "active", "dormant", "lost"]),
            industry=rng.choice(lookups["industries"]), source=rng.choice(lookups["sources"]),
            owner=users[len(customers) % len(users)], credit_limit=rng.choice([None, 50000, 200000, 1000000]),
            tags=rng.sample(lookups["tags"], rng.randint(0, 2)), **fields)
        customer.is_key = customer.grade == "A"
        customers.append(customer)

    for index, (name, province, city, district, street, postcode) in enumerate(CHINESE_COMPANIES):
        add(kind="company", name=name, province=province, city=city, district=district,
            street=street, postcode=postcode, country="中国",
            region=lookups["provinces"].get(province),
            phone=f"0{rng.randint(10, 29)}-{rng.randint(60000000, 89999999)}",
            email=f"info{index}@example.cn", is_supplier=index % 9 == 4)
    for index, (name, city, province, street, postcode, country) in enumerate(WESTERN_COMPANIES):
        add(kind="company", name=name, city=city, province=province, street=street,
            postcode=postcode, country=country, region=lookups["overseas"],
            phone=f"+1 555 01{index:02d} {rng.randint(1000, 9999)}",
            email=f"sales@{name.split()[0].lower()}.example.com",
            website=f"https://www.{name.split()[0].lower()}.example.com")
    for name, province, city, district, street, postcode, phone in INDIVIDUALS:
        add(kind="individual", name=name, province=province, city=city, district=district,
            street=street, postcode=postcode, phone=phone,
            region=lookups["provinces"].get(province, lookups["overseas"]))
    session.add_all(customers)
    return customers


def _contacts(session, rng, customers):
    for customer in customers:
        if customer.kind == "individual":
            continue
        western = customer.region is not None and customer.region.name.startswith("海外")
        names = WESTERN_CONTACTS if western else CONTACT_NAMES
        for number in range(rng.randint(1, 3)):
            title, department = rng.choice(WESTERN_TITLES if western else TITLES)
            session.add(Contact(
                customer=customer, name=rng.choice(names), title=title, department=department,
                mobile=f"13{rng.randint(100000000, 999999999)}", is_primary=number == 0,
                email=f"contact{rng.randint(1, 9999)}@example.com", owner=customer.owner,
                birthday=date(rng.randint(1965, 1995), rng.randint(1, 12), rng.randint(1, 28))))


def _activities(session, rng, customers):
    today = date.today()
    for customer in customers:
        for _number in range(rng.randint(0, 4)):
            kind = rng.choice(list(SUBJECTS))
            day = today + timedelta(days=rng.randint(-40, 20))
            start = datetime.combine(day, time(rng.randint(8, 17), rng.choice([0, 30])))
            done = day < today
            session.add(Activity(
                kind=kind, subject=rng.choice(SUBJECTS[kind]), customer=customer,
                owner=customer.owner, start_at=start,
                end_at=start + timedelta(minutes=rng.choice([30, 60, 90])),
                status="done" if done else "planned",
                outcome="客户有意向，需报价" if done and rng.random() < 0.5 else None,
                next_follow_up=day + timedelta(days=rng.randint(3, 14))
                if done and rng.random() < 0.4 else None))
