"""Pure billing rules: tariffs and pricing, billing periods, reading validation,
estimates and true-up, splitting a bill between occupants. No I/O.

Money and its rounding rule: functions/core/money.py.
"""

from functions.core.billing_rules.errors import (
    BillingRuleError,
    InvalidOccupancy,
    InvalidPeriod,
    TariffNotFound,
)
from functions.core.billing_rules.estimates import (
    TrueUp,
    credit_amount,
    estimate_units,
    true_up,
)
from functions.core.billing_rules.occupancy import BillShare, OccupancySpan, split_by_days
from functions.core.billing_rules.periods import (
    BillingPeriod,
    PeriodText,
    due_date,
    format_ist,
    format_ist_date,
    is_overdue,
    ist_date,
    parse_period,
    period_of,
    to_ist,
)
from functions.core.billing_rules.readings import (
    MeterReplacement,
    ReadingCheck,
    ReadingReason,
    ReadingStatus,
    RegisterReading,
    SpikePolicy,
    kwh,
    validate_reading,
)
from functions.core.billing_rules.tariff import (
    EnergySlab,
    FlatCharge,
    LineItem,
    LoadSlab,
    PercentageCharge,
    PricedBill,
    TariffVersion,
    Usage,
    late_payment_surcharge,
    price,
    price_period,
    select_tariff,
)

__all__ = [
    "BillShare",
    "BillingPeriod",
    "BillingRuleError",
    "EnergySlab",
    "FlatCharge",
    "InvalidOccupancy",
    "InvalidPeriod",
    "LineItem",
    "LoadSlab",
    "MeterReplacement",
    "OccupancySpan",
    "PercentageCharge",
    "PeriodText",
    "PricedBill",
    "ReadingCheck",
    "ReadingReason",
    "ReadingStatus",
    "RegisterReading",
    "SpikePolicy",
    "TariffNotFound",
    "TariffVersion",
    "TrueUp",
    "Usage",
    "credit_amount",
    "due_date",
    "estimate_units",
    "format_ist",
    "format_ist_date",
    "is_overdue",
    "ist_date",
    "kwh",
    "late_payment_surcharge",
    "parse_period",
    "period_of",
    "price",
    "price_period",
    "select_tariff",
    "split_by_days",
    "to_ist",
    "true_up",
    "validate_reading",
]
