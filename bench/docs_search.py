"""Content search in the document library at 100,000 documents, on PostgreSQL.

    python bench/docs_search.py [--documents 100000] [--runs 40]
        [--database-url postgresql://postgres@127.0.0.1:5432/crm_bench_docs] [--keep]

A site with crm_docs in the database named (dropped and created, unless --keep finds
it holding the same number of documents), filled directly with COPY: 72 folders (two
top folders of eight readable only by a group the measured user is not in), 30 tags,
--documents documents with a version each, and their text, generated from a seeded mix
of Chinese and English business words with a long tail (product codes, names,
uncommon words), 200 to 5,000 characters each, indexed by addons/crm_docs/search.py's
own index_terms (the same terms an upload gives) into the GIN-indexed tsvector.

Measured, signed in as a document user (group docs_user; 75 % of the folders), for
ten searches from a word in nearly every document to one in none: the library list's
query with the search box as the list runs it (search.condition() under the user's
record rules, in the list's default order, newest change first, one page of 50 rows);
the count of the matches the list shows above it; that count capped at 1,001 (what a
"1,000+" would need); and the HTTP list page itself (/admin/document/?search=...).
Each: warm-up runs, then --runs timed runs (a new request context each, so the user's
folder access is read as a request reads it); median and 95th percentile.
--updated-index measures again with an index on crm_document (updated_at), made for
the run and dropped after.
"""
import argparse
import itertools
import os
import random
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import startup  # noqa: E402
from bench.run import get_ok, signed_in_client, summary  # noqa: E402

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/crm_bench_docs"
PASSWORD = "bench password 1"
SEED = 17
PAGE = 50
TARGET_P95_MS = 100
WARM_UPS = 3
COUNT_CAP = 1001   # "1,000+": what a capped count would show

# -- words ------------------------------------------------------------------------------

CN_WORDS = """合同 报价单 产品 规格 付款 交货 客户 供应商 发票 质量 保修 型号 价格 数量 订单 采购
销售 服务 技术 参数 说明书 安装 维修 售后 物流 运输 仓库 库存 检验 标准 认证 证书 协议 条款
违约 责任 期限 日期 金额 税率 增值税 人民币 美元 折扣 优惠 预付款 尾款 验收 交付 包装 样品
图纸 设计 方案 项目 计划 预算 成本 利润 市场 渠道 代理 经销商 区域 华东 华南 华北 西南 东北
上海 北京 广州 深圳 杭州 南京 苏州 成都 武汉 西安 天津 重庆 宁波 青岛 厦门 有限公司 股份 集团
工厂 车间 设备 机械 电机 水泵 阀门 管道 传感器 控制器 变频器 电缆 轴承 齿轮 压缩机 风机 锅炉
空调 照明 电源 电池 模块 芯片 软件 系统 平台 数据 网络 安全 备份 升级 版本 培训 会议 纪要
报告 总结 分析 审批 签字 盖章 原件 复印件 附件 目录 章节 第一条 第二条 第三条 甲方 乙方 双方
本合同 有效期 生效 终止 解除 争议 仲裁 法院 保密 知识产权 不可抗力 通知 地址 电话 传真 邮箱
联系人 负责人 经理 总监 工程师 专员 助理 部门 财务 法务 行政 人事 质检 生产 研发 市场部 销售部
年度 季度 月度 周报 日报 目标 完成率 增长 下降 同比 环比 客户满意度 投诉 退货 换货 索赔 赔偿
运费 保险 关税 报关 清关 出口 进口 外贸 信用证 汇款 银行 账户 开户行 发货 收货 签收 回执""".split()

EN_WORDS = """contract quotation quote product specification payment delivery customer supplier
invoice quality warranty model price quantity order purchase sales service technical
parameter manual installation maintenance repair logistics transport warehouse stock
inspection standard certificate agreement terms clause liability period date amount tax
rate discount prepayment balance acceptance packaging sample drawing design proposal
project plan budget cost margin market channel agent distributor region shanghai beijing
shenzhen guangzhou hangzhou factory equipment machine motor pump valve pipe sensor
controller inverter cable bearing gear compressor fan boiler lighting power battery
module chip software system platform data network security backup upgrade version
training meeting minutes report summary analysis approval signature stamp original copy
appendix section party buyer seller effective termination dispute arbitration court
confidential intellectual property force majeure notice address phone fax email contact
manager director engineer assistant department finance legal admin production research
annual quarterly monthly weekly target growth decline complaint return exchange claim
compensation freight insurance customs export import letter credit bank account shipment
receipt the of and to in for with on by at from as is are be this that will shall may
must all any each per net total unit gross weight volume size colour color steel stainless
aluminium copper plastic rubber glass""".split()

CHARS = ("的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会可主发年动同工"
         "也能下过子说产种面而方后多定行学法所民得经十三之进着等部度家电力里如水化高自二理起小物"
         "现实加量都两体制机当使点从业本去把性好应开它合还因由其些然前外天政四日那社义事平形相全表"
         "间样与关各重新线内数正心反你明看原又么利比或但质气第向道命此变条只没结解问意建月公无系军"
         "很情者最立代想已通并提直题党程展五果料象员革位入常文总次品式活设及管特件长求老头基资边流"
         "路级少图山统接知较将组见计别她手角期根论运农指几九区强放决西被干做必战先回则任取据处队南"
         "给色光门即保治北造百规热领七海口东导器压志世金增争济阶油思术极交受联什认六共权收证改清美"
         "再采转更单风切打白教速花带安场身车例真务具万每目至达走积示议声报斗完类八离华名确才科张信"
         "马节话米整空元况今集温传土许步群广石记需段研界拉林律叫且究观越织装影算低持音众书布复容儿"
         "须际商非验连断深难近矿千周委素技备半办青省列习响约支般史感劳便团往酸历市克何除消构府称太")


def zipf(count, exponent=1.05):
    """Cumulative weights: the word of rank r is drawn in proportion to 1 / r**exponent."""
    return list(itertools.accumulate(1 / (rank + 1) ** exponent for rank in range(count)))


class Writer:
    """Seeded text in the mix a library holds: mostly Chinese, some mixed, some English;
    common words often, a long tail seldom."""

    def __init__(self, seed):
        self.random = random.Random(seed)
        rare_cn = {"".join(self.random.sample(CHARS, self.random.choice((2, 2, 3))))
                   for _ in range(6000)}
        self.codes = [f"{self.random.choice('ABCDEFGHKLMNPRSTXZ')}"
                      f"{self.random.choice('ABCDEFGHKLMNPRSTXZ')}-{n}"
                      for n in self.random.sample(range(100, 10000), 5000)]
        self.names = [self.random.choice(("Li", "Wang", "Zhang", "Liu", "Chen", "Yang", "Huang",
                                          "Zhao", "Wu", "Zhou", "Smith", "Mueller", "Rossi"))
                      + self.random.choice(("wei", "fang", "na", "min", "jing", "lei", "jun",
                                            "yang", "tao", "ming", "son", "er", "ini"))
                      for _ in range(800)]
        self.cn = CN_WORDS + sorted(rare_cn)
        self.en = EN_WORDS + self.codes + self.names
        self.cn_weights = zipf(len(self.cn))
        self.en_weights = zipf(len(self.en))
        self.rare_cn = sorted(rare_cn)

    def sentence(self, chinese):
        n = self.random.randint(4, 16)
        if chinese:
            words = self.random.choices(self.cn, cum_weights=self.cn_weights, k=n)
            if self.random.random() < 0.3:   # a code or a name inside a Chinese sentence
                words.insert(self.random.randrange(n), " " + self.random.choice(self.codes) + " ")
            return "".join(words) + self.random.choice("，。；。")
        words = self.random.choices(self.en, cum_weights=self.en_weights, k=n)
        return " ".join(words).capitalize() + ". "

    def text(self):
        share = self.random.choice((0.9, 0.9, 0.9, 0.6, 0.5, 0.1))   # Chinese sentences
        length = int(200 * 25 ** self.random.random())               # 200 to 5,000
        parts, size = [], 0
        while size < length:
            part = self.sentence(self.random.random() < share)
            if self.random.random() < 0.15:
                part += "\n"
            parts.append(part)
            size += len(part)
        return "".join(parts)[:length]

    def name(self, number):
        kind = self.random.choice(("pdf", "pdf", "pdf", "docx", "docx", "xlsx", "txt"))
        stem = self.random.choice((
            lambda: f"{self.random.choice(self.cn[:150])}{self.random.choice(self.cn[:150])}"
                    f"_{number}",
            lambda: f"{self.random.choice(self.codes)} {self.random.choice(EN_WORDS[:60])}",
            lambda: f"{self.random.choice(self.names)} {self.random.choice(CN_WORDS[:40])} "
                    f"{2020 + number % 7}-{1 + number % 12:02d}",
        ))()
        return f"{stem}.{kind}", kind


# -- the site --------------------------------------------------------------------------

def prepare(folder, database_url, documents, keep):
    """The site's environment; its database filled unless --keep finds it filled."""
    env = startup.site_environment(folder, [ROOT / "addons"], ["crm_docs"])
    env["CRM_DATABASE_URL"] = database_url
    os.environ.update(env)
    if keep and holds(database_url) == documents:
        print(f"kept: {documents:,} documents in {database_url}", flush=True)
        return env
    startup.fresh_database(database_url)
    startup.run_cli(env, "init")
    startup.run_cli(env, "create-admin", "--username", "admin", "--password", PASSWORD)
    startup.run_cli(env, "create-user", "--username", "reader", "--password", PASSWORD,
                    "--groups", "docs_user")
    started = time.perf_counter()
    fill(database_url, documents)
    print(f"filled {documents:,} documents in {time.perf_counter() - started:.0f} s",
          flush=True)
    return env


def holds(database_url):
    try:
        return int(startup_sql(database_url, "SELECT count(*) FROM crm_document")[0][0])
    except Exception:
        return None


def startup_sql(database_url, sql):
    from sqlalchemy import create_engine, text

    from core.config import normalise_database_url
    engine = create_engine(normalise_database_url(database_url))
    try:
        with engine.begin() as connection:
            result = connection.execute(text(sql))
            return result.all() if result.returns_rows else []
    finally:
        engine.dispose()


def fill(database_url, count):
    import psycopg

    from addons.crm_docs.search import index_terms
    writer = Writer(SEED)
    plain = database_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(plain) as connection, connection.cursor() as cursor:
        cursor.execute("SET maintenance_work_mem = '1GB'")
        admin = cursor.execute("SELECT id FROM core_user WHERE username = 'admin'").fetchone()[0]
        cursor.execute("INSERT INTO core_group (code, name) VALUES ('legal', 'Legal') "
                       "RETURNING id")
        legal = cursor.fetchone()[0]
        # 8 top folders of 8 subfolders each; the first two top ones readable by Legal only.
        folders, paths = [], {}
        top_names = ["合同", "报价", "产品资料", "Marketing", "采购", "Finance", "售后服务", "HR"]
        folder_id = 0
        for top, top_name in enumerate(top_names):
            folder_id += 1
            top_id = folder_id
            folders.append((top_id, top_name, None))
            paths[top_id] = top_name
            for sub in range(8):
                folder_id += 1
                name = f"{2019 + sub}" if top % 2 == 0 else f"{top_name} {sub + 1}"
                folders.append((folder_id, name, top_id))
                paths[folder_id] = f"{top_name} {name}"
        with cursor.copy("COPY crm_doc_folder (id, name, parent_id, description) "
                         "FROM STDIN") as copy:
            for row in folders:
                copy.write_row((*row, ""))
        for top_id in (1, 10):
            cursor.execute("INSERT INTO crm_doc_folder_reader (folder_id, group_id) "
                           "VALUES (%s, %s)", (top_id, legal))
        leaves = [f for f, _name, parent in folders if parent is not None]
        tags = ["重要", "草稿", "已签", "VIP", "2025", "2026", "年度", "机密", "模板", "归档"] + \
               [f"tag{n}" for n in range(20)]
        with cursor.copy("COPY crm_doc_tag (id, name) FROM STDIN") as copy:
            for number, tag in enumerate(tags, 1):
                copy.write_row((number, tag))
        cursor.execute("DROP INDEX ix_crm_document_text_terms")
        start = datetime(2024, 1, 1)
        with cursor.copy("COPY crm_document (id, name, folder_id, description, version, "
                         "sha256, size, kind, filename, text_state, owner_id, created_by_id, "
                         "updated_by_id, created_at, updated_at) FROM STDIN") as documents:
            texts = []
            for number in range(1, count + 1):
                name, kind = writer.name(number)
                folder = writer.random.choice(leaves)
                stamp = start + timedelta(minutes=number * 7)
                content = writer.text()
                sha = "%064x" % writer.random.getrandbits(256)
                documents.write_row((number, name, folder, "", 1, sha, len(content.encode()) * 3,
                                     kind, name, "done", admin, admin, admin, stamp, stamp))
                chosen = writer.random.sample(range(1, len(tags) + 1), writer.random.choice(
                    (0, 1, 1, 2, 3)))
                labels = " ".join([name, name, *(tags[t - 1] for t in chosen), paths[folder]])
                texts.append((number, content, index_terms(labels, content), chosen, sha,
                              len(content.encode()) * 3, kind, name, stamp))
            # The document rows are in (the copy ends with the block): now what names them.
        with cursor.copy("COPY crm_document_text (document_id, content, terms) "
                         "FROM STDIN") as copy:
            for number, content, joined, *_rest in texts:
                copy.write_row((number, content, "'" + "' '".join(joined.split()) + "'"
                                if joined else ""))
        with cursor.copy("COPY crm_document_tag (document_id, tag_id) FROM STDIN") as copy:
            for number, _content, _joined, chosen, *_rest in texts:
                for tag in chosen:
                    copy.write_row((number, tag))
        with cursor.copy("COPY crm_document_version (id, document_id, number, sha256, size, "
                         "kind, filename, comment, uploaded_by_id, uploaded_at) "
                         "FROM STDIN") as copy:
            for number, _content, _joined, _chosen, sha, size, kind, name, stamp in texts:
                copy.write_row((number, number, 1, sha, size, kind, name, "", admin, stamp))
        del texts
        for table, column in (("crm_doc_folder", "id"), ("crm_doc_tag", "id"),
                              ("crm_document", "id"), ("crm_document_version", "id")):
            cursor.execute(f"SELECT setval(pg_get_serial_sequence('{table}', '{column}'), "
                           f"(SELECT max({column}) FROM {table}))")
        started = time.perf_counter()
        cursor.execute("CREATE INDEX ix_crm_document_text_terms ON crm_document_text "
                       "USING gin (terms)")
        print(f"GIN index built in {time.perf_counter() - started:.0f} s", flush=True)
        connection.commit()
    with psycopg.connect(plain, autocommit=True) as connection:
        connection.execute("VACUUM ANALYZE")


# -- measuring -------------------------------------------------------------------------

def searches():
    """What a user types, with how many documents each finds (of every folder)."""
    writer = Writer(SEED)
    words = [
        ("common Chinese word", "合同"),
        ("Chinese word", "保修"),
        ("three Chinese characters", "说明书"),
        ("uncommon Chinese word", writer.rare_cn[len(writer.rare_cn) // 2]),
        ("two Chinese words", "付款 发票"),
        ("Chinese and English", "水泵 warranty"),
        ("English word, start of", "warr"),
        ("product code", writer.codes[3000]),
        ("one Chinese character", "泵"),
        ("a word found nowhere", "量子纠缠"),
    ]
    return words


def page_query(search, permissions, Document, user, text):
    from sqlalchemy import select
    return (permissions.apply_rules(select(Document), Document, user)
            .where(Document.folder_id.is_not(None), search.condition(text))
            .order_by(Document.updated_at.desc()).limit(PAGE))


def count_query(search, permissions, Document, user, text, cap=None):
    """The count the list shows above the page; with ``cap``, counted up to cap only."""
    from sqlalchemy import func, select
    matching = (permissions.apply_rules(select(Document.id), Document, user)
                .where(Document.folder_id.is_not(None), search.condition(text)))
    if cap:
        matching = matching.limit(cap)
    return select(func.count()).select_from(matching.subquery())


def timed(action, runs):
    for _ in range(WARM_UPS):
        action()
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        action()
        times.append((time.perf_counter() - started) * 1000)
    return times


def measure_sql(app, runs, words):
    from sqlalchemy import select

    from addons.crm_docs import search
    from addons.crm_docs.models import Document
    from core import permissions
    from core.db import db
    from core.models import User
    rows, every = [], {"page": [], "count": [], "capped": []}
    with app.app_context():
        user = db.session.scalar(select(User).where(User.username == "reader"))
        for label, text in words:
            found = {}

            def run(name, statement, many=False):
                # A request context each time: the user's folder access is read once
                # per request, as the list reads it.
                def action():
                    with app.test_request_context():
                        result = db.session.execute(statement())
                        found[name] = len(result.all()) if many else result.scalar()
                return action
            actions = {
                "page": run("page", lambda: page_query(search, permissions, Document, user,
                                                       text), many=True),
                "count": run("count", lambda: count_query(search, permissions, Document, user,
                                                          text)),
                "capped": run("capped", lambda: count_query(search, permissions, Document,
                                                            user, text, cap=COUNT_CAP)),
            }
            figures = {}
            for name, action in actions.items():
                times = timed(action, runs)
                every[name] += times
                figures[name] = summary(times)
            rows.append({"label": label, "text": text, "matches": found["count"],
                         "shown": found["page"], **figures})
            print(f"  {label:<28} {text:<14} {found['count']:>7,} found  page "
                  f"{figures['page']['median_ms']:>6} / {figures['page']['p95_ms']:>6} ms  "
                  f"count {figures['count']['p95_ms']:>7} ms  capped count "
                  f"{figures['capped']['p95_ms']:>6} ms", flush=True)
        plans = {}
        for text in ("合同", words[3][1]):
            statement = page_query(search, permissions, Document, user, text).compile(
                db.engine, compile_kwargs={"literal_binds": True})
            plans[text] = db.session.execute(db.text(
                f"EXPLAIN (ANALYZE, BUFFERS) {statement}")).scalars().all()
    return rows, {name: summary(times) for name, times in every.items()}, plans


def measure_http(dispatcher, runs, words):
    from urllib.parse import quote
    client = signed_in_client(dispatcher, "reader", PASSWORD)
    if client.get("/admin/document/?search=x").status_code != 200:
        return None, None
    rows, every = [], []
    for label, text in words:
        path = f"/admin/document/?search={quote(text)}"
        times = timed(lambda: get_ok(client, path), runs)
        every += times
        rows.append({"label": label, "text": text, **summary(times)})
        print(f"  HTTP {label:<23} {text:<14} {rows[-1]['median_ms']:>6} / "
              f"{rows[-1]['p95_ms']:>6} ms", flush=True)
    return rows, summary(every)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--documents", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--database-url", default=DEFAULT_URL)
    parser.add_argument("--keep", action="store_true",
                        help="reuse the database when it holds --documents documents")
    parser.add_argument("--updated-index", action="store_true",
                        help="measure with an index on crm_document (updated_at), the "
                             "list's default order (made for the run, dropped after)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="crm-bench-docs-") as folder:
        prepare(Path(folder), args.database_url, args.documents, args.keep)
        if args.updated_index:
            startup_sql(args.database_url, "CREATE INDEX IF NOT EXISTS bench_document_updated "
                        "ON crm_document (updated_at)")
            startup_sql(args.database_url, "ANALYZE crm_document")
        from core.app import Dispatcher
        dispatcher = Dispatcher()
        words = searches()
        print(f"# {args.documents:,} documents; {args.runs} runs per search; page of {PAGE}"
              f"{'; with an index on updated_at' if args.updated_index else ''}", flush=True)
        try:
            rows, overall, plans = measure_sql(dispatcher.app, args.runs, words)
            http_rows, http_overall = measure_http(dispatcher, args.runs, words)
        finally:
            dispatcher._engine.dispose()
            if args.updated_index:
                startup_sql(args.database_url, "DROP INDEX IF EXISTS bench_document_updated")
    for text, plan in plans.items():
        print(f"\nplan of the page query for {text}:\n  " + "\n  ".join(plan))
    print(f"\nall searches, SQL of the list: page p95 {overall['page']['p95_ms']} ms "
          f"(median {overall['page']['median_ms']} ms), count p95 {overall['count']['p95_ms']} "
          f"ms, capped count p95 {overall['capped']['p95_ms']} ms; target p95 < "
          f"{TARGET_P95_MS} ms")
    if http_overall:
        print(f"all searches, HTTP list page: median {http_overall['median_ms']} ms, "
              f"p95 {http_overall['p95_ms']} ms")
    else:
        print("HTTP list page: the library's list did not answer /admin/document/?search=")
    print(table(rows, http_rows))


def table(rows, http_rows):
    http = {row["label"]: row for row in http_rows or []}
    lines = ["| search | typed | documents found | page median / p95 | count p95 | "
             "count up to 1,001 p95 |" + (" HTTP list page median / p95 |" if http else ""),
             "|---|---|---:|---:|---:|---:|" + ("---:|" if http else "")]
    for row in rows:
        line = (f"| {row['label']} | {row['text']} | {row['matches']:,} | "
                f"{row['page']['median_ms']} / {row['page']['p95_ms']} ms | "
                f"{row['count']['p95_ms']} ms | {row['capped']['p95_ms']} ms |")
        if http:
            h = http[row["label"]]
            line += f" {h['median_ms']} / {h['p95_ms']} ms |"
        lines.append(line)
    return "\n".join(lines)


if __name__ == "__main__":
    main()
