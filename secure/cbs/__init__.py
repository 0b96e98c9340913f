"""The CBS remote-access layout of ``kluis ingest --layout cbs`` (docs/cbs-layout.md)."""

from secure.cbs.mapping import CbsMapping, load_mapping
from secure.cbs.source import CbsSource

__all__ = ["CbsMapping", "CbsSource", "load_mapping"]
