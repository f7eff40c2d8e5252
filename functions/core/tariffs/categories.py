"""Property categories as data: an admin adds the categories the state's tariff
order has (residential, commercial, industrial, agricultural, ...).

`residential` and `commercial` always exist (the defaults every seed and older
property uses); others are items of the tariffs table under the partition key
"categories" (one query lists them all: a handful of items, never per meter),
the category name as range key. A category name is a short lowercase key, so
no category's versions can share that partition ("categories" is reserved) or
the catalog items' ("catalog#...").

A property's category must exist (properties.service checks it with one
GetItem); a tariff version's too. A category with tariff versions cannot be
deleted (delete the versions, or keep it).
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from pynamodb.attributes import UnicodeAttribute, UTCDateTimeAttribute
from pynamodb.exceptions import DeleteError, DoesNotExist, PutError
from pynamodb.models import Model

from functions.core.billing_rules.tariff import Category
from functions.core.clock import utcnow
from functions.core.db import registered, table_meta
from functions.core.errors import Conflict, InvalidInput, NotFound

PARTITION = "categories"
NAME = re.compile(r"[a-z][a-z0-9_]{1,39}")  # the pattern of billing_rules.tariff.Category
DEFAULTS: dict[str, str] = {"residential": "Residential", "commercial": "Commercial"}


@registered
class CategoryRecord(Model):
    Meta = table_meta("tariffs")

    category = UnicodeAttribute(hash_key=True, default=PARTITION)  # always "categories"
    effective_from = UnicodeAttribute(range_key=True)  # the category's name
    label = UnicodeAttribute()
    description = UnicodeAttribute(null=True)
    created_at = UTCDateTimeAttribute()
    created_by = UnicodeAttribute(null=True)


Label = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=60)]


class NewCategory(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Category = Field(description="lowercase key, e.g. industrial")
    label: Label
    description: Annotated[str, StringConstraints(strip_whitespace=True,
                                                  max_length=300)] | None = None


class CategoryView(BaseModel):
    name: str
    label: str
    description: str | None = None
    default: bool = Field(description="residential and commercial: always there")
    created_at: datetime | None = None


class CategoryService:
    def list(self) -> list[CategoryView]:
        stored = {r.effective_from: r for r in CategoryRecord.query(PARTITION)}
        views = [CategoryView(name=n, label=label, default=True) for n, label in DEFAULTS.items()]
        views += [CategoryView(name=r.effective_from, label=r.label, description=r.description,
                               default=False, created_at=r.created_at)
                  for name, r in sorted(stored.items()) if name not in DEFAULTS]
        return views

    def exists(self, name: str) -> bool:
        """One GetItem (none for a default or a name no category can have)."""
        if name in DEFAULTS:
            return True
        if not NAME.fullmatch(name) or name == PARTITION:
            return False
        try:
            CategoryRecord.get(PARTITION, name)
        except DoesNotExist:
            return False
        return True

    def require(self, name: str) -> None:
        if not self.exists(name):
            message = (f"no category named {name!r}; an administrator adds categories "
                       "at /admin/tariff-categories")
            raise InvalidInput(f"category: {message}",
                               details=[{"field": "category", "message": message}])

    def create(self, body: NewCategory, created_by: str | None) -> CategoryView:
        if body.name in DEFAULTS or body.name == PARTITION:
            raise Conflict(f"The category {body.name!r} exists already.")
        record = CategoryRecord(category=PARTITION, effective_from=body.name, label=body.label,
                                description=body.description, created_at=utcnow(),
                                created_by=created_by)
        try:
            record.save(condition=CategoryRecord.effective_from.does_not_exist())
        except PutError as error:
            if error.cause_response_code == "ConditionalCheckFailedException":
                raise Conflict(f"The category {body.name!r} exists already.") from error
            raise
        return CategoryView(name=body.name, label=body.label, description=body.description,
                            default=False, created_at=record.created_at)

    def delete(self, name: str, has_versions: bool) -> None:
        if name in DEFAULTS:
            raise Conflict(f"{name!r} is a default category and cannot be deleted.")
        if has_versions:
            raise Conflict(f"The category {name!r} has tariff versions; delete them first.")
        if not NAME.fullmatch(name) or name == PARTITION:
            raise NotFound("No such category.")
        try:
            CategoryRecord(category=PARTITION, effective_from=name).delete(
                condition=CategoryRecord.effective_from.exists())
        except DeleteError as error:
            if error.cause_response_code == "ConditionalCheckFailedException":
                raise NotFound("No such category.") from error
            raise
