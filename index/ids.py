"""The vector-id codec: how passage ids and article-field vector ids share one FAISS id space.

Article fields embedded with ``--embed-field`` (title, a subtitle...) are stored in the same FAISS
index as passages, under the id of the article's first passage with the field's number (1, 2...)
in the high bits; a match on one scores that first passage. Passage ids (SQLite row ids) stay far
below ``2**48``, so a plain passage id is its own vector id (field number 0).

Every encoder and decoder of these ids goes through this module (``index.writer`` writes them,
``search.searcher`` and ``search.admin`` read them).
"""

from __future__ import annotations

import numpy as np

FIELD_SHIFT = 48
PID_MASK = (1 << FIELD_SHIFT) - 1


def field_vector_id(first_pid: int, field_no: int) -> int:
    """The vector id of article field ``field_no`` (1-based) of the article whose first passage is ``first_pid``."""
    return int(first_pid) | (int(field_no) << FIELD_SHIFT)


def vector_passage_id(vector_id):
    """The passage id a vector id scores: itself for a passage vector, the article's first passage
    for a field vector. Takes an int or an int64 array (returns the same kind)."""
    if isinstance(vector_id, np.ndarray):
        return vector_id & PID_MASK
    return int(vector_id) & PID_MASK


def vector_field_no(vector_id):
    """The field number of a vector id: 0 for a passage vector, 1, 2... for ``--embed-field`` fields.
    Takes an int or an int64 array (returns the same kind)."""
    if isinstance(vector_id, np.ndarray):
        return vector_id >> FIELD_SHIFT
    return int(vector_id) >> FIELD_SHIFT
