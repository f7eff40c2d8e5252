"""Property-based API testing over the whole OpenAPI document (issue 18, item 4).

Schemathesis generates requests from /openapi.json, valid and invalid, for every operation,
as an anonymous caller, as a customer and as an admin, against a local stack of its own
(emulator, tables, queues and API on free ports, resource prefix ``iotbill-fuzz``), so the
tariffs, runs and server keys it creates never meet another test's data. Every response is
checked: no 5xx, status code documented, content type and (for valid requests) body
matching the documented schema.

    make test-fuzz                     # what `make test` runs (1 example: ~1,200 cases)
    FUZZ_EXAMPLES=200 make test-fuzz   # longer, locally

Prints the number of cases per role and a last line "<n> cases, <k> server errors,
<m> other failures"; exits 1 on any failure.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

DEFAULT_EXAMPLES = 1  # per operation, generation mode, path variant and role: ~1,200 cases (CI)


def configure_environment() -> None:
    """An emulator and resource prefix of our own, set before any project import."""
    from devstack.emulator import free_port

    os.environ.update({
        "APP_STAGE": "local",
        "RESOURCE_PREFIX": "iotbill-fuzz",
        "AWS_DEFAULT_REGION": "ap-south-1",
        # The emulator accepts any credentials; these are placeholders, not secrets.
        "AWS_ACCESS_KEY_ID": "fuzz",
        "AWS_SECRET_ACCESS_KEY": "fuzz",
        "AWS_ENDPOINT_URL": f"http://127.0.0.1:{free_port()}",
        "PORTAL_ORIGIN": "http://127.0.0.1:9",
        "POWERTOOLS_METRICS_NAMESPACE": "iot-billing-fuzz",
        "LOG_LEVEL": "ERROR",  # unhandled errors still show, with their traceback
    })
    os.environ.pop("AWS_PROFILE", None)


@dataclass
class Failure:
    role: str
    operation: str
    status: int
    check: str
    detail: str


@dataclass
class Report:
    cases: Counter[str] = field(default_factory=Counter)
    statuses: Counter[int] = field(default_factory=Counter)
    seconds: dict[str, float] = field(default_factory=dict)  # time in requests, by operation
    server_errors: list[Failure] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)

    def summary(self) -> str:
        return (f"{sum(self.cases.values())} cases, {len(self.server_errors)} server errors, "
                f"{len(self.failures)} other failures")


# Operations that would end the role's own session (the rest of the run would then test
# only the 401 path). They are still tested anonymously.
SESSION_ENDING = {"POST /auth/logout", "POST /auth/logout-all"}
# Local-only stand-ins for outside services (a payment gateway's pages, the mail outbox):
# not the product's API, so only checked for server errors.
STAND_INS = ("/sandbox-gateway/", "/sandbox-razorpay/", "/dev/",
             # an HTML page for the payer (its content type is not in the document)
             "/payments/checkout/")


def fuzz(base_url: str, tokens: dict[str, str | None], known: dict[str, str],
         examples: int, report: Report) -> None:
    import requests
    import schemathesis
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis.errors import Unsatisfiable
    from schemathesis import GenerationMode
    from schemathesis.checks import not_a_server_error
    from schemathesis.specs.openapi.checks import (
        content_type_conformance,
        response_headers_conformance,
        response_schema_conformance,
        status_code_conformance,
    )

    schema = schemathesis.openapi.from_url(f"{base_url}/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]  # type: ignore[union-attr]
    # response_headers_conformance: a 429 carries its documented Retry-After.
    positive_checks = [not_a_server_error, status_code_conformance, content_type_conformance,
                       response_schema_conformance, response_headers_conformance]
    # Invalid requests: no 5xx, documented status and content type. (Not schemathesis'
    # negative_data_rejection: it counts a request whose Authorization header it dropped
    # as invalid, and the role's header is always sent here.)
    negative_checks = [not_a_server_error, status_code_conformance, content_type_conformance,
                       response_headers_conformance]
    session = requests.Session()

    def exercise(strategy: Any, count: int, role: str, label: str, checks: list[Any]
                 ) -> Any:
        headers = {"Authorization": f"Bearer {tokens[role]}"} if tokens[role] else {}
        seen: set[str] = set()  # one report per operation, role, check and status

        @settings(max_examples=count, deadline=None, database=None, derandomize=True,
                  phases=[Phase.explicit, Phase.generate],
                  suppress_health_check=list(HealthCheck))
        @given(case=strategy)
        def run(case: Any) -> None:
            sent = time.monotonic()
            response = case.call(base_url=base_url, session=session, headers=dict(headers),
                                 timeout=30)
            report.seconds[label] = report.seconds.get(label, 0.0) + time.monotonic() - sent
            report.cases[role] += 1
            report.statuses[response.status_code] += 1
            try:
                case.validate_response(response, checks=checks)
            except (Exception, BaseExceptionGroup) as error:  # every check failure counts
                kind = type(error).__name__
                key = f"{kind}:{response.status_code}"
                if key in seen:
                    return
                seen.add(key)
                failure = Failure(role, label, response.status_code, kind,
                                  f"{str(error)[:600]}\n    {case.as_curl_command()[:600]}")
                if response.status_code >= 500:
                    report.server_errors.append(failure)
                else:
                    report.failures.append(failure)

        return run

    for role, token in tokens.items():
        for operation in operations:
            label = f"{operation.method.upper()} {operation.path}"
            if token and label in SESSION_ENDING:
                continue
            access = operation.definition.raw.get("x-access", "public")
            # Anonymous on a signed-in route is one path (401): a couple of cases suffice.
            count = max(2, examples // 2) if (token is None and access != "public") \
                else examples
            stand_in = operation.path.startswith(STAND_INS)
            names = [p.name for p in operation.path_parameters]
            variants: list[dict[str, Any]] = [{}]
            if names and all(name in known for name in names):
                variants.append({name: known[name] for name in names})
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
                checks = positive_checks if mode is GenerationMode.POSITIVE else negative_checks
                if stand_in:
                    checks = [not_a_server_error]
                for path_parameters in variants:
                    strategy = operation.as_strategy(generation_mode=mode,
                                                     path_parameters=path_parameters or None)
                    # Unsatisfiable: nothing to make invalid (no parameters, no body).
                    with contextlib.suppress(Unsatisfiable):
                        exercise(strategy, count, role, label, checks)()


def seed(base_url: str, admin_token: str, customer_token: str, customer_id: str
         ) -> dict[str, str]:
    """A few real objects, so valid requests also reach the code behind a found id."""
    import requests

    from device_client import crypto as meter_crypto
    from functions.core.billing_rules.fixtures import DERC_DOMESTIC_2019_20_JSON

    def call(token: str, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        response = requests.request(method, base_url + path, timeout=30,
                                    headers={"Authorization": f"Bearer {token}"}, **kwargs)
        assert response.status_code < 300, (path, response.status_code, response.text)
        return dict(response.json())

    prop = call(customer_token, "POST", "/properties", json={
        "line1": "1 Fuzz Marg", "city": "New Delhi", "state": "Delhi", "pincode": "110001",
        "category": "residential", "sanctioned_load_kw": "3"})
    ticket = call(customer_token, "POST", "/tickets", json={
        "subject": "Meter display is blank", "description": "Since Monday it shows nothing.",
        "category": "meter", "property_id": prop["property_id"]})
    call(admin_token, "POST", "/admin/tariffs", json=DERC_DOMESTIC_2019_20_JSON)
    key = meter_crypto.generate_private_key()
    meter = call(admin_token, "POST", "/admin/meters", json={
        "serial": "FUZZ-0001", "public_key": meter_crypto.public_key_b64(key), "model": "EM-1",
        "firmware": "1.0", "endpoint_url": "http://127.0.0.1:9/read",
        "initial_register_wh": 1000})
    return {"property_id": prop["property_id"], "ticket_id": ticket.get("ticket_id", "x"),
            "meter_id": meter["meter_id"], "user_id": customer_id, "category": "residential",
            "effective_from": str(DERC_DOMESTIC_2019_20_JSON["effective_from"]),
            "run_id": "2021-01"}


def main() -> int:
    configure_environment()
    examples = int(os.environ.get("FUZZ_EXAMPLES", DEFAULT_EXAMPLES))
    from devstack.api_server import ApiThread
    from devstack.emulator import Emulator
    from devstack.provision import provision
    from functions.core.accounts.sessions import issue_session
    from functions.core.settings import reload_settings
    from tests.fixtures.stack import create_user

    started = time.monotonic()
    emulator = Emulator(int(os.environ["AWS_ENDPOINT_URL"].rsplit(":", 1)[1])).start()
    api = None
    try:
        provision()
        from app import app

        api = ApiThread(app, port=0).start()
        os.environ["API_BASE_URL"] = api.url  # links and the sandbox payment gateway
        reload_settings()
        admin, customer = create_user("admin"), create_user("customer")
        tokens: dict[str, str | None] = {"anonymous": None, "customer": issue_session(customer),
                                         "admin": issue_session(admin)}
        known = seed(api.url, str(tokens["admin"]), str(tokens["customer"]), customer.user_id)
        report = Report()
        fuzz(api.url, tokens, known, examples, report)
    finally:
        if api is not None:
            api.stop()
        emulator.stop()
    for failure in report.server_errors + report.failures:
        print(f"FAIL [{failure.role}] {failure.operation} -> {failure.status} "
              f"({failure.check})\n    {failure.detail}")
    statuses = ", ".join(f"{code}: {n}" for code, n in sorted(report.statuses.items()))
    print(f"schemathesis: {examples} examples per operation, mode and role; "
          f"cases by role {dict(report.cases)}; statuses {{{statuses}}}; "
          f"{time.monotonic() - started:.0f} s")
    slowest = ", ".join(f"{label} {seconds:.1f} s"
                        for label, seconds in sorted(report.seconds.items(),
                                                     key=lambda item: -item[1])[:5])
    print(f"time in requests {sum(report.seconds.values()):.0f} s; slowest: {slowest}")
    print(report.summary())
    return 1 if report.server_errors or report.failures else 0


if __name__ == "__main__":
    sys.exit(main())
