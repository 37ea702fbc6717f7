"""Attribution over a parsed spaCy ``Doc``: source (who), cue (the verb or phrase that attributes) and
content (what is claimed), by rules over the dependency parse (PARC-style attribution relations).

* a cue is a verb of saying or cognition (:data:`CUE_LEMMAS`) that governs a clause (``ccomp``), is
  attached to one as a parenthetical (``parataxis``: "..., he said"), sits in a sentence with a
  quotation, or has a nominal subject ("As the Post reported, ..."); "according to X" is a cue with
  source X;
* the source is the cue's subject phrase (inherited through ``conj``/``xcomp``/``advcl``/``acomp`` and
  a preposition's ``pcomp``; of two subjects, the nearest that is not a time; a relative pronoun is
  kept, as PolNeAR marks it), or the noun phrase a participle modifies ("a new poll showing that");
* the cue span takes the auxiliaries and negation before the verb, a particle ("pointed out"), and the
  addressee of "told"/"assured" ("told reporters");
* the content is the governed clause, else the quotation, else the rest of the sentence; a quotation
  ends at a line break at the latest (a stray mark does not swallow the text after it);
* a capitalised label and a colon or dash at the start of a line ("PENCE: ...", "Poll: ...") and a
  quotation signed after a dash ("“...” ― Jane Roe") are attributions too;
* a PolNeAR-style extra that a claim's speaker does not use (``kind`` "act"): a stance verb
  (:data:`STANCE_LEMMAS`, "the campaign refused to") with any subject, or another main verb with a
  person or group as subject and a complement ("Warren grilled Stumpf").

Offsets are character offsets into ``doc.text``. Measured on PolNeAR by ``bench/attribution.py``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_CUE_WORDS = """say tell claim state add note report announce warn deny insist argue explain write suggest believe
    think accuse allege acknowledge admit confirm predict reveal declare assert recall contend maintain
    urge ask promise vow pledge describe agree disclose tweet post indicate conclude estimate complain
    testify respond reply answer comment stress emphasize emphasise learn know hope fear expect worry
    caution concede boast brag charge demand propose question remark repeat reiterate signal show find
    assure inform mention observe predict recommend threaten criticize criticise praise blame call
    counter retort quip acknowledge speculate feel doubt wonder understand realize realise insinuate
    dispute reject dismiss acknowledge announce proclaim guarantee forecast calculate project contend
    vow swear joke lament concur object protest cite mention blast slam criticize criticise urge
    question accuse encourage attack reference promote mock denounce defend address discuss endorse want
    plan sing push highlight tout"""
CUE_LEMMAS = frozenset(_CUE_WORDS.split())
# Verbs of a stance or act that PolNeAR annotates as attributions whatever their subject ("the
# campaign refused to", "most voters support"): lemmas outside CUE_LEMMAS whose subject is a gold source
# at least 40 % of the times they have one (and 3+ times), counted on the first 250 PolNeAR TRAIN articles.
_STANCE_WORDS = """apologize applaud avoid balk cheer compare congratulate continue decline decry express
    favor fire focus hail hop identify ignore imply intend issue list name offer point prefer rail read
    refer refuse resist rule share shoot support target tend thank weigh witness"""
STANCE_LEMMAS = frozenset(_STANCE_WORDS.split())
# Light verbs that never make an attribution on their own.
_NOT_CUES = frozenset(["be", "have", "do", "make", "let", "help", "get", "go", "come", "see"])
# Cues whose addressee belongs to the cue span ("told reporters", "assured allies").
_ADDRESSEE = frozenset(["tell", "assure", "inform", "warn", "remind", "ask"])
_STRONG = frozenset(
    ["say", "tell", "claim", "state", "add", "report", "announce", "deny", "insist", "declare", "assert"]
)
QUOTES = '"“”«»'


@dataclass
class Relation:
    """One attribution: ``source``/``cue``/``content`` as ``(start, end)`` in ``doc.text`` (source and
    content may be None); ``quote``: the content is (inside) a quotation; ``lemma``: the cue's lemma."""

    source: tuple[int, int] | None
    cue: tuple[int, int]
    content: tuple[int, int] | None
    quote: bool
    lemma: str
    # clause | parenthetical | quote | object | according | label, or "act": a verb outside
    # CUE_LEMMAS (a stance or act, "Warren grilled Stumpf"), which PolNeAR counts but a claim's speaker
    # does not
    kind: str = "clause"


_EDGE_PUNCT = frozenset(",;:—–-\"“”'‘’")


def _span(tokens) -> tuple[int, int] | None:
    """``(start, end)`` of a token run without edge punctuation or whitespace; a phrase that runs over
    a paragraph break keeps its last paragraph (a parse across paragraphs is a parse error)."""
    toks = list(tokens)
    for i in range(len(toks) - 1, -1, -1):
        if "\n" in toks[i].text or "\n" in toks[i].whitespace_:
            toks = toks[i + 1 :]
            break
    while toks and (toks[0].is_space or toks[0].text in _EDGE_PUNCT or toks[0].text in ".)"):
        toks = toks[1:]
    while toks and (toks[-1].is_space or toks[-1].text in _EDGE_PUNCT):
        toks = toks[:-1]
    for i, t in enumerate(toks[:-1]):  # a dateline: "MACAU (Reuters) – Top donor Sheldon Adelson"
        if t.text in ("–", "—") and any(x.text == "(" for x in toks[:i]):
            toks = toks[i + 1 :]
            break
    if toks and toks[-1].text == ")" and not any(t.text == "(" for t in toks):
        toks = toks[:-1]
    if not toks:
        return None
    return toks[0].idx, toks[-1].idx + len(toks[-1].text)


def _subtree(tok):
    return tok.doc[tok.left_edge.i : tok.right_edge.i + 1]


def _extend_apposition(doc, source, cue_first):
    """ "Brian Fallon, the campaign's press secretary, said": the source takes the apposition between
    it and the cue (comma-delimited, no verb, at most 15 tokens)."""
    if source is None:
        return None
    gap = [t for t in doc if source[1] <= t.idx < cue_first.idx]
    if not gap or len(gap) > 15 or gap[0].text != "," or gap[-1].text != ",":
        return source
    if any(t.tag_.startswith("VB") or "\n" in t.text for t in gap):
        return source
    return source[0], gap[-2].idx + len(gap[-2].text) if len(gap) > 1 else source[1]


# Head nouns of subjects that are people or groups of people ("the campaign", "most voters").
_AGENT_WORDS = """candidate candidates campaign campaigns official officials voter voters supporter supporters
    republicans democrats president senator governor spokesman spokeswoman spokesperson aide aides
    adviser advisers advisor advisors critic critics expert experts economist economists analyst
    analysts leader leaders group groups committee party parties administration government agency
    poll polls survey surveys report study lawmakers lawmaker member members people americans
    delegates donor donors activists activist organization organizations union unions
    nominee nominees front-runner frontrunner rival rivals opponent opponents staff staffer
    staffers team majority minority most many some others judge court justices police prosecutors
    investigators officers department ministry company firm executives ceo chairman chair secretary
    director manager reporter reporters journalist journalists writer author editor board council
    congress senate house state states country countries nation white-house"""
_AGENT_NOUNS = frozenset(_AGENT_WORDS.split())
_AGENT_PRONOUNS = frozenset(["he", "she", "they", "i", "we"])


def _agentive(subj) -> bool:
    """Whether a subject can hold a stance or act: a named person, organisation or group, a personal
    pronoun, or a noun phrase headed by a person or group noun ("the campaign", "most voters")."""
    if subj.ent_type_ in ("PERSON", "ORG", "NORP") or subj.lower_ in _AGENT_PRONOUNS:
        return True
    return subj.lemma_.lower() in _AGENT_NOUNS or subj.lower_ in _AGENT_NOUNS


def _subject(verb):
    """The subject token of ``verb``, following ``conj``/``xcomp``/``advcl``/``acomp`` and a
    preposition's ``pcomp`` ("before explaining") up to the verb that has one."""
    seen = 0
    while verb is not None and seen < 4:
        subjects = [c for c in verb.children if c.dep_ in ("nsubj", "nsubjpass", "csubj")]
        if subjects:
            # a relative pronoun ("who said") is the source, as PolNeAR marks it; of two subjects (a
            # misparsed dateline "9:30 p.m. Donald Trump says") the nearest that is not a time
            timeless = [c for c in subjects if c.ent_type_ not in ("TIME", "DATE")] or subjects
            return min(timeless, key=lambda c: abs(c.i - verb.i))
        if verb.dep_ in ("conj", "xcomp", "advcl", "acomp") and verb.head is not verb:
            verb = verb.head
            seen += 1
            continue
        if verb.dep_ == "pcomp" and verb.head.dep_ == "prep":  # "before explaining", "in rejecting"
            verb = verb.head.head
            seen += 1
            continue
        return None
    return None


def _acl_source(verb) -> tuple[int, int] | None:
    """A participle that modifies a noun phrase ("a new poll showing that...", "staff members
    suggesting..."): that noun phrase, up to the participle, is the source."""
    head = verb.head
    if verb.dep_ != "acl" or head.pos_ not in ("NOUN", "PROPN") or head.i > verb.i or not _agentive(head):
        return None
    return _span([t for t in _subtree(head) if t.i < verb.i and t.i >= head.left_edge.i])


def _quote_spans(text: str) -> list[tuple[int, int]]:
    """``(start, end)`` of each quotation (inside the marks) in ``text``. A quotation still open at a
    line break ends there (a quote running over paragraphs reopens with a mark on the next one): one
    stray mark costs the rest of its paragraph, not the rest of the text."""
    spans, open_at = [], None
    for i, ch in enumerate(text):
        if ch == "\n" and open_at is not None:
            if i - open_at > 1:
                spans.append((open_at + 1, i))
            open_at = None
            continue
        if ch not in QUOTES:
            continue
        if open_at is None and ch != "”":
            open_at = i
        elif open_at is not None and ch != "“":
            if i - open_at > 1:
                spans.append((open_at + 1, i))
            open_at = None
    return spans


def _in_quote(span: tuple[int, int] | None, quotes: list[tuple[int, int]]) -> bool:
    """True when at least 60 % of ``span`` lies inside quotation marks (a direct quote; a reported
    clause that quotes a phrase stays reported speech)."""
    if span is None or span[1] <= span[0]:
        return False
    inside = sum(max(0, min(q1, span[1]) - max(q0, span[0])) for q0, q1 in quotes)
    return inside / (span[1] - span[0]) >= 0.6


def _source_span(tok, cue=None) -> tuple[int, int] | None:
    """The subject phrase of ``tok``: its subtree up to a second comma (one apposition is kept:
    "Jane Roe, a spokeswoman for X, said"), without a trailing comma, and never reaching the cue
    (a relative clause that holds the cue is cut off)."""
    toks, commas = [], 0
    for t in _subtree(tok):
        if cue is not None and tok.i < cue.i <= t.i:
            break
        if t.text == ",":
            commas += 1
            if commas == 2 or t.i > tok.i and commas == 1 and t.i == tok.right_edge.i:
                break
        toks.append(t)
    return _span(toks)


# "PENCE: Well, look..." (transcripts) and "Poll: Wealthy Voters Abandon..." (headlines): a short
# capitalised label at the start of a line, a colon or dash, then the content to the end of the line.
_LABEL_RX = re.compile(
    r"(?m)^[\"“]?(?P<src>[A-Z][\w.’'-]*(?: [A-Z][\w.’'-]*| of| the){0,4})\s?(?P<cue>:|―|—)[ \t]+(?P<content>[^\n]*\S)"
)


# “Quote.” ― Jane Roe (a quotation signed after a dash)
_SIGNED_RX = re.compile(
    r"(?m)^(?P<content>[“\"][^\n]*?[”\"])\s*(?P<cue>―|—)\s*(?P<src>[A-Z][\w.’'-]*(?: [A-Z][\w.’'-]*){0,3})"
)


def _label_relations(text: str) -> list[Relation]:
    out = []
    for m in _LABEL_RX.finditer(text):
        out.append(Relation(m.span("src"), m.span("cue"), m.span("content"), False, m["cue"], "label"))
    for m in _SIGNED_RX.finditer(text):
        src = (m.start("src"), m.end("src") - m["src"].endswith("."))
        out.append(Relation(src, m.span("cue"), m.span("content"), True, m["cue"], "label"))
    return out


def relations(doc) -> list[Relation]:
    """Every attribution relation in ``doc`` (a spaCy ``Doc`` with a dependency parse), in text order.
    A Doc without a parse gets only the relations that need none (labels, signed quotations)."""
    out: list[Relation] = _label_relations(doc.text)
    if not doc.has_annotation("DEP"):
        return sorted(out, key=lambda r: r.cue[0])
    quotes = _quote_spans(doc.text)
    taken = [r.content for r in out]
    for sent in doc.sents:
        sent_quotes = [
            q
            for q in quotes
            if sent.start_char <= q[0] < sent.end_char or sent.start_char < q[1] <= sent.end_char
        ]
        for tok in sent:
            if any(q0 <= tok.idx < q1 for q0, q1 in sent_quotes):
                continue  # a cue inside a quotation belongs to the quoted speaker's own words
            rel = _according_to(tok, sent, sent_quotes) or _verb_cue(tok, sent, sent_quotes)
            if rel is not None and not any(c0 <= rel.cue[0] < c1 for c0, c1 in taken):
                out.append(rel)
    return sorted(out, key=lambda r: r.cue[0])


def _according_to(tok, sent, quotes) -> Relation | None:
    if tok.lower_ != "according":
        return None
    to = next((c for c in tok.children if c.lower_ == "to"), None)
    if to is None:
        return None
    pobj = next((c for c in to.children if c.dep_ == "pobj"), None)
    if pobj is None:
        return None
    source = _source_span(pobj)
    cue = (tok.idx, to.idx + len(to.text))
    phrase = range(tok.left_edge.i, max(tok.right_edge.i, pobj.right_edge.i) + 1)
    content = _span([t for t in sent if t.i not in phrase])
    return Relation(source, cue, content, _in_quote(content, quotes), "according to", "according")


def _verb_cue(tok, sent, quotes) -> Relation | None:
    if not tok.tag_.startswith("VB"):
        return None
    clause = next((c for c in tok.children if c.dep_ in ("ccomp",)), None)
    if tok.lemma_.lower() not in CUE_LEMMAS:
        # any other verb with a named or personal subject that governs a clause ("Trump ruled out that...")
        # or a main verb of a person's stance or act with a complement ("Warren grilled Stumpf"), which
        # PARC/PolNeAR annotate as attributions too
        subj = next((c for c in tok.children if c.dep_ == "nsubj"), None)
        if subj is None or tok.lemma_.lower() in _NOT_CUES:
            return None
        if tok.lemma_.lower() not in STANCE_LEMMAS:
            if not _agentive(subj):
                return None
            if clause is None and (
                tok.dep_ not in ("ROOT", "conj")
                or not any(c.dep_ in ("dobj", "prep", "xcomp") for c in tok.children)
            ):
                return None
        act = True
    else:
        act = False
    parenthetical = tok.dep_ in ("parataxis",) or (tok.dep_ == "advcl" and tok.i > tok.head.i)
    lemma = tok.lemma_.lower()
    acl_source = _acl_source(tok) if not act else None
    if clause is None and not parenthetical and not (quotes and lemma in _STRONG) and acl_source is None:
        subj = next((c for c in tok.children if c.dep_ == "nsubj"), None)
        if subj is None:
            return None
        if subj.pos_ not in ("NOUN", "PROPN", "PRON"):
            return None
    subj = _subject(tok)
    if subj is not None and subj.dep_ == "csubj":
        subj = None
    if subj is not None and subj.dep_ == "nsubjpass":  # "it was revealed by X": the agent speaks
        agent = next((c for c in tok.children if c.dep_ == "agent"), None)
        subj = next((c for c in agent.children if c.dep_ == "pobj"), None) if agent is not None else None
    source = _source_span(subj, tok) if subj is not None and subj.i < sent.end else acl_source
    # cue: auxiliaries and negation before the verb, the verb, a particle, the addressee of "told"
    first, last = tok, tok
    for c in tok.children:
        if c.dep_ in ("aux", "auxpass", "neg") and c.i < tok.i and c.i >= tok.i - 3:
            first = min(first, c, key=lambda t: t.i)
        if c.dep_ == "prt":
            last = max(last, c, key=lambda t: t.i)
        if lemma in _ADDRESSEE and c.dep_ in ("dobj", "dative") and c.i > tok.i:
            last = max(last, c.right_edge, key=lambda t: t.i)
    while (
        first.i > sent.start
        and sent.doc[first.i - 1].dep_ == "advmod"
        and sent.doc[first.i - 1].head in (tok, *tok.children)
    ):
        first = sent.doc[first.i - 1]  # "then pointed out", "also said"
    cue = (first.idx, last.idx + len(last.text))
    source = _extend_apposition(sent.doc, source, first)
    if clause is not None:
        content, kind = _span(_subtree(clause)), "clause"
    elif parenthetical:
        kind = "parenthetical"
        head = tok.head
        exclude = set(range(tok.left_edge.i, tok.right_edge.i + 1))
        content = _span([t for t in _subtree(head) if t.i not in exclude])
    else:
        q = next(iter(quotes), None)
        content = q if q else _span([t for t in sent if t.i > last.i])
        kind = "quote" if q else "object"
    quote = _in_quote(content, quotes)
    if quote:
        q = max(quotes, key=lambda q: min(q[1], content[1]) - max(q[0], content[0]))
        content = q
    return Relation(source, cue, content, quote, lemma, "act" if act else kind)


PRONOUN_RX = re.compile(r"^(?:he|she|they|it|i|we)$", re.I)
