"""Bills: the record (models.py), its repository and the bill service.

Other parts use `BillRecord`, `BillRepository` (get, for_payer, for_property,
with_status, mark_paid, mark_overdue) and the status constants in models.py.
"""
