"""The eight Gelijke Kansen indicators: declarative specs and a plain reference engine."""
