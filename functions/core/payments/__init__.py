"""Payments, payment status and defaulters.

- provider.py     the payment-gateway interface (orders, signed webhooks)
- sandbox.py      the local sandbox gateway (both its merchant and gateway sides)
- secrets.py      the webhook secret (environment / Secrets Manager, never the repo)
- models.py       payments and payment_orders tables
- repositories.py small repositories, and the transaction that settles a bill
- service.py      paying a bill, webhooks, offline payments, outstanding balance
- overdue.py      the overdue sweep: start_sweep(now) queues a step per shard;
                  OverdueSweep.handle(step) marks one page issued -> overdue (surcharge)
- defaulters.py   the defaulters list (payers' arrears items, a page at a time), one
                  payer's overdue bills, and the CSV export page by page

Other parts call: `PaymentService.default()`, `start_sweep(now)`, `OverdueSweep`,
`list_defaulters(query, now)`, `webhook_secret()`.
"""
