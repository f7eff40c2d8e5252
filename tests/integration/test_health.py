from __future__ import annotations

from devstack.provision import provision
from functions.core.aws import client
from functions.core.resources import QUEUES, TABLES, table


def test_health_reports_every_table_and_queue_ok(stack):
    response = stack.api.get("/health")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "ok"
    assert set(body["tables"]) == {t.logical for t in TABLES}
    assert set(body["queues"]) == {q.logical for q in QUEUES} | {f"{q.logical}-dlq" for q in QUEUES}
    assert all(state == "ok" for state in body["tables"].values())


def test_health_is_503_when_a_table_is_missing(stack):
    client("dynamodb").delete_table(TableName=table("rate_limits").physical())
    try:
        response = stack.api.get("/health")
        assert response.status_code == 503
        assert response.json()["tables"]["rate_limits"].startswith("down")
        assert response.json()["tables"]["users"] == "ok"
    finally:
        provision()
    assert stack.api.get("/health").status_code == 200


def test_openapi_describes_the_routes(stack):
    doc = stack.api.get("/openapi.json").json()
    assert doc["openapi"].startswith("3.")
    assert "/health" in doc["paths"]


def test_unknown_route_is_not_a_500(stack):
    assert stack.api.get("/no-such-route").status_code in (403, 404)
