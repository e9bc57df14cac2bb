"""Schemathesis against the OpenAPI document (/api/v1/openapi.json) of a served site:
every operation a read-and-write token of a contacts user may call, with generated
requests (valid and not), then stateful sequences that follow the document's links
(create, read, change with the ETag, delete). No request may end in a server error,
and every answer must match the document: its status, its content type, its body.

Its own command line runs it (it copes with a database whose state moves between
examples); the number of examples is bounded (CRM_FUZZ_EXAMPLES, default 15 per
operation) and the seed fixed, so that a run is repeatable and within CI's time."""
import os
import subprocess
import sys
from pathlib import Path

from tests.addons.crm_contacts.helpers import add_user, create_customer
from tests.addons.test_api import make_token
from tests.e2e.conftest import serve

EXAMPLES = os.environ.get("CRM_FUZZ_EXAMPLES", "15")
CHECKS = "not_a_server_error,status_code_conformance,content_type_conformance," \
         "response_schema_conformance"


def test_every_operation_answers_as_its_document_says(contacts_suite, tmp_path):
    sam = add_user(contacts_suite, "sam", "contacts_user")
    assert create_customer(sam, name="Acme", phone="021-5550001").status_code == 302
    key = make_token(sam, access="write")
    with serve(contacts_suite) as site:
        result = subprocess.run(
            [str(Path(sys.executable).parent / "schemathesis"), "--no-color", "run",
             f"{site}/api/v1/openapi.json", "--header", f"Authorization: Bearer {key}",
             "--checks", CHECKS, "--phases", "examples,fuzzing,stateful",
             "--max-examples", EXAMPLES, "--seed", "20261207", "--workers", "1",
             "--request-timeout", "30", "--report-dir", str(tmp_path)],
            capture_output=True, text=True, timeout=600, cwd=tmp_path)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-6000:]
    assert "Stateful" in output or "stateful" in output   # (the links were followed)
