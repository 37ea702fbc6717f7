"""Article text -> claim-sized passages with exact character offsets; boilerplate dropped, and reported.

A passage is one sentence that states a claim, or up to three when a short fragment or a quote's
attribution belongs with its neighbour; an overlong sentence is split at a clause boundary. Passages
never cross a paragraph. Boilerplate (photo captions, requests for comment, prompts, bylines,
subheadings, a truncated last sentence) becomes a :class:`Dropped` span with a reason.

Everything here is a pure function of the text (no global mutable state), so it can run inside a Ray
``map_batches``. The rules are small tables of compiled regexes; they favour precision: a rule that
might drop a real claim sentence is narrowed until it does not.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Iterator
from itertools import accumulate

import blingfire

from index.records import Article, Dropped, Passage

FRAGMENT_WORDS = 6  # fewer words than this is a fragment ("he said.", "Bomber drills."): joins a neighbour
HEADING_WORDS = 12  # at most this many words, no terminal punctuation: a subheading
HEADLINE_WORDS = 20  # the first paragraph may be the (longer) headline repeated
MAX_GROUP = 3  # sentences per passage at most
CAPTION_WORDS = 100  # a caption paragraph is short: longer ones (whole single-paragraph scrapes) are not
CAPTION_SENTENCE_WORDS = 40  # the sentence before an inline credit is its caption if no longer than this

# Line breaks as str.splitlines knows them; "\r\n" counts as one.
_BREAK = re.compile(r"\r\n|[\n\r\v\f\x1c-\x1e\x85\u2028\u2029]")
_LINE = re.compile(r"[^\n\r\v\f\x1c-\x1e\x85\u2028\u2029]+")
_WORD = re.compile(r"\S+")
_LETTER = re.compile(r"[^\W\d_]")  # a span without one is noise ("***", "12", "—")
_TOKEN = re.compile(r"[^ ]+")  # words of a sanitised paragraph, where " " is the only space
# Blingfire treats zero-width and other invisible characters as spaces and drops them from its output;
# they (and every other non-printable character) are blanked one-for-one so offsets still line up.
_BLANK = re.compile(r"[\s\x00-\x1f\x7f-\x9f\xad\u200b-\u200f\u202a-\u202e\u2060-\u206f\ufeff\ud800-\udfff]")

# "... the." / "... and" at the end: words that never end an English sentence (unlike "to", "this", "from").
# Lower case only: "Plan A." ends a sentence.
_DANGLING = re.compile(r"\b(?:the|a|an|and|or|nor|but|of|its|their|our|my|your|whose|than|into)\.?$")
# A line ending in one of these words continues on the next line (hard-wrapped text, as in euvsdisinfo:
# "calls the\r\nRussian Orthodox Church").
_WRAPPED = re.compile(
    r"\b(?:the|a|an|and|or|nor|but|of|to|in|on|at|by|for|with|from|into|as|that|which|who|than|its|their"
    r"|his|her|our|is|are|was|were|be|been|has|have|had|will|would|could|should|may|can|not)$",
    re.I,
)
# Ends a sentence, possibly followed by closing quotes or brackets.
_TERMINAL = re.compile(r"[.!?][\"'”’»)\]]*$|[\"”’»)\]]$")
_ELLIPSIS = re.compile(r"(?:…|\.\.\.)$")
_CLOSING_QUOTE = re.compile(r"[\"”’»][)\]]?$")
# A sentence that starts with the attribution of the quote before it: "he said.", "said Mr. Peskov.".
_ATTRIBUTION = re.compile(
    r"^(?:(?:he|she|they|we|I|it|[A-Z][\w.'’-]*(?: [A-Z][\w.'’-]*){0,3}) "
    r"(?:said|says|added|adds|explained|stated|told|wrote|noted|warned|insisted|argued|claimed|continued)"
    r"|(?:said|says|added|adds|explained|wrote|noted|according to)\b)"
)
_DATE_END = re.compile(
    r"\b(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)[a-z]*\.? \d{1,2},? \d{4}\.$"
)

# Known photo agencies, for credits at the end of a caption.
_AGENCY = (
    r"(?:Getty Images|AFP|AP|Reuters|REUTERS|EPA(?:-EFE)?|Shutterstock|Alamy|Rex|Sipa|ZUMA(?: Wire)?"
    r"|Anadolu Agency|Bloomberg|NurPhoto|SOPA Images|LightRocket|TASS|Sputnik|Xinhua|PA|UPI|Ukrinform)"
)


def _any(*patterns: str) -> re.Pattern[str]:
    """One regex matching any of ``patterns`` (one search per rule instead of one per pattern)."""
    return re.compile("|".join(f"(?:{p})" for p in patterns))


# Paragraph-level: a short paragraph that ends in a photo credit is a caption, all of it.
_CAPTION_END = re.compile(
    r"(?:"
    # "... Mikhail Svetlov/Getty Images", "... Maxim Shipenkov/EPA", "... AFP via Getty Images"
    rf"/\s?{_AGENCY}|\bGetty Images"
    # "... Sergey Bobok/Sipa USA": Firstname Lastname/Organisation
    r"|\b[A-Z][\w.'’-]+ [A-Z][\w.'’-]+\s?/\s?[A-Z][\w.&'’ -]*"
    # "... (Photo by Jane Doe/AFP)", "... (Photo AP)"
    r"|\((?:Photo|Image|Picture)s?\b[^()]*\)"
    # "... Photograph: Roscosmos", "Credit: ...", "... AP Photo/Efrem Lukatsky", "... REUTERS/Gleb Garanich"
    r"|\b(?:Photograph|Photo|Picture|Image|Credit)s?:[^.!?]*|\bAP Photo\b[^.!?]*|\bREUTERS/[^.!?]*"
    r")\s*$"
)

# Inline: spans cut out of a paragraph wherever they stand, whatever the sentence splitter made of them,
# as (reason, pattern, whether the sentence just before is the caption that the credit belongs to).
_INLINE: list[tuple[str, re.Pattern[str], bool]] = [
    # "... largely symbolic. Joe Biden. Photograph: Getty Images They came on the same day ..." (live blogs)
    (
        "caption",
        re.compile(rf"\bPhotograph: (?:[^/\n.]{{1,40}}?\s?/\s?)*{_AGENCY}\b(?: via Getty Images)?"),
        True,
    ),
    # "... in Damascus August 21 2013. REUTERS/Bassam Khabieh We hope ...": a credit of one or two names
    ("caption", re.compile(r"\bREUTERS/(?:Stringer|[A-Z][\w'’-]+(?: [A-Z][\w'’-]+)?)"), True),
    # "... the spokesman relayed. AP Photo Hussein Malla Over 20 ...": the next item's picture, keep before
    ("caption", re.compile(r"\bAP Photo[/ ][A-Z][\w'’-]+(?: [A-Z][\w'’-]+)?"), False),
    # "... on July 9 2016 (Photo AFP) Syrian state media says ..."
    ("caption", re.compile(r"\((?:Photo|Image|Picture)s? (?:by )?[^()]{1,80}\)"), False),
    # "... push back regime advances. [Click to enlarge] "All the factions ..."
    ("prompt", re.compile(r"[\[(]Click to enlarge[\])]", re.I), False),
    # "... in the WHO statement. - REUTERS", "... the lifting of sieges.-AFP": a wire sign-off at the end
    ("byline", re.compile(r"(?<=[.!?\"”])\s?[-–—]+\s?(?:Reuters|REUTERS|AFP|AP|SANA|TASS|Xinhua)$"), False),
]

# Sentence-level: a sentence that matches its reason's regex is dropped whole.
_SENTENCE_RULES: list[tuple[str, re.Pattern[str]]] = [
    (
        "comment-request",
        _any(
            # "Newsweek has reached out to the Russian Defense Ministry and NATO for comment."
            r"\b(?:reached out to|contacted|approached)\b.{0,120}\bfor (?:a )?comment\b",
            # "... did not immediately respond to a request for comment.", "Neither company responded to ..."
            r"\b(?:respond(?:ed)?|repl(?:y|ied)) to (?:\w+ ){0,2}requests? for comment",
            # "Mr. Bausman could not be reached for comment.", "... not immediately available for comment."
            r"\b(?:be reached|(?:was|were|is|are) not (?:immediately )?available) for comment",
            # "Currentzis, through his representatives, declined to comment."
            r"\bdeclined to comment\b",
        ),
    ),
    (
        "prompt",
        _any(
            # "Sign up to First Edition, our free daily newsletter", "Subscribe to our Youtube channel"
            r"\b(?:[Ss]ubscribe|[Ss]ign up|SUBSCRIBE)\b.{0,60}\b(?:newsletter|channel|inbox|alerts|updates)",
            # "Read more: Bravo! ...", "Read Also"; Guardian's related link "Kherson's art ... Read more"
            r"^(?:Read more|READ MORE|Read also|Read Also|See also|Related)\b|\bRead (?:more|Also)$",
            # "Click here for Zouhir al-Shimale's photoessay", "Follow us on Instagram.", "Share this"
            r"^(?:Click|Tap) (?:here|to)\b|^(?:Follow|FOLLOW) (?:us|\w+) on\b|^Share (?:this|on)\b",
            # "... email newsletters@theguardian.com", "Comment via Facebook", "sign up to our Telegram"
            r"\bnewsletters?@|\bComment via Facebook|\bsign up to our Telegram",
        ),
    ),
    (
        "byline",
        _any(
            # "By Jane Doe", "By Jane Doe and John Roe, Reuters"
            r"^By [A-Z][\w.'’-]*(?:(?:,? and |, | )[A-Z][\w.'’-]*){0,7}$",
            # "Jane Doe is a reporter at The Moscow Times." (short: a longer sentence may be news about her)
            r"^[A-Z][\w'’-]+(?: [A-Z][\w.'’-]+){1,3} is (?:a|an|the) (?:[\w-]+ ){0,3}"
            r"(?:reporter|correspondent|writer|editor|journalist|columnist|contributor)s?"
            r" (?:at|for|with|based)\b(?!.{100})",
            # "Reporting by Oliver Holmes; Editing by John Stonestreet", "Our Standards:The Thomson ..."
            r"^(?:Additional )?(?:[Rr]eporting|[Ww]riting|[Ee]diting|Compiled|Produced) by\b|^Our Standards:",
            # "AFP, Associated Press And Reuters contributed to this report"
            r"\bcontributed (?:reporting|to this report)\b",
            # "(Source: Syrian Coalition)", "Source TRT World and agencies", "(With AFP and Reuters)"
            r"^\(?Sources?:? [^.!?]{1,60}\)?$|^\(?With (?:[\w,]+ ){0,4}(?:AFP|Reuters|AP|agencies)\b",
            # "Manar al-Frieh/Manal", "R. Milhem / Ghossoun/H. Said": SANA's staff credits
            r"^[A-Z][\w.'’-]*(?: [\w.'’-]+){0,2}(?: ?/ ?[A-Z][\w.'’-]*(?: [\w.'’-]+){0,2})+$",
        ),
    ),
    (
        "caption",
        # "Photograph: Getty Images", "REUTERS/Stringer", "(Photo AFP)": a credit split off on its own
        _any(r"^(?:Photograph|Photo|Picture|Image|Credit)s?:|^(?:REUTERS/|AP Photo\b)|^\(Photos?\b.*\)$"),
    ),
]


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
    for i, (start, end) in enumerate(paragraphs):
        segments = _segments(text, start, end)
        reasons = [r or _sentence_reason(text[s:e]) for s, e, r in segments]
        reason = _paragraph_reason(text, start, end, reasons, first=i == 0, last=i == len(paragraphs) - 1)
        if reason:
            dropped.append(Dropped(start, end, text[start:end], reason))
            continue
        if i == len(paragraphs) - 1 and reasons[-1] is None and (len(paragraphs) > 1 or len(segments) > 1):
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


def _paragraphs(text: str) -> Iterator[tuple[int, int]]:
    """Yield ``(start, end)`` of each paragraph, trimmed of whitespace.

    A blank line always ends a paragraph; a single line break does too, unless the text is hard-wrapped
    there (the line has no terminal punctuation and ends in a function word, or the next starts in
    lower case), because a wrapped sentence cut at the wrap would become two junk passages.
    """
    start = end = -1
    for m in _LINE.finditer(text):
        s, e = _trim(text, m.start(), m.end())
        if s == e:
            continue
        if start >= 0:
            line = text[start:end]
            wrapped = len(_BREAK.findall(text, end, s)) == 1 and not _TERMINAL.search(line)
            if wrapped and (text[s].islower() or _WRAPPED.search(line)):
                end = e
                continue
            yield start, end
        start, end = s, e
    if start >= 0:
        yield start, end


def _segments(text: str, start: int, end: int) -> list[tuple[int, int, str | None]]:
    """Sentences of one paragraph as ``(start, end, reason)``; inline boilerplate comes with its reason.

    Blingfire returns its sentences with whitespace normalised, so they are mapped back by counting
    non-space characters: its output, spaces removed, is the input, spaces removed, once every
    non-printable character has been blanked (checked for all of Unicode; otherwise no split is used).
    """
    para = text[start:end]
    if not para.isprintable():  # a NUL, tab, newline, zero-width or no-break space: blank it in place
        para = _BLANK.sub(" ", para)
        if not para.isprintable():
            para = "".join(c if c.isprintable() else " " for c in para)
    cuts: dict[int, str | None] = {}  # offset in para -> reason of the span starting there (None: kept)
    sentences = blingfire.text_to_sentences(para).split("\n")
    if len(sentences) > 1:
        tokens = [(m.start(), m.end()) for m in _TOKEN.finditer(para)]
        ends = list(accumulate(e - s for s, e in tokens))  # non-space characters up to each token's end
        if ends and sum(len(s) - s.count(" ") for s in sentences) == ends[-1]:
            seen = 0
            for sentence in sentences[:-1]:
                seen += len(sentence) - sentence.count(" ")
                k = bisect_right(ends, seen)  # the token holding the next sentence's first character
                if k < len(tokens):
                    cuts[tokens[k][1] - (ends[k] - seen)] = None
    captions: set[int] = set()  # inline credits whose caption is the sentence before them
    for reason, pattern, takes_previous in _INLINE:
        for m in pattern.finditer(para):
            cuts[m.start()] = reason
            cuts.setdefault(m.end(), None)
            if takes_previous:
                captions.add(m.start())
    segments: list[tuple[int, int, str | None]] = []
    bounds = sorted({0, *cuts, len(para)})
    for a, b in zip(bounds, bounds[1:], strict=False):
        s, e = _trim(text, start + a, start + b)
        if s == e:
            continue
        if a in captions and segments and segments[-1][2] is None:
            ps, pe, _ = segments[-1]
            if len(text[ps:pe].split()) < CAPTION_SENTENCE_WORDS:
                segments[-1] = (ps, pe, "caption")
        segments.append((s, e, cuts.get(a) or (None if _LETTER.search(text, s, e) else "noise")))
    return segments


def _paragraph_reason(
    text: str, start: int, end: int, reasons: list[str | None], first: bool, last: bool
) -> str | None:
    """Reason to drop a whole paragraph: a caption, or a heading with a paragraph after it, else None.

    Args:
        text: The whole text.
        start: Where the paragraph starts.
        end: Where it ends.
        reasons: The sentence-level reasons of its sentences, None for those kept so far.
        first: Whether it is the first paragraph (which may be the headline repeated, a longer heading).
        last: Whether it is the last paragraph (a heading heads something: the last one is not).
    """
    para = text[start:end]
    words = len(para.split())
    # The length checks keep the end-anchored search cheap, and whole one-paragraph scrapes out of it.
    short = words <= CAPTION_WORDS and len(para) <= 10 * CAPTION_WORDS and len(reasons) <= MAX_GROUP
    if short and _CAPTION_END.search(para):
        return "caption"
    limit = HEADLINE_WORDS if first else HEADING_WORDS
    if reasons == [None] and not last and words <= limit and not _TERMINAL.search(para):
        return "heading"
    return None


def _sentence_reason(sentence: str) -> str | None:
    """The reason of the first sentence-level rule that matches, else None."""
    for reason, pattern in _SENTENCE_RULES:
        if pattern.search(sentence):
            return reason
    return None


def _truncated(sentence: str) -> str | None:
    """``"truncated"`` if the text's last sentence was cut off by the scraper, else None.

    Cut-offs show as "...would take the.", a trailing ellipsis, or a short fragment with no terminal
    punctuation. A long unpunctuated last sentence is kept: many real claims lack the final full stop.
    """
    if _ELLIPSIS.search(sentence) or (_DANGLING.search(sentence) and not sentence.endswith(("?", "!"))):
        return "truncated"
    if not _TERMINAL.search(sentence) and len(sentence.split()) < FRAGMENT_WORDS:
        return "truncated"
    return None


def _passages(text: str, run: list[tuple[int, int]], max_words: int) -> list[Passage]:
    """Group consecutive kept sentences of a paragraph into passages, then split overlong ones."""
    groups: list[list[tuple[int, int]]] = []
    sizes: list[int] = []
    for s, e in run:
        n = len(text[s:e].split())
        if groups and len(groups[-1]) < MAX_GROUP and sizes[-1] + n <= max_words:
            prev = text[groups[-1][0][0] : groups[-1][-1][1]]
            quoted = _CLOSING_QUOTE.search(prev) and _ATTRIBUTION.match(text[s:e])
            if n < FRAGMENT_WORDS or sizes[-1] < FRAGMENT_WORDS or quoted:
                groups[-1].append((s, e))
                sizes[-1] += n
                continue
        groups.append([(s, e)])
        sizes.append(n)
    out = []
    for group in groups:
        for s, e in _split_long(text, group[0][0], group[-1][1], max_words):
            out.append(Passage(s, e, text[s:e]))
    return out


# Clause boundaries to split an overlong sentence at, best first; the cut is at the end of group 1.
_CLAUSE_BREAKS = [
    re.compile(r"(;)\s"),  # "... said on Monday; the ministry ..."
    re.compile(  # "..., and", "..., which", "..., although"
        r"(,)\s+(?=(?:and|but|while|whereas|which|who|whom|although|though|because|since|after|before|when"
        r"|where|as|so|yet|saying|adding|according)\b)"
    ),
    re.compile(r"(,|\s[—–-])\s"),  # any comma or dash, only near the middle
]


def _split_long(text: str, start: int, end: int, max_words: int) -> list[tuple[int, int]]:
    """Split ``text[start:end]`` into pieces of at most ``max_words`` words, at a clause boundary if any."""
    words = [m.start() for m in _WORD.finditer(text, start, end)]
    n = len(words)
    if n <= max_words:
        return [(start, end)]
    best = None
    for rank, pattern in enumerate(_CLAUSE_BREAKS):
        lo, hi = (FRAGMENT_WORDS, n - FRAGMENT_WORDS) if rank < 2 else (n // 4, n - n // 4)
        for m in pattern.finditer(text, start, end):
            k = bisect_right(words, m.end(1))  # words left of the cut
            if lo <= k <= hi and (best is None or abs(k - n / 2) < abs(best[0] - n / 2)):
                best = (k, m.end(1))
        if best:
            break
    cut = best[1] if best else words[n // 2]
    left, right = _trim(text, start, cut), _trim(text, cut, end)
    return _split_long(text, *left, max_words) + _split_long(text, *right, max_words)


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    """``(start, end)`` moved inward past whitespace; ``start == end`` if nothing is left."""
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end
