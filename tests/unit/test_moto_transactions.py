"""The local emulator's DynamoDB transactions, with devstack/moto_patches.py: a
transaction that commits, or one that a condition cancels, leaves the tables as real
DynamoDB would (all of its writes, or none), and a cancelled one no longer copies whole
tables (the copy held the emulator's lock for seconds once the tables were large)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from devstack.moto_patches import serialize_dynamodb


@pytest.fixture
def table() -> Iterator[tuple[Any, str]]:
    from moto.dynamodb.models import dynamodb_backends

    serialize_dynamodb()
    backend = dynamodb_backends["123456789012"]["ap-south-1"]
    name = f"transactions-{uuid.uuid4().hex[:8]}"
    backend.create_table(name, schema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                         throughput=None, attr=[{"AttributeName": "pk", "AttributeType": "S"}],
                         global_indexes=None, indexes=None, streams=None,
                         billing_mode="PAY_PER_REQUEST", sse_specification=None, tags=[],
                         deletion_protection_enabled=False, warm_throughput=None)
    for pk in ("A", "B"):
        backend.put_item(name, {"pk": {"S": pk}, "x": {"N": "1"}})
    yield backend, name
    backend.delete_table(name)


def x_of(backend: Any, name: str, pk: str) -> str | None:
    item = backend.get_item(name, {"pk": {"S": pk}})
    return None if item is None else item.to_json()["Attributes"]["x"]["N"]


def set_x(name: str, pk: str, value: str, condition: str) -> dict[str, Any]:
    return {"Update": {"TableName": name, "Key": {"pk": {"S": pk}},
                       "UpdateExpression": "SET x = :v", "ConditionExpression": condition,
                       "ExpressionAttributeValues": {":v": {"N": value}}}}


def put_new(name: str, pk: str) -> dict[str, Any]:
    return {"Put": {"TableName": name, "Item": {"pk": {"S": pk}, "x": {"N": "7"}},
                    "ConditionExpression": "attribute_not_exists(pk)"}}


def cancel_reasons(backend: Any, items: list[dict[str, Any]]) -> list[str]:
    """The CancellationReasons' codes, as the API answers them."""
    from moto.dynamodb.exceptions import TransactionCanceledException

    with pytest.raises(TransactionCanceledException) as cancelled:
        backend.transact_write_items(items)
    body = json.loads(cancelled.value.description)
    return [reason["Code"] for reason in body["CancellationReasons"]]


def test_a_cancelled_transaction_writes_nothing(table) -> None:
    backend, name = table
    # The update of A holds and runs first; the put of B (which exists) fails.
    reasons = cancel_reasons(backend, [set_x(name, "A", "2", "attribute_exists(pk)"),
                                       put_new(name, "C"), put_new(name, "B")])

    assert reasons == ["None", "None", "ConditionalCheckFailed"]
    assert (x_of(backend, name, "A"), x_of(backend, name, "B")) == ("1", "1")
    assert x_of(backend, name, "C") is None  # the new item is gone again


def test_a_transaction_whose_conditions_hold_writes_everything(table) -> None:
    backend, name = table
    backend.transact_write_items([set_x(name, "A", "2", "x = :v OR attribute_exists(pk)"),
                                  put_new(name, "C"),
                                  {"Delete": {"TableName": name, "Key": {"pk": {"S": "B"}}}}])

    assert (x_of(backend, name, "A"), x_of(backend, name, "B"), x_of(backend, name, "C")) == (
        "2", None, "7")


def test_a_cancelled_transaction_copies_no_whole_table(table, monkeypatch) -> None:
    from moto.dynamodb import models
    from moto.dynamodb.models.table import Table

    backend, name = table
    copied: list[str] = []
    real_copy = models.copy.deepcopy

    def watching(value: Any, *args: Any) -> Any:
        if isinstance(value, Table):
            copied.append(value.name)
        return real_copy(value, *args)

    monkeypatch.setattr(models.copy, "deepcopy", watching)
    cancel_reasons(backend, [set_x(name, "A", "2", "attribute_exists(pk)"), put_new(name, "B")])

    assert copied == []
    assert x_of(backend, name, "A") == "1"
