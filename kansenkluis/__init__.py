"""Kansenkluis: a sealed pipeline for the Gelijke Kansen indicators."""

__version__ = "0.1.0"
