"""Disclosure control: turns exact aggregates into a safe, signed Release. Never sees rows."""
