"""When supply may be disconnected, and the low-balance thresholds (pure rules).

Disconnect only when the balance is below minus the emergency credit, outside
the protected windows (hours, weekdays and holidays in IST, from the state's
configuration) and not while a ticket disputing the balance is open. Reconnect
as soon as the balance is back above that threshold.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from functions.core.clock import IST


@dataclass(frozen=True)
class ProtectedWindows:
    # Never disconnect from 18:00 to 08:00 IST (the discoms' "no night disconnection").
    night_from_hour: int = 18
    night_to_hour: int = 8
    weekdays: frozenset[int] = frozenset({6})  # date.weekday(): Sunday
    holidays: frozenset[date] = field(default_factory=frozenset)

    def reason(self, moment: datetime) -> str | None:
        local = moment.astimezone(IST)
        if local.hour >= self.night_from_hour or local.hour < self.night_to_hour:
            return f"night ({self.night_from_hour:02d}:00-{self.night_to_hour:02d}:00 IST)"
        if local.weekday() in self.weekdays:
            return f"protected weekday ({local:%A})"
        if local.date() in self.holidays:
            return f"holiday ({local.date().isoformat()})"
        return None


@dataclass(frozen=True)
class Decision:
    disconnect: bool
    reason: str


def disconnect_decision(balance_paise: int, emergency_credit_paise: int, disputed: bool,
                        moment: datetime, windows: ProtectedWindows) -> Decision:
    if balance_paise >= -emergency_credit_paise:
        return Decision(False, "within emergency credit" if balance_paise < 0 else "in credit")
    if disputed:
        return Decision(False, "the balance is disputed (an open ticket)")
    protected = windows.reason(moment)
    if protected is not None:
        return Decision(False, f"protected window: {protected}")
    return Decision(True, "balance below the emergency credit")


def may_reconnect(balance_paise: int, emergency_credit_paise: int) -> bool:
    return balance_paise >= -emergency_credit_paise


DEFAULT_THRESHOLDS = (30, 10, 0)  # percent of the average monthly charge


def thresholds_below(balance_paise: int, reference_paise: int,
                     thresholds: tuple[int, ...] = DEFAULT_THRESHOLDS) -> set[int]:
    """The thresholds the balance is at or below (0% means an empty or negative balance)."""
    return {t for t in thresholds if balance_paise * 100 <= reference_paise * t}
