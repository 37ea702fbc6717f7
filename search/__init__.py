"""Read a claims index: open read-only, parse queries, rank, fuse, cluster and format hits.

Formats are read through ``index`` (manifest, ``catalog_reader``, ``vector_store``, ``ids``,
``impact_format``, ``analysis``; ``index.embed`` for query vectors); nothing in this package imports
a writer (``index.writer``, ``index.ingest``, ``index.catalog``, ``index.vectors``...:
``tests/unit/test_layers.py``).
"""
