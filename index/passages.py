"""Article text -> claim-sized passages with exact character offsets; boilerplate dropped, and reported.

A passage is one sentence that states a claim, or up to three when a short fragment or a quote's
attribution belongs with its neighbour; an overlong sentence is split at a clause boundary. Passages
never cross a paragraph (a list with its lead-in is one). Boilerplate (photo captions, requests for comment, prompts, bylines,
subheadings, a truncated last sentence) becomes a :class:`Dropped` span with a reason.

Bullet and numbered lists are kept: their items are claims ("the convoy included:" / "- three
howitzers"), joined with their lead-in when the whole list is short.

Everything here is a pure function of the text (no global mutable state), so it can run inside a Ray
``map_batches``. Sentence starts come from ``index.sentences``; the boilerplate rules (small tables of
compiled regexes that favour precision) from ``index.boilerplate``.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Iterator

from index.boilerplate import CAPTION_END, CREDIT_TAIL, INLINE, sentence_reason
from index.records import Article, Dropped, Passage
from index.sentences import sentence_starts

FRAGMENT_WORDS = 6  # fewer words is a fragment ("he said.", "Bomber drills."): it joins a neighbour
HEADING_WORDS = 12  # a paragraph of at most this many words and no terminal punctuation is a subheading
HEADLINE_WORDS = 20  # ... or, as the first paragraph, the headline repeated
MAX_GROUP = 3  # sentences in one passage at most
CAPTION_WORDS = 100  # a caption paragraph is short (a whole one-paragraph scrape ending in a credit is not)
CAPTION_SENTENCE_WORDS = 40  # the sentence before an inline credit is its caption, if no longer than this

# Line breaks as str.splitlines knows them ("\r\n" counts once), and the lines between them.
_BREAK = re.compile(r"\r\n|[\n\r\v\f\x1c-\x1e\x85\u2028\u2029]")
_LINE = re.compile(r"[^\n\r\v\f\x1c-\x1e\x85\u2028\u2029]+")
_WORD = re.compile(r"\S+")
_TOKEN = re.compile(r"[^ ]+")  # words of a blanked paragraph, where " " is the only space left
_LETTER = re.compile(r"[^\W\d_]")  # a span without one is noise: "1.", "[...]", "—"
# Blingfire takes zero-width and other invisible characters for spaces and drops them from its output:
# these (and every other non-printable character) are blanked one for one, so offsets still line up.
_BLANK = re.compile(r"[\s\x00-\x1f\x7f-\x9f\xad\u200b-\u200f\u202a-\u202e\u2060-\u206f\ufeff\ud800-\udfff]")

# A list item: a bullet, or a number or letter with "." or ")"; then a space and the item.
_BULLET = re.compile(r"(?:[-*•·▪◦‣●○–—]|\(?\d{1,3}[.)]|\(?[a-z][.)])[ \t]+(?=\S)")
_LEAD_IN = re.compile(r":[\"'”’)]*$")  # "Officials said the convoy included:"
# The end-anchored patterns below are matched against the last few characters of a span only.
_TAIL = 16
# Ends a sentence: terminal punctuation, possibly inside closing quotes or brackets, or a closing quote.
_TERMINAL = re.compile(r"[.!?][\"'”’»)\]]*$|[\"”’»)\]]$")
_QUOTE_CLOSERS = '"”’»'
_ELLIPSIS = re.compile(r"(?:…|\.\.\.)$")
# "...would take the." (seed 003): words that cannot end an English sentence, unlike "to", "this", "but"
# ("do anything but."). Lower case only: "Plan A." ends one.
_DANGLING = re.compile(r"\b(?:the|a|an|and|or|nor|of|its|their|our|my|your|whose|than|into)\.?$")
# A line ending in a comma or one of these words continues on the next ("calls the\r\nRussian Orthodox
# Church", "annexed by Poland, \nTranscarpathia by Hungary": euvsdisinfo summaries are hard-wrapped).
_WRAPPED = re.compile(
    r",$|\b(?:the|a|an|and|or|nor|but|of|to|in|on|at|by|for|with|from|into|as|that|which|who|than|its|their"
    r"|his|her|our|is|are|was|were|be|been|has|have|had|will|would|could|should|may|can|not)$",
    re.I,
)
# A sentence that opens with the attribution of the quote before it: "he said.", "said Mr. Peskov.".
_ATTRIBUTION = re.compile(
    r"(?:(?:he|she|they|we|I|it|[A-Z][\w.'’-]*(?: [A-Z][\w.'’-]*){0,3}) "
    r"(?:said|says|added|adds|explained|stated|told|wrote|noted|warned|insisted|argued|claimed|continued)"
    r"|(?:said|says|added|adds|explained|wrote|noted|according to))\b"
)


def split_article(article: Article) -> tuple[list[Passage], list[Dropped]]:
    """Split an article's text; offsets are into ``article.text``. See :func:`split_passages`."""
    return split_passages(article.text)


def split_passages(text: str, max_words: int = 60) -> tuple[list[Passage], list[Dropped]]:
    """Split text into claim-sized passages and dropped boilerplate spans.

    Args:
        text: The article body.
        max_words: A passage longer than this is split at a clause boundary (or, failing that, a word).

    Returns:
        ``(passages, dropped)``, each in text order; ``text[x.start:x.end] == x.text`` for every span,
        no span is empty or has surrounding whitespace, and no two spans overlap.
    """
    passages: list[Passage] = []
    dropped: list[Dropped] = []
    paragraphs = list(_paragraphs(text))
    lists = _lists(text, paragraphs)
    for i, (start, end) in enumerate(paragraphs):
        if i in lists:
            if lists[i]:  # the first paragraph of a list (its lead-in or first item): the whole list
                _list_passages(text, lists[i], max_words, passages, dropped)
            continue
        segments = _segments(text, start, end)
        reasons = [r or sentence_reason(text[s:e]) for s, e, r in segments]
        last = i == len(paragraphs) - 1
        reason = _paragraph_reason(text[start:end], reasons, first=i == 0, last=last)
        if reason:
            dropped.append(Dropped(start, end, text[start:end], reason))
            continue
        if last and reasons[-1] is None and (i > 0 or len(segments) > 1):  # never the text's only sentence
            reasons[-1] = _truncated(text[segments[-1][0] : segments[-1][1]])
        run: list[tuple[int, int]] = []
        for (s, e, _), why in zip(segments, reasons, strict=True):
            if why is None:
                run.append((s, e))
                continue
            passages += _passages(text, run, max_words)
            run = []
            dropped.append(Dropped(s, e, text[s:e], why))
        passages += _passages(text, run, max_words)
    return passages, dropped


def _lists(text: str, paragraphs: list[tuple[int, int]]) -> dict[int, list[tuple[int, int]]]:
    """Bullet and numbered lists: ``{paragraph number: its list's lines}`` for a list's first paragraph
    (a lead-in ending in ``:``, else the first item) and ``{number: []}`` for the rest of its lines.

    A list is two or more item lines in a row (``- ``, ``* ``, ``• ``, ``1. ``, ``a) ``...), or one or more
    after a lead-in: alone, each short item would be dropped as a heading or a truncated fragment.
    """
    items = [bool(_BULLET.match(text, s)) for s, _ in paragraphs]
    out: dict[int, list[tuple[int, int]]] = {}
    i = 0
    while i < len(paragraphs):
        j = i
        while j < len(paragraphs) and items[j]:
            j += 1
        lead = i > 0 and i - 1 not in out and _LEAD_IN.search(text, *paragraphs[i - 1])
        if j - i >= 2 or (j > i and lead):
            first = i - 1 if lead else i
            out[first] = paragraphs[first:j]
            out.update((k, []) for k in range(first + 1, j))
        i = max(j, i + 1)
    return out


def _list_passages(
    text: str, lines: list[tuple[int, int]], max_words: int, passages: list[Passage], dropped: list[Dropped]
) -> None:
    """A list as passages: all of it when it is short (``max_words``), else the lead-in with the first
    item and each further item on its own; lines a boilerplate rule matches are dropped (a lead-in
    such as "Read more:" takes its whole list with it)."""
    reasons = [sentence_reason(text[s:e]) for s, e in lines]
    if not _BULLET.match(text, lines[0][0]) and reasons[0]:
        dropped.append(Dropped(lines[0][0], lines[-1][1], text[lines[0][0] : lines[-1][1]], reasons[0]))
        return
    kept = [line for line, why in zip(lines, reasons, strict=True) if why is None]
    dropped += [Dropped(s, e, text[s:e], why) for (s, e), why in zip(lines, reasons, strict=True) if why]
    if not kept:
        return
    if len(text[kept[0][0] : kept[-1][1]].split()) <= max_words and len(kept) == len(lines):
        groups = [(kept[0][0], kept[-1][1])]
    else:
        joined = not _BULLET.match(text, kept[0][0]) and len(kept) > 1
        groups = [(kept[0][0], kept[1][1])] + kept[2:] if joined else kept
    for s, e in groups:
        pieces = _split_long(text, s, e, max_words) if len(text[s:e].split()) > max_words else [(s, e)]
        passages.extend(Passage(a, b, text[a:b]) for a, b in pieces)


def _paragraphs(text: str) -> Iterator[tuple[int, int]]:
    """Yield ``(start, end)`` of each paragraph, trimmed of whitespace.

    A blank line always ends a paragraph; a single line break does too, unless the text is hard-wrapped
    there (the line has no terminal punctuation and ends in a comma or a function word, or the next
    starts in lower case): a sentence cut at the wrap would become two junk passages.
    """
    start = end = -1
    for m in _LINE.finditer(text):
        s, e = _trim(text, m.start(), m.end())
        if s == e:
            continue
        if start >= 0:
            tail = text[max(start, end - _TAIL) : end]
            if (
                len(_BREAK.findall(text, end, s)) == 1
                and not _TERMINAL.search(tail)
                and (text[s].islower() or _WRAPPED.search(tail))
            ):
                end = e
                continue
            yield start, end
        start, end = s, e
    if start >= 0:
        yield start, end


def _segments(text: str, start: int, end: int) -> list[tuple[int, int, str | None]]:
    """Sentences of one paragraph as ``(start, end, reason)``; inline boilerplate comes with its reason.

    Blingfire returns its sentences one per line with whitespace normalised, so they are mapped back by
    counting non-space characters: its output, spaces removed, is its input, spaces removed, once every
    non-printable character is blanked (checked over all of Unicode; if not, the paragraph is not split).
    """
    para = text[start:end]
    if not para.isprintable():  # a tab, line break, NUL, zero-width or no-break space: blank it in place
        para = _BLANK.sub(" ", para)
        if not para.isprintable():
            para = "".join(c if c.isprintable() else " " for c in para)
    inline: dict[int, tuple[int, str, bool]] = {}  # start -> (end, reason, takes the sentence before)
    for reason, needles, pattern, takes_previous in INLINE:
        if not any(map(para.__contains__, needles)):
            continue
        for m in pattern.finditer(para):
            a, b = _trim(para, m.start(), m.end())
            inline[a] = (b, reason, takes_previous)
    cuts = set(inline) | {b for b, _, _ in inline.values()}
    inside = [(a, b) for a, (b, _, _) in inline.items()]
    for cut in sentence_starts(para):
        if not any(a < cut < b for a, b in inside):  # blingfire's own split of a credit
            cuts.add(cut)
    segments: list[tuple[int, int, str | None]] = []
    bounds = sorted({0, *cuts, len(para)})
    for a, b in zip(bounds, bounds[1:], strict=False):
        s, e = _trim(text, start + a, start + b)
        if s == e:
            continue
        reason = inline[a][1] if a in inline else None
        if a in inline and inline[a][2] and segments and segments[-1][2] is None:
            ps, pe, _ = segments[-1]
            if len(text[ps:pe].split()) < CAPTION_SENTENCE_WORDS:
                segments[-1] = (ps, pe, "caption")
        segments.append((s, e, reason or (None if _LETTER.search(text, s, e) else "noise")))
    return segments


def _paragraph_reason(para: str, reasons: list[str | None], first: bool, last: bool) -> str | None:
    """Reason to drop a whole paragraph: a caption, or a heading with a paragraph after it, else None.

    Args:
        para: The paragraph.
        reasons: The reasons its sentences would be dropped for, None for those kept so far.
        first: Whether it is the first paragraph (perhaps the headline repeated: a longer heading).
        last: Whether it is the last paragraph (a heading heads something: the last one is not).
    """
    words = len(para.split())
    credit = para[-1].isalnum() or para[-1] == ")"  # credits end so: a cheap test before the regex
    if (
        credit
        and words <= CAPTION_WORDS
        and len(reasons) <= MAX_GROUP
        and CAPTION_END.search(para[-CREDIT_TAIL:])
    ):
        return "caption"
    limit = HEADLINE_WORDS if first else HEADING_WORDS
    if reasons == [None] and not last and words <= limit and not _TERMINAL.search(para[-_TAIL:]):
        return "heading"
    return None


def _truncated(sentence: str) -> str | None:
    """``"truncated"`` if the text's last sentence was cut off by the scraper, else None.

    Cut-offs show as "...would take the.", a trailing ellipsis, or a short fragment with no terminal
    punctuation. A longer unpunctuated last sentence is kept: many real claims lack the full stop.
    """
    tail = sentence[-_TAIL:]
    if _ELLIPSIS.search(tail) or _DANGLING.search(tail):
        return "truncated"
    if not _TERMINAL.search(tail) and len(sentence.split()) < FRAGMENT_WORDS:
        return "truncated"
    return None


def _passages(text: str, run: list[tuple[int, int]], max_words: int) -> list[Passage]:
    """Group consecutive kept sentences of a paragraph into passages, then split overlong ones.

    A fragment joins the sentence before it (or, first in the run, the one after), and a sentence that
    opens with an attribution joins the quotation before it, up to MAX_GROUP sentences and max_words.
    """
    groups: list[list[int]] = []  # [start, end, words, sentences]
    for s, e in run:
        n = len(text[s:e].split())
        if groups:
            g = groups[-1]
            if (
                g[3] < MAX_GROUP
                and g[2] + n <= max_words
                and (
                    n < FRAGMENT_WORDS
                    or g[2] < FRAGMENT_WORDS
                    or (text[g[1] - 1] in _QUOTE_CLOSERS and _ATTRIBUTION.match(text, s, e))
                )
            ):
                g[1:] = [e, g[2] + n, g[3] + 1]
                continue
        groups.append([s, e, n, 1])
    out = []
    for s, e, n, _ in groups:
        pieces = _split_long(text, s, e, max_words) if n > max_words else [(s, e)]
        out += [Passage(a, b, text[a:b]) for a, b in pieces]
    return out


# Clause boundaries to split an overlong sentence at, best first; the cut is at the end of group 1.
_CLAUSE_BREAKS = (
    re.compile(r"(;)\s"),  # "... on Monday; the ministry said ..."
    re.compile(  # "..., and", "..., which", "..., although"
        r"(,)\s+(?=(?:and|but|while|whereas|which|who|whom|although|though|because|since|after|before|when"
        r"|where|as|so|yet|saying|adding|according)\b)"
    ),
    re.compile(r"(,|\s[—–-])\s"),  # any comma or dash, but only near the middle
)


def _split_long(text: str, start: int, end: int, max_words: int) -> list[tuple[int, int]]:
    """Split ``text[start:end]`` into pieces of at most ``max_words`` words, at a clause boundary if any."""
    words = [m.start() for m in _WORD.finditer(text, start, end)]
    n = len(words)
    if n <= max_words:
        return [(start, end)]
    best = None  # (words left of the cut, cut offset)
    for rank, pattern in enumerate(_CLAUSE_BREAKS):
        lo, hi = (FRAGMENT_WORDS, n - FRAGMENT_WORDS) if rank < 2 else (n // 4, n - n // 4)
        for m in pattern.finditer(text, start, end):
            k = bisect_right(words, m.end(1))
            if lo <= k <= hi and (best is None or abs(k - n / 2) < abs(best[0] - n / 2)):
                best = (k, m.end(1))
        if best:
            break
    cut = best[1] if best else words[n // 2]
    return _split_long(text, *_trim(text, start, cut), max_words) + _split_long(
        text, *_trim(text, cut, end), max_words
    )


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    """``(start, end)`` moved inward past whitespace; ``start == end`` if nothing is left."""
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end
