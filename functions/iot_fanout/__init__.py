"""iot_fanout: SQS-triggered read-request fan-out (see handler.py)."""
