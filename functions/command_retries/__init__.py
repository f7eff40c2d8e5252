"""command_retry_sweep: the scheduled retry of relay commands not acknowledged."""
