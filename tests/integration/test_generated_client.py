"""A client generated from the API's own /openapi.json signs in, lists the customer's bills
and fetches and downloads one (its PDF) from the local stack (issue 22 item 5): the document
is good enough for an integrator to build on.

The client is generated at test time (openapi-python-client, pinned in
requirements-dev.txt; a few seconds) into a temporary directory, never committed: the test
always uses the document the running API serves.
"""

from __future__ import annotations

import importlib
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import httpx
import pytest

from functions.core.passwords import hash_password
from tests.fixtures.stack import Stack, create_user
from tests.integration.payments_support import make_bill

GENERATOR = Path(sys.executable).with_name("openapi-python-client")
PACKAGE = "billing_api_client"
# No post-generation hooks (it would run ruff format on the generated code: not needed).
CONFIG = f"post_hooks: []\npackage_name_override: {PACKAGE}\n"


@pytest.fixture(scope="module")
def client_package(stack: Stack, tmp_path_factory: pytest.TempPathFactory
                   ) -> Iterator[ModuleType]:
    out = tmp_path_factory.mktemp("generated")
    spec, config = out / "openapi.json", out / "config.yaml"
    response = stack.api.get("/openapi.json")
    assert response.status_code == 200
    spec.write_text(response.text)
    config.write_text(CONFIG)
    result = subprocess.run(
        [str(GENERATOR), "generate", "--path", str(spec), "--meta", "none",
         "--output-path", str(out / PACKAGE), "--config", str(config)],
        capture_output=True, text=True, timeout=180, check=False)
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
    sys.path.insert(0, str(out))
    try:
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(out))
        for name in [name for name in sys.modules if name.split(".")[0] == PACKAGE]:
            del sys.modules[name]


def test_a_generated_client_signs_in_lists_bills_and_fetches_one(
        stack: Stack, client_package: ModuleType, fresh_rate_limits: None) -> None:
    password = "generated-client-passphrase-7"
    user = create_user("customer", password_hash=hash_password(password))
    bill = make_bill(user.user_id, total="1380.00")

    password_login = importlib.import_module(f"{PACKAGE}.api.accounts.password_login")
    my_bills = importlib.import_module(f"{PACKAGE}.api.bills.my_bills")
    bill_detail = importlib.import_module(f"{PACKAGE}.api.bills.bill_detail")
    bill_pdf = importlib.import_module(f"{PACKAGE}.api.bills.bill_pdf")
    models = importlib.import_module(f"{PACKAGE}.models")

    anonymous = client_package.Client(base_url=stack.api.base_url)
    login = password_login.sync(client=anonymous, body=models.PasswordLoginBody(
        email=user.email, password=password))
    assert isinstance(login, models.LoginOut) and login.token, login

    signed_in = client_package.AuthenticatedClient(base_url=stack.api.base_url,
                                                   token=login.token)
    page = my_bills.sync(client=signed_in)
    assert isinstance(page, models.MyBillList) and page.cursor is None, page
    assert [summary.bill_id for summary in page.bills] == [bill.bill_id]
    assert isinstance(page.bills[0], models.BillSummary) and page.bills[0].total == "1380.00"

    detail = bill_detail.sync(client=signed_in, bill_id=bill.bill_id)
    assert isinstance(detail, models.BillDetail), detail
    assert (detail.bill_id, detail.total, detail.period) == (bill.bill_id, "1380.00", "2026-10")

    # Download it: the PDF's short-lived URL, fetched with the client's own HTTP library.
    link = bill_pdf.sync(client=signed_in, bill_id=bill.bill_id)
    assert isinstance(link, models.PdfLink) and link.expires_in > 0, link
    pdf = httpx.get(link.url, timeout=60)
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF-"), pdf.status_code

    # Errors come back typed too: the one ErrorBody of the document.
    missing = bill_detail.sync(client=signed_in, bill_id="BILL-nobody-2026-10")
    assert isinstance(missing, models.ErrorBody) and missing.error == "not_found"
    wrong = password_login.sync(client=anonymous, body=models.PasswordLoginBody(
        email=user.email, password="not-the-password"))
    assert isinstance(wrong, models.ErrorBody) and wrong.error == "unauthorized"
