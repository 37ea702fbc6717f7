"""Build and write a claims index: sources -> articles -> passages -> catalog + Whoosh + FAISS.

This package also owns the on-disk format that ``search`` reads through it: the manifest, the
catalog schema and its reader (``catalog_reader``), the vector store (``vector_store``) and its id
codec (``ids``), the impact arrays (``impact_format``), the analyzer and the Whoosh patch. Nothing
here imports ``search`` (``tests/unit/test_layers.py``).
"""
