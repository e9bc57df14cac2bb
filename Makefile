# Two commands do all the set-up: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
CRM_TEST_DATABASE_URL ?= postgresql://postgres@127.0.0.1:5432/crm_test

.PHONY: run test test-pg bench install system-packages clean translations

# Debian packages the suite uses: Chromium drives the browser tests.
SYSTEM_PACKAGES := chromium

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

install: $(VENV)/.installed system-packages

# First run: creates the database with demo data and prints the admin login once.
run: install
	$(PY) run.py init --demo
	$(PY) run.py serve

test: install
	$(PY) -m pytest

# The same suite on PostgreSQL; the database is created when absent.
test-pg: install
	CRM_TEST_DATABASE_URL=$(CRM_TEST_DATABASE_URL) $(PY) -m pytest

# Benchmarks (see BENCHMARKS.md): SQLite, then PostgreSQL when it is reachable.
CRM_BENCH_DATABASE_URL ?= postgresql://postgres@127.0.0.1:5432/crm_bench
bench: install
	$(PY) bench/startup.py
	$(PY) bench/reminders.py
	$(PY) bench/startup.py --database-url $(CRM_BENCH_DATABASE_URL) \
	  && $(PY) bench/reminders.py --database-url $(CRM_BENCH_DATABASE_URL) \
	  || echo "PostgreSQL at $(CRM_BENCH_DATABASE_URL) not reachable: skipped"

clean:
	rm -rf $(VENV) .pytest_cache

# Refresh the core's translation catalog after changing user-facing text; then
# translate the new entries in core/translations/zh_Hans_CN/LC_MESSAGES/messages.po.
translations: install
	$(VENV)/bin/pybabel extract -F babel.cfg -k _l -k mark -o core/translations/messages.pot core
	$(VENV)/bin/pybabel update -i core/translations/messages.pot -d core/translations
