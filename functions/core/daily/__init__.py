"""Daily reads (issue 24): a daily cycle on the billing runs' sharded fan-out asks every
active meter for its 00:00 IST daily snapshot; one item per meter-day is kept for the
configured retention; prepaid connections are debited from them."""
