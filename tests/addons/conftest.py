"""Fixtures for the suite's own addons: an installation with the addons folder on its
paths and the addon under test enabled."""
import pytest

from tests.conftest import ROOT, make_suite

ADDONS = ROOT / "addons"
FIXTURES = ROOT / "tests" / "fixtures" / "addons"


def addon_suite(tmp_path, database_url, enabled, demo=False, fixtures=False):
    paths = [ADDONS] + ([FIXTURES] if fixtures else [])
    return make_suite(tmp_path, database_url, addon_paths=paths, enabled=enabled, demo=demo)


@pytest.fixture
def contacts_suite(tmp_path, database_url):
    """crm_contacts enabled, no demo data."""
    installation = addon_suite(tmp_path, database_url, ["crm_contacts"])
    yield installation
    installation.close()


@pytest.fixture
def sales_suite(tmp_path, database_url):
    """crm_sales (and so crm_contacts) enabled, no demo data."""
    installation = addon_suite(tmp_path, database_url, ["crm_sales"])
    yield installation
    installation.close()


@pytest.fixture
def docs_suite(tmp_path, database_url):
    """crm_docs with crm_sales (records to attach files to, quotes to issue), no demo."""
    installation = addon_suite(tmp_path, database_url, ["crm_docs", "crm_sales"])
    yield installation
    installation.close()


@pytest.fixture
def service_suite(tmp_path, database_url):
    """crm_service (and so crm_contacts) enabled, no demo data."""
    installation = addon_suite(tmp_path, database_url, ["crm_service"])
    yield installation
    installation.close()


@pytest.fixture
def marketing_suite(tmp_path, database_url):
    """crm_marketing (and so crm_contacts) enabled, no demo data."""
    installation = addon_suite(tmp_path, database_url, ["crm_marketing"])
    yield installation
    installation.close()


@pytest.fixture
def bridge_suite(tmp_path, database_url):
    """crm_marketing and crm_sales enabled, and so their bridge crm_marketing_sales (the
    core enables it by itself); no demo data."""
    installation = addon_suite(tmp_path, database_url, ["crm_marketing", "crm_sales"])
    yield installation
    installation.close()


@pytest.fixture
def purchase_suite(tmp_path, database_url):
    """crm_purchase (and so crm_sales and crm_contacts) enabled, no demo data."""
    installation = addon_suite(tmp_path, database_url, ["crm_purchase"])
    yield installation
    installation.close()


@pytest.fixture
def reports_suite(tmp_path, database_url):
    """crm_reports with crm_sales (and so crm_contacts) enabled, no demo data."""
    installation = addon_suite(tmp_path, database_url, ["crm_reports", "crm_sales"])
    yield installation
    installation.close()
