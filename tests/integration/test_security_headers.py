"""Security headers (issue 18, item 3) from the API, from the local static server and from
CloudFront (the response headers policy in the resources template), alike."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from devstack.static_server import StaticSite
from frontend.headers import PORTAL_HEADERS
from infra.resources_template import render
from infra.stages import stage_config


def api_headers_ok(response: requests.Response) -> None:
    headers = response.headers
    where = f"{response.request.method} {response.url} -> {response.status_code}"
    assert headers.get("X-Content-Type-Options") == "nosniff", where
    assert headers.get("Cache-Control") == "no-store", where
    assert headers.get("Strict-Transport-Security", "").startswith("max-age="), where
    assert int(headers["Strict-Transport-Security"].split("=")[1].split(";")[0]) >= 31_536_000
    assert headers.get("X-Frame-Options") == "DENY", where
    assert "frame-ancestors 'none'" in headers.get("Content-Security-Policy", ""), where


def test_the_api_sends_security_headers_on_every_kind_of_answer(stack, customer, admin) -> None:
    _, as_customer = customer
    answers = [
        stack.api.get("/health"),                                    # public
        stack.api.get("/openapi.json"),
        as_customer.get("/me"),                                      # personal data
        as_customer.get("/bills"),
        admin[1].get("/admin/defaulters/csv"),                       # not JSON
        as_customer.get("/properties/prp_nobody"),                   # 404
        as_customer.post("/properties", json={"line1": ""}),         # 400
        as_customer.get("/admin/users"),                             # 403
        stack.api.get("/me"),                                        # 401, no session
        stack.api.get("/me", headers={"Authorization": "Bearer nope"}),
        as_customer.put("/health"),                                  # 405 from Chalice
    ]
    statuses = sorted({a.status_code for a in answers})
    assert {200, 400, 401, 403, 404, 405} <= set(statuses), statuses
    for answer in answers:
        api_headers_ok(answer)
    print(f"API answers checked: {len(answers)} (statuses {statuses})")


@pytest.fixture
def portal(tmp_path: Path) -> Iterator[str]:
    (tmp_path / "index.html").write_text("<!doctype html><title>portal</title>", "utf-8")
    (tmp_path / "static").mkdir()
    (tmp_path / "static" / "app.js").write_text("export {};\n", "utf-8")
    site = StaticSite(tmp_path, port=0).start()
    yield site.url
    site.stop()


def test_the_local_static_server_sends_the_portal_headers(portal: str) -> None:
    for path in ("/", "/index.html", "/static/app.js", "/missing.html"):
        response = requests.get(portal + path, timeout=10)
        csp = response.headers.get("Content-Security-Policy", "")
        assert "frame-ancestors 'none'" in csp, (path, response.headers)
        assert response.headers.get("X-Content-Type-Options") == "nosniff", path
        assert response.headers.get("X-Frame-Options") == "DENY", path
        assert response.headers.get("Referrer-Policy") == "no-referrer", path
        assert response.headers.get("Strict-Transport-Security", "").startswith("max-age=")
        for name, value in PORTAL_HEADERS.items():
            assert response.headers.get(name) == value, (path, name)


def test_the_portal_header_policy_leaves_the_api_origin_to_the_pages_meta_policy() -> None:
    """A header with default-src would also restrict connect-src and block the API (a
    request must satisfy both policies); the pages' <meta> names the API's origin."""
    directives = {d.split()[0] for d in PORTAL_HEADERS["Content-Security-Policy"].split(";")}
    assert "default-src" not in directives and "connect-src" not in directives
    assert {"frame-ancestors", "script-src", "object-src", "base-uri"} <= directives


def test_cloudfront_sends_the_same_headers_as_the_local_server() -> None:
    template = render(stage_config("dev"))
    resources = template["Resources"]
    behaviour = resources["SiteDistribution"]["Properties"]["DistributionConfig"][
        "DefaultCacheBehavior"]
    policy_id = behaviour["ResponseHeadersPolicyId"]
    assert isinstance(policy_id, dict), "a managed policy has no CSP (frame-ancestors)"
    policy = resources[policy_id["Ref"]]
    assert policy["Type"] == "AWS::CloudFront::ResponseHeadersPolicy"
    config = policy["Properties"]["ResponseHeadersPolicyConfig"]
    security = config["SecurityHeadersConfig"]
    assert security["ContentSecurityPolicy"]["ContentSecurityPolicy"] == \
        PORTAL_HEADERS["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in security["ContentSecurityPolicy"]["ContentSecurityPolicy"]
    assert security["ContentTypeOptions"]["Override"] is True  # X-Content-Type-Options: nosniff
    assert security["FrameOptions"]["FrameOption"] == PORTAL_HEADERS["X-Frame-Options"]
    assert security["ReferrerPolicy"]["ReferrerPolicy"] == PORTAL_HEADERS["Referrer-Policy"]
    hsts = security["StrictTransportSecurity"]
    assert f"max-age={hsts['AccessControlMaxAgeSec']}; includeSubDomains" == \
        PORTAL_HEADERS["Strict-Transport-Security"] and hsts["IncludeSubdomains"] is True
    custom = {item["Header"]: item["Value"] for item in config["CustomHeadersConfig"]["Items"]}
    assert custom == {"Permissions-Policy": PORTAL_HEADERS["Permissions-Policy"]}
    assert all(v["Override"] for v in security.values())
