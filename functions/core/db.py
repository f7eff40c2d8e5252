"""pynamodb plumbing: every model takes its table name, endpoint and region
from Settings, so the same models talk to AWS or to the local emulator."""

from __future__ import annotations

from typing import Any, TypeVar

from pynamodb.exceptions import TransactWriteError
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model

from functions.core.resources import table
from functions.core.settings import get_settings

_MODELS: list[type[Model]] = []
M = TypeVar("M", bound=type[Model])


def table_meta(logical: str) -> Any:
    """A pynamodb ``Meta`` for the table defined in resources.py."""
    settings = get_settings()

    class Meta:
        table_name = table(logical).physical(settings)
        region = settings.aws_region
        host = settings.endpoint_for("dynamodb")
        billing_mode = "PAY_PER_REQUEST"

    Meta.logical_name = logical  # type: ignore[attr-defined]
    return Meta


def gsi_meta(name: str) -> Any:
    class Meta:
        index_name = name
        projection = AllProjection()

    return Meta


def registered(model: M) -> M:
    """Class decorator: remember the model so ``bind_models`` can re-point it."""
    _MODELS.append(model)
    return model


def bind_models() -> None:
    """Re-read Settings into every model (tests and the launcher change the env)."""
    settings = get_settings()
    for model in _MODELS:
        meta: Any = model.Meta
        meta.table_name = table(meta.logical_name).physical(settings)
        meta.region = settings.aws_region
        meta.host = settings.endpoint_for("dynamodb")
        model._connection = None
        for attr in vars(model).values():
            if isinstance(attr, GlobalSecondaryIndex):
                attr._connection = None  # type: ignore[attr-defined]


def cancellation_codes(error: TransactWriteError) -> list[str | None]:
    """Why each item of a cancelled transaction failed, in the transaction's order
    (None where an item did not fail): "ConditionalCheckFailed", "TransactionConflict"..."""
    return [reason.code if reason else None for reason in (error.cancellation_reasons or [])]


def failed_condition(error: TransactWriteError, index: int = 0) -> bool:
    """Whether the transaction's item at `index` failed its condition (e.g. a put
    "once only" that found its item there already)."""
    codes = cancellation_codes(error)
    return index < len(codes) and codes[index] == "ConditionalCheckFailed"
