# Two commands do all the set-up: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
CRM_TEST_DATABASE_URL ?= postgresql://postgres@127.0.0.1:5432/crm_test
# Tests run in one process per core (pytest-xdist), a test file each at a time; each
# test has its own database (a file, or a schema), so they cannot meet. TEST_WORKERS=0
# runs them in this process (for a debugger).
TEST_WORKERS ?= auto
PYTEST := $(PY) -m pytest -n $(TEST_WORKERS) --dist loadfile

.PHONY: run test test-pg bench bench-backup bench-docs bench-service bench-purchase bench-reports bench-customise bench-api install system-packages clean translations

# Debian packages the suite uses: Pango and HarfBuzz for WeasyPrint's PDFs (the subset
# library keeps font embedding fast), a CJK font for Chinese text in PDFs, poppler-utils
# to read PDFs back in tests, Chromium for the browser tests, wrk for the benchmarks'
# throughput run, Dovecot for the incoming mail tests (an IMAP server of their own).
SYSTEM_PACKAGES := libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-noto-cjk \
	poppler-utils chromium wrk dovecot-imapd

# The virtual environment, rebuilt when requirements.txt changes.
$(VENV)/.installed: requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

# Installs the missing Debian packages when run as root; otherwise says what to run.
system-packages:
	@missing=$$(for p in $(SYSTEM_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ]; then \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	else echo "Missing Debian packages (browser tests are skipped): sudo apt-get install $$missing"; fi

install: system-packages $(VENV)/.installed

# First run: creates the database with demo data and prints the admin login once.
# After a git pull: brings the tables up to the new code before serving.
run: install
	$(PY) run.py init --demo
	$(PY) run.py upgrade
	$(PY) run.py serve

test: install
	$(PYTEST)

# The same suite on PostgreSQL; the database is created when absent.
test-pg: install
	CRM_TEST_DATABASE_URL=$(CRM_TEST_DATABASE_URL) $(PYTEST)

# Benchmarks (see BENCHMARKS.md): SQLite, then PostgreSQL when it is reachable (its
# database is dropped and created for the run). SCALE=large: 200,000 customers on SQLite,
# 1,000,000 on PostgreSQL. Results: bench/results/latest.json and latest.md.
SCALE ?= small
CRM_BENCH_DATABASE_URL ?= postgresql://postgres@127.0.0.1:5432/crm_bench
bench: install
	$(PY) bench/run.py --scale $(SCALE)
	$(PY) bench/run.py --scale $(SCALE) --database-url $(CRM_BENCH_DATABASE_URL) --if-reachable

# Backup and restore against pg_dump / pg_restore (BENCHMARKS.md, issue 15). SCALE=large:
# 1,000,000 customers on PostgreSQL (generated once, ~7-13 min, into crm_bench_backup,
# and kept), 200,000 on SQLite. Results: bench/results/backup-latest.json and .md.
bench-backup: install
	$(PY) bench/backup.py --scale $(SCALE)

# Documents (BENCHMARKS.md, issue 17): a 500 MB upload and download through one gunicorn
# worker with its memory measured, on both storages and databases (drops and recreates
# crm_bench_docs_transfer); content search over 100,000 documents on PostgreSQL.
bench-docs: install
	$(PY) bench/docs_transfer.py --storage both --database sqlite \
	  --database postgresql://postgres@127.0.0.1:5432/crm_bench_docs_transfer
	$(PY) bench/docs_search.py

# Customer service (BENCHMARKS.md, issue 18): the ticket list as an agent, SLA figures of
# a page, the escalation job, incoming mail. SCALE=small (a few minutes): 20,000
# tickets, 100,000 messages on SQLite, then on PostgreSQL when it is reachable (its
# database dropped and created). SCALE=large: 1,000,000 tickets and 5,000,000 messages on
# PostgreSQL only (crm_bench_service, generated once, ~15 min, and kept for the next
# run). Results: bench/results/service-<scale>-latest.json and .md.
CRM_BENCH_SERVICE_URL ?= postgresql://postgres@127.0.0.1:5432/crm_bench_service
bench-service: install
ifeq ($(SCALE),large)
	$(PY) bench/service.py --scale large --database-url $(CRM_BENCH_SERVICE_URL) --keep
else
	$(PY) bench/service.py --scale $(SCALE)
	$(PY) bench/service.py --scale $(SCALE) --database-url $(CRM_BENCH_SERVICE_URL)_small \
	  --if-reachable
endif

# Purchasing and stock (BENCHMARKS.md): the stock-on-hand list, a receipt of 200 lines,
# the reorder job, a purchase order's PDF. SCALE=small (a minute or two each): 5,000
# products and 200,000 stock moves on SQLite, then on PostgreSQL when it is reachable
# (its database dropped and created). SCALE=large: 100,000 products, 5,000,000 moves,
# 200,000 purchase orders and 100,000 reorder rules on PostgreSQL only
# (crm_bench_purchase, generated once by set-based SQL and kept for the next run).
# Results: bench/results/purchase-<scale>-latest.json and .md.
CRM_BENCH_PURCHASE_URL ?= postgresql://postgres@127.0.0.1:5432/crm_bench_purchase
bench-purchase: install
ifeq ($(SCALE),large)
	$(PY) bench/purchase.py --scale large --database-url $(CRM_BENCH_PURCHASE_URL) --keep
else
	$(PY) bench/purchase.py --scale $(SCALE)
	$(PY) bench/purchase.py --scale $(SCALE) --database-url $(CRM_BENCH_PURCHASE_URL)_small \
	  --if-reachable
endif

# Reports (BENCHMARKS.md): every standard dashboard for an administrator and a
# salesperson, the customer-value analysis, a report's Excel file of many rows.
# SCALE=small: 5,000 customers and 100,000 orders on SQLite, then on PostgreSQL when it
# is reachable. SCALE=large: 100,000 customers and 2,000,000 orders over three years on
# PostgreSQL only (crm_bench_reports, generated once and kept for the next run).
# Results: bench/results/reports-<scale>-latest.json and .md.
CRM_BENCH_REPORTS_URL ?= postgresql://postgres@127.0.0.1:5432/crm_bench_reports
bench-reports: install
ifeq ($(SCALE),large)
	$(PY) bench/reports.py --scale large --database-url $(CRM_BENCH_REPORTS_URL) --keep
else
	$(PY) bench/reports.py --scale $(SCALE)
	$(PY) bench/reports.py --scale $(SCALE) --database-url $(CRM_BENCH_REPORTS_URL)_small \
	  --if-reachable
endif

# Custom fields (issue 22): the customer list without and with 20 fields added on
# Settings > Customise. SCALE=small: 20,000 customers on SQLite, then on PostgreSQL when
# it is reachable. SCALE=large: 1,000,000 customers on PostgreSQL (crm_bench_customise,
# generated once and kept). Results: bench/results/customise-<scale>-latest.json and .md.
CRM_BENCH_CUSTOMISE_URL ?= postgresql://postgres@127.0.0.1:5432/crm_bench_customise
bench-customise: install
ifeq ($(SCALE),large)
	$(PY) bench/customise.py --scale large --database-url $(CRM_BENCH_CUSTOMISE_URL) --keep
else
	$(PY) bench/customise.py --scale $(SCALE)
	$(PY) bench/customise.py --scale $(SCALE) --database-url $(CRM_BENCH_CUSTOMISE_URL)_small \
	  --if-reachable
endif

# The REST API (issue 23): 100 customers as JSON as a salesperson, beside the customer
# list screen, then both under gunicorn and wrk. SCALE=small: 20,000 customers on SQLite,
# then on PostgreSQL when it is reachable. SCALE=large: 1,000,000 customers on
# PostgreSQL (crm_bench_api, generated once and kept). Results:
# bench/results/api-<scale>-latest.json and .md.
CRM_BENCH_API_URL ?= postgresql://postgres@127.0.0.1:5432/crm_bench_api
bench-api: install
ifeq ($(SCALE),large)
	$(PY) bench/api.py --scale large --database-url $(CRM_BENCH_API_URL) --keep
else
	$(PY) bench/api.py --scale $(SCALE)
	$(PY) bench/api.py --scale $(SCALE) --database-url $(CRM_BENCH_API_URL)_small --if-reachable
endif

clean:
	rm -rf $(VENV) .pytest_cache

# Refresh the translation catalogs (the core's and each addon's) after changing
# user-facing text; then translate the new entries in the zh_Hans_CN messages.po files.
# tests/test_translations.py fails while an entry is left untranslated.
translations: install
	$(VENV)/bin/pybabel extract -F babel.cfg -k _l -k mark -o core/translations/messages.pot core
	$(VENV)/bin/pybabel update -i core/translations/messages.pot -d core/translations
	for addon in addons/*/; do \
	  pot=$${addon}translations/messages.pot; mkdir -p $${addon}translations; \
	  $(VENV)/bin/pybabel extract -F babel.cfg -k _l -k mark -o $$pot $$addon; \
	  if [ -f $${addon}translations/zh_Hans_CN/LC_MESSAGES/messages.po ]; then \
	    $(VENV)/bin/pybabel update -i $$pot -d $${addon}translations; \
	  else $(VENV)/bin/pybabel init -i $$pot -d $${addon}translations -l zh_Hans_CN; fi; \
	done
