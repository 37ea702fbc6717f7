"""Read a claims index: open read-only, parse queries, rank, fuse, cluster and format hits.

Nothing in this package imports a writer from ``index`` (``index.records``, ``index.errors``,
``index.manifest`` readers and ``index.embed`` for query vectors are read-side helpers).
"""
