"""Demo documents for `python run.py init --demo`: a small library (product sheets,
contract templates, a folder only managers read), tags, a document with two versions,
and a file attached to a customer. Added through documents.py, as a user's upload is."""
import io
from types import SimpleNamespace

from sqlalchemy import select

from addons.crm_contacts.models import Customer
from addons.crm_docs import documents
from addons.crm_docs.models import DocTag, Folder
from core.models import Group

CATALOGUE = """产品目录 2026 Product catalogue
手持数据采集器 HD-200：工业级防护，支持二维码扫描与离线盘点，适合仓储物流客户。
Handheld data collector HD-200: rugged, scans QR codes, counts stock offline.
智能标签打印机 LP-80：热敏打印，每分钟 120 张标签，可连接 CRM 打印地址标签。
"""
CATALOGUE_V2 = CATALOGUE + """新增：无线基站 WB-10，覆盖半径 150 米，与 HD-200 配套销售。
New: wireless base station WB-10, 150 m range, sold with the HD-200.
"""
PRICE_LIST = """code,name,price,currency
HD-200,手持数据采集器 Handheld data collector,3980.00,CNY
LP-80,智能标签打印机 Label printer,1680.00,CNY
WB-10,无线基站 Wireless base station,2250.00,CNY
"""
CONTRACT = """销售合同（标准条款）Standard terms of sale
第一条 付款方式：合同签订后七日内支付百分之三十预付款，验收合格后支付余款。
Article 1, payment: 30% within seven days of signing, the rest on acceptance.
第二条 质保期：设备自验收之日起保修十二个月。
Article 2, warranty: twelve months from acceptance.
"""
HANDBOOK = """销售激励方案 2026（仅限管理层）Sales incentive plan 2026 (management only)
季度目标完成率超过百分之一百二十的销售人员，按超额部分的百分之五计提奖金。
"""
VISIT_NOTES = """拜访纪要 Visit notes
客户计划在第三季度更换仓库盘点设备，关注 HD-200 的电池续航与售后响应时间。
The customer plans to replace its stock-taking devices in Q3.
"""


def upload(name, text):
    """An upload as the browser sends it."""
    return SimpleNamespace(filename=name, stream=io.BytesIO(text.encode("utf-8")))


def load(session):
    groups = {g.code: g for g in session.scalars(select(Group))}
    managers = [groups[code] for code in ("docs_manager", "sales_manager", "contacts_manager")
                if code in groups]
    products = Folder(name="产品资料 Product sheets",
                      description="产品目录、价目表与图片 Catalogues, price lists, pictures")
    new_products = Folder(name="2026 新品 New in 2026", parent=products)
    contracts = Folder(name="合同与模板 Contracts and templates",
                       description="标准合同条款，经理维护 Standard terms, kept by managers",
                       writers=managers)
    management = Folder(name="管理层 Management", readers=managers, writers=managers)
    tags = {name: DocTag(name=name) for name in ("产品 Product", "价格 Price", "合同 Contract",
                                                 "内部 Internal")}
    session.add_all([products, new_products, contracts, management, *tags.values()])
    session.flush()

    catalogue = documents.add(upload("产品目录 2026.txt", CATALOGUE), None, folder=products,
                              tags=[tags["产品 Product"]],
                              description="当季产品介绍 This season's products")
    documents.add_version(catalogue, upload("产品目录 2026.txt", CATALOGUE_V2), None,
                          comment="增加无线基站 WB-10 Added the WB-10")
    documents.add(upload("price-list-2026.csv", PRICE_LIST), None, folder=new_products,
                  tags=[tags["产品 Product"], tags["价格 Price"]])
    documents.add(upload("销售合同标准条款.txt", CONTRACT), None, folder=contracts,
                  tags=[tags["合同 Contract"]])
    documents.add(upload("销售激励方案 2026.txt", HANDBOOK), None, folder=management,
                  tags=[tags["内部 Internal"]])
    customer = session.scalar(select(Customer).order_by(Customer.id).limit(1))
    if customer is not None:
        documents.add(upload("拜访纪要 Visit notes.txt", VISIT_NOTES), None, record=customer)
    session.flush()
