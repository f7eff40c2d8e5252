"""Payments, payment status and defaulters.

- provider.py     the payment-gateway interface (orders, signed webhooks)
- sandbox.py      the local sandbox gateway (both its merchant and gateway sides)
- secrets.py      the webhook secret (environment / Secrets Manager, never the repo)
- models.py       payments and payment_orders tables
- repositories.py small repositories, and the transaction that settles a bill
- service.py      paying a bill, webhooks, offline payments, outstanding balance
- overdue.py      mark_overdue(now): issued -> overdue with the late surcharge
- defaulters.py   the defaulters list and its CSV export

Other parts call: `PaymentService.default()`, `mark_overdue(now)`,
`list_defaulters(query, now)`, `webhook_secret()`.
"""
