"""The ``kalshi-amend`` command: amend one resting order from the shell."""
