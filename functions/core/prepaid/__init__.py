"""Prepaid connections (issue 24): payment mode, the append-only ledger, recharges,
daily debits, low-balance alerts and the disconnect/reconnect policy."""
