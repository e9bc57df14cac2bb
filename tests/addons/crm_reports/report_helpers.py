"""What the reports tests share: customers and won deals written directly, a report's
table as text read back from its page, a PDF's text."""
import re
import subprocess
from datetime import date

YEAR = date.today().year


def customer(suite, name, grade, owner):
    return suite.sql(
        "INSERT INTO crm_customer (kind, name, name_key, grade, is_key, stage, phone_key, "
        "email_key, is_supplier, owner_id, created_at, updated_at) VALUES ('company', :n, "
        ":n, :g, false, 'active', '', '', false, :o, :c, :c) RETURNING id",
        n=name, g=grade, o=owner, c=f"{YEAR}-01-02 10:00:00")[0][0]


def won_deal(suite, customer_id, owner, amount, closed_on):
    stage = suite.sql("SELECT id FROM sale_stage WHERE kind = 'won' ORDER BY sequence")[0][0]
    suite.sql("INSERT INTO sale_opportunity (name, customer_id, currency, stage_id, "
              "probability, amount, closed_on, owner_id, created_at, updated_at) VALUES "
              "('Deal', :c, 'CNY', :s, 100, :a, :d, :o, CURRENT_TIMESTAMP, "
              "CURRENT_TIMESTAMP)", c=customer_id, s=stage, a=amount, d=closed_on, o=owner)


def table(page):
    """The report's table: [[cell text]] of its body rows, and its total row."""
    found = re.search(r"<tbody>(.*?)</tbody>", page, re.S)
    if found is None:        # no table: nothing to count
        return [], None
    body = found.group(1)
    rows = [[re.sub(r"<[^>]+>", "", cell).strip() for cell in
             re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
            for row in re.findall(r"<tr>(.*?)</tr>", body, re.S)]
    total = re.search(r'<tr class="crm-report-total">(.*?)</tr>', page, re.S)
    totals = [re.sub(r"<[^>]+>", "", cell).strip()
              for cell in re.findall(r"<th[^>]*>(.*?)</th>", total.group(1), re.S)] \
        if total else None
    return rows, totals


def pdf_text(data, tmp_path):
    path = tmp_path / "report.pdf"
    path.write_bytes(data)
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True,
                          text=True, check=True).stdout
