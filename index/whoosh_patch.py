"""One fix to Whoosh 2.7.4's per-document reader, applied before any index is opened.

``W3PerDocReader._cached_reader`` caches the length-column readers it finds but not the fields that
have none (IDs, keywords, numerics), so every posting of such a field costs a filesystem ``stat``
while a segment is written or searched. Measured alone, caching the miss cuts Whoosh indexing CPU
by 15-25 % (bench/query_keyword.py).
Caching the miss is safe: a written segment's columns never change.
"""

from __future__ import annotations

_applied = False


def apply() -> None:
    global _applied
    if _applied:
        return
    from whoosh.codec.whoosh3 import W3PerDocReader

    def _cached_reader(self, fieldname, column):
        try:
            return self._readers[fieldname]
        except KeyError:
            reader = self.column_reader(fieldname, column) if self.has_column(fieldname) else None
            self._readers[fieldname] = reader
            return reader

    W3PerDocReader._cached_reader = _cached_reader
    _applied = True
