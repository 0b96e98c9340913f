"""The narrow API (FastAPI): serves releases, factsheets and aggregate requests, never microdata."""
