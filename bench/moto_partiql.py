"""An emulator-only shortcut for the billing function's tenancy read.

moto answers every PartiQL statement by serialising every item of every table
and handing them to its PartiQL parser: at bench sizes one SELECT took 50-300 ms
under the DynamoDB lock and stalled the whole run. The billing function only
ever sends ``SELECT * FROM "<table>" WHERE "<hash key>" = ? OR ...`` (a keyed
read in DynamoDB); this answers exactly that shape from the one table named,
and leaves every other statement to moto.
"""

from __future__ import annotations

import re
from typing import Any

_KEYED_SELECT = re.compile(
    r'\s*SELECT \* FROM "(?P<table>[^"]+)" WHERE (?P<where>"[^"]+" = \?(?: OR "[^"]+" = \?)*)\s*',
    re.IGNORECASE)


def keyed_partiql_select() -> None:
    from moto.dynamodb.models import DynamoDBBackend

    original = DynamoDBBackend.execute_statement

    def execute_statement(self: Any, statement: str, parameters: list[dict[str, Any]]
                          ) -> list[dict[str, Any]]:
        match = _KEYED_SELECT.fullmatch(statement)
        table = self.tables.get(match["table"]) if match else None
        if match is None or table is None:
            return original(self, statement, parameters)
        names = set(re.findall(r'"([^"]+)" = \?', match["where"]))
        if names != {table.hash_key_attr} or len(parameters) != match["where"].count("?"):
            return original(self, statement, parameters)
        wanted = [next(iter(p.values())) for p in parameters]
        return [item.to_json()["Attributes"] for item in table.all_items()
                if item.attrs.get(table.hash_key_attr) is not None
                and item.attrs[table.hash_key_attr].value in wanted]

    DynamoDBBackend.execute_statement = execute_statement  # type: ignore[method-assign]
