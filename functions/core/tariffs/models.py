"""Tariff versions in DynamoDB: (category, effective_from) -> the version.

The version itself is stored as the JSON of billing_rules.TariffVersion, so the
pure pricing rules and the stored tariff cannot drift apart. A version that has
priced a bill is locked (`locked_at`): never edited or deleted again, only
superseded by a version that takes effect later.

Beside the versions, each category has a catalog item (TariffCatalogRecord, in
the same table under its own partition key, so no query of a category's
versions sees it): `revision` counts the writes of the category's versions and
`locks` the times billing locked one. Billing locks a version only if the
catalog's revision is the one it loaded its cached list at, and creating a
version requires `locks` unchanged since the create checked the latest billed
period: a stale cache can never price a period, and a version can never slip
in before a period being billed (see tariffs.service).
"""

from __future__ import annotations

from pynamodb.attributes import NumberAttribute, UnicodeAttribute, UTCDateTimeAttribute
from pynamodb.models import Model

from functions.core.billing_rules.tariff import TariffVersion
from functions.core.db import registered, table_meta


@registered
class TariffRecord(Model):
    Meta = table_meta("tariffs")

    category = UnicodeAttribute(hash_key=True)  # residential | commercial
    effective_from = UnicodeAttribute(range_key=True)  # "YYYY-MM-DD" (IST calendar date)
    name = UnicodeAttribute()
    definition = UnicodeAttribute()  # TariffVersion as JSON
    revision = NumberAttribute(default=1)  # +1 on every edit (before it is locked)
    created_at = UTCDateTimeAttribute()
    created_by = UnicodeAttribute(null=True)
    updated_at = UTCDateTimeAttribute(null=True)
    # Set when the version first priced a bill; from then on it is read-only.
    locked_at = UTCDateTimeAttribute(null=True)
    # The latest billing period it priced (a newer version must start after it).
    last_priced_period = UnicodeAttribute(null=True)

    @property
    def version_id(self) -> str:
        return version_id(self.category, self.effective_from)

    def version(self) -> TariffVersion:
        """The parsed version (parsed once per record and definition: billing selects
        the version of every bill from the cached records)."""
        cached = self.__dict__.get("_parsed")
        if cached is None or cached[0] != self.definition:
            cached = (self.definition, TariffVersion.model_validate_json(self.definition))
            self.__dict__["_parsed"] = cached
        return cached[1]


CATALOG_KEY_PREFIX = "catalog#"
CATALOG_RANGE_KEY = "-"


@registered
class TariffCatalogRecord(Model):
    """Per category: how many times its versions were written, and how many
    times billing locked one (see the module docstring)."""

    Meta = table_meta("tariffs")

    category = UnicodeAttribute(hash_key=True)  # "catalog#<category>"
    effective_from = UnicodeAttribute(range_key=True, default=CATALOG_RANGE_KEY)
    revision = NumberAttribute(null=True)  # +1 on every create, edit or delete of a version
    locks = NumberAttribute(null=True)  # +1 each time billing locks a version for a period

    @classmethod
    def key_for(cls, category: str) -> TariffCatalogRecord:
        return cls(category=CATALOG_KEY_PREFIX + category, effective_from=CATALOG_RANGE_KEY)


def version_id(category: str, effective_from: str) -> str:
    """How a bill names the tariff version that priced it: "residential@2019-08-01"."""
    return f"{category}@{effective_from}"
