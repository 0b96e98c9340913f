"""The sealed module: the only code that holds pupil rows or the keys that decrypt them.

- ``keys``: the secrets in ``KLUIS_HOME/keys`` (pseudonymisation secret, key-encryption keys).
- ``pseudonym``: keyed HMAC-SHA256 pseudonyms for every ``rin``.
- ``ingest``: reading and validating a batch of input tables.
- ``store``: the encrypted, generation-based store with atomic swaps.
- ``link``: the linked tables the indicator engine (``engine``) counts in.

Only ``kansenkluis.pipeline`` (and tests) import this package.
"""
