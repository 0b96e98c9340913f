"""Attack tests: an independent attacker tries to recover withheld figures from releases."""
