"""The Whoosh schema and the English analyzer for passages (shared by the writer and the query parser).

Military text is full of designators: ``MiG-31``, ``S-400``, ``9M723``, ``HIMARS``, ``155mm``.
At index time a designator yields the whole token (``mig-31``), its joined form (``mig31``) and its
parts (``mig``, ``31``), all at one position (Elasticsearch's ``word_delimiter`` with
``preserve_original``), so it is findable as a whole and by its parts and phrases still line up.
At query time only the whole token is produced, so ``MiG-31`` matches exactly ``MiG-31`` /
``Mig-31`` and not every ``31``. Plain words are lowercased, stop-filtered and Porter-stemmed.
"""

from __future__ import annotations

import re
from functools import lru_cache

from whoosh import columns, fields
from whoosh.analysis import STOP_WORDS, Filter, LowercaseFilter, RegexTokenizer, StopFilter
from whoosh.lang.porter import stem as porter_stem

# A token: letters/digits, with inner hyphens, slashes, dots or apostrophes (MiG-31, 24/7, U.S., Russia's).
TOKEN_PATTERN = r"\w+(?:[-‐‑/.'’]\w+)*"
_POSSESSIVE = re.compile(r"['’]s$")
_SPLIT = re.compile(r"[-‐‑/.'’]|(?<=[a-z])(?=\d)|(?<=\d)(?=[a-z])")
_COMPOUND = re.compile(r"[-‐‑/.'’]|[a-z]\d|\d[a-z]")


class CompoundFilter(Filter):
    """Index designators whole, joined and by parts at one position; query them whole.

    Runs after stop filtering and stemming, so the extra tokens keep the position of the whole
    token; alphabetic parts are stemmed like plain words, stop-word and one-letter parts dropped.
    """

    def __eq__(self, other):
        return other.__class__ is self.__class__

    def __call__(self, tokens):
        for t in tokens:
            text = t.text
            yield t
            if t.mode == "query" or t.stopped or not _COMPOUND.search(text):
                continue
            parts = [p for p in _SPLIT.split(text) if p]
            joined = "".join(parts)
            if joined != text:
                t.text = joined
                yield t
            for part in parts:
                if part.isalpha():
                    if len(part) == 1 or part in STOP_WORDS:
                        continue
                    part = _stem(part)
                t.text = part
                yield t


class _Possessive(Filter):
    """``Russia's`` -> ``russia``: the possessive is not part of the name."""

    def __call__(self, tokens):
        for t in tokens:
            t.text = _POSSESSIVE.sub("", t.text)
            yield t


class _StemWords(Filter):
    """Porter stemming for plain words only: designators and numbers keep their exact form."""

    def __eq__(self, other):
        return other.__class__ is self.__class__

    def __call__(self, tokens):
        for t in tokens:
            if not t.stopped and t.text.isalpha():
                t.text = _stem(t.text)
            yield t


# Module-level (not a filter attribute) because Whoosh pickles the analyzer inside the index.
_stem = lru_cache(maxsize=200_000)(porter_stem)


def claim_analyzer():
    """Tokenizer + lowercase + English stop words + Porter stems + compound designators."""
    return (
        RegexTokenizer(TOKEN_PATTERN)
        | LowercaseFilter()
        | _Possessive()
        | StopFilter(minsize=1)
        | _StemWords()
        | CompoundFilter()
    )


def build_schema() -> fields.Schema:
    """The passage schema.

    ``passage_id`` (unique, stored) is the join key with the catalog; ``pid`` is the same id as a
    column only (not searchable), so hits and filters turn into passage ids without loading stored
    fields; ``gen`` is the generation that added the document (crash recovery removes uncommitted
    ones), one term per value (Whoosh's default numeric trie writes 16 terms per 64-bit value);
    ``title`` is boosted (BM25F field weight).
    """
    analyzer = claim_analyzer()
    schema = fields.Schema(
        passage_id=fields.ID(stored=True, unique=True),
        pid=fields.COLUMN(columns.NumericColumn("q")),
        article_id=fields.ID(),
        gen=fields.NUMERIC(bits=32, shift_step=32),
        text=fields.TEXT(analyzer=analyzer, phrase=True),
        title=fields.TEXT(analyzer=analyzer, phrase=True, field_boost=1.5),
        # Article fields named with ``--embed-field`` other than the title (a dek, a summary).
        context=fields.TEXT(analyzer=analyzer, phrase=False, field_boost=0.5),
        source=fields.KEYWORD(lowercase=True, commas=False, scorable=False),
        source_id=fields.ID(),
        date=fields.DATETIME(),
        url=fields.ID(),
    )
    # Metadata: one dynamic field per key, ``m_<key>``, comma-separated keyword lists
    # (``keywords: "NATO, MH17"`` -> ``nato``, ``mh17``). Dynamic, because Whoosh cannot add a field
    # to a writer that already holds documents; queries say ``language:Russian`` through aliases.
    schema.add(f"{METADATA_PREFIX}*", fields.KEYWORD(lowercase=True, commas=True, scorable=False), glob=True)
    return schema


METADATA_PREFIX = "m_"


def metadata_key(key: str) -> str:
    """The name users type for a metadata key (``--where KEY=...``, ``KEY:value``)."""
    return re.sub(r"\W+", "_", str(key).strip().lower()).strip("_") or "field"


def metadata_field_name(key: str) -> str:
    """The Whoosh field of a metadata key."""
    return METADATA_PREFIX + metadata_key(key)


def metadata_value(value) -> str | None:
    """The keyword text of a metadata value, or None when it is not a short scalar (long text isn't a facet)."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, str) and 0 < len(value) <= 200:
        return value.replace("\r", " ").replace("\n", ", ")
    if isinstance(value, list) and value and all(isinstance(v, str | int | float) for v in value):
        return ", ".join(str(v) for v in value)[:1000]
    return None


def source_key(source: str) -> str:
    """The exact-match form of a source name (``--source`` filter)."""
    return " ".join(source.lower().split())
