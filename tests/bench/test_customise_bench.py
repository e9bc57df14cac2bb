"""bench/customise.py, the custom fields benchmark, end to end at a tiny scale: every
page is measured without and with the twenty fields, in turns on two copies of the
database, the comparison lands in customise-small-latest.json and .md (two rounds: the
times of both together), and the copies are dropped (the generated database never holds
the fields, so a kept one is measured again from the same start). Timings are not
asserted (bench/ measures them)."""
import json

from sqlalchemy import create_engine, text

from bench.customise import FIELDS, PAGES
from core.config import normalise_database_url
from tests.bench.bench_helpers import own_database, run_script


def test_every_page_is_measured_with_and_without_the_fields(tmp_path):
    with own_database("crm_bench_customise_test") as database:
        output = run_script("customise.py", "--customers", "300", "--runs", "2",
                            "--rounds", "2", "--results", str(tmp_path), database=database)
        assert f"{len(FIELDS)} fields added and filled" in output
        results = json.loads((tmp_path / "customise-small-latest.json").read_text())
        names = {result["name"]: result for result in results}
        for page, _path in PAGES:
            without = names[f"customer list, {page}, none"]
            with_fields = names[f"customer list, {page}, 20 custom fields"]
            assert without["rows"] == with_fields["rows"] == 300
            assert with_fields["ratio"] == round(with_fields["p95_ms"] / without["p95_ms"], 3)
            for figures in (without, with_fields):   # both rounds' times together
                assert len(figures["p95s"]) == 2 and figures["runs"] == 4
                assert figures["queries"] > 0 and "times" not in figures
        table = (tmp_path / "customise-small-latest.md").read_text()
        assert "≤ 1.10x" in table
        if database:   # (the SQLite file goes with the script's folder)
            engine = create_engine(normalise_database_url(database))
            with engine.connect() as connection:
                assert connection.scalar(text("SELECT count(*) FROM core_custom_field")) == 0
                assert not [c for c in connection.scalars(text(
                    "SELECT column_name FROM information_schema.columns "
                    "WHERE table_name = 'crm_customer'")) if c.startswith("x_")]
                # (each round's copy, on which the fields were added, is dropped)
                assert not connection.scalars(text(
                    "SELECT datname FROM pg_database WHERE datname LIKE :copies"),
                    {"copies": "crm_bench_customise_test_round%"}).all()
            engine.dispose()
