"""Build and write a claims index: sources -> articles -> passages -> catalog + Whoosh + FAISS.

This package also owns the on-disk format that ``search`` reads through it: the manifest, the
catalog schema and its reader (``catalog_reader``), the vector store (``vector_store``) and its id
codec (``ids``), the impact arrays (``impact_format``), the analyzer and the Whoosh patch. Nothing
here imports ``search`` (``tests/unit/test_layers.py``).
"""

import os as _os

# OpenMP threads (torch's intra-op pool, FAISS) sleep when idle instead of spinning. Ingest embeds on
# both cores while spaCy extracts in a thread beside it; spinning OpenMP workers burned ~20 % more CPU
# than the work itself there (bench/ingest.py, OMP_WAIT_POLICY unset vs PASSIVE). Read once, when the
# OpenMP runtime loads (the first ``import torch``): set here, before any module of this package
# imports it; a value in the environment wins.
_os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
