"""Sentence starts in a paragraph: blingfire, then three repairs measured on news text.

blingfire (a fast, trained splitter) is the base. Measured on the cases of issue 12, it splits after
a title before a name ("governor. Mr." / "Kovalenko has ..."), never splits all-lower-case text
("... nine drones. the governor said ..."), and never splits a full stop glued to the next sentence
("overnight.The governor"). syntok 1.4.4 was measured on the same cases: it joins "Mr. Kovalenko" and
splits the glued stop, but also never splits lower-case text and splits after "Maj.", "Rep." and
"Gov.", so it is not used. The repairs:

* no sentence ends in a title or an initial: a cut after ``Mr.``, ``Gen.``, ``Lt. Col.``, ``Sen.``,
  ``St.``, ``J.``, ``U.S.`` (and the rest of ``TITLES``) is undone when a capitalised word follows;
  ``No.`` and month abbreviations are joined to a following number;
* a full stop glued to a capitalised word (``overnight.The``) is a cut, but not inside a token that
  looks like a URL, e-mail or file name, nor in ``U.S.``, ``1.5``, ``No.10``;
* in a paragraph without a capital letter, ``. `` before a lower-case word is a cut unless the word
  before is a lower-case abbreviation (``e.g.``, ``etc.``, ``approx.``...).
"""

from __future__ import annotations

import re
from bisect import bisect_right
from itertools import accumulate

import blingfire

_TOKEN = re.compile(r"[^ ]+")  # words of a blanked paragraph, where " " is the only space left
# Titles and ranks news puts before a name (military, political, clerical, civil).
TITLES = (
    "Mr|Mrs|Ms|Mx|Messrs|Dr|Drs|Prof|Rev|Fr|Hon|Rt|Sir|Gen|Gens|Lt|Col|Maj|Capt|Cpt|Cmdr|Cdr|Comdr|Cmdt|Brig"
    "|Adm|Sgt|Cpl|Pvt|Pte|Spc|Ens|Sra|Mme|Mlle|Pres|Sen|Rep|Reps|Gov|Govs|Amb|Sec|Atty|Supt|Insp|Det"
    "|Cllr|Mgr|Msgr|St|Ste|Mt|Ft|Pt"
)
_TITLE_END = re.compile(rf"(?:^|[\s(\[\"'“‘-])(?:{TITLES})\.$")
_INITIALS_END = re.compile(r"(?:^|[\s(\[\"'“‘-])(?:[A-Z]\.){1,4}$")  # "J.", "J. R. R.", "U.S.", "U.K."
_BEFORE_NUMBER = re.compile(
    r"(?:^|\s)(?:No|Nos|Nr|Art|Vol|Fig|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec|p|pp)\.$", re.I
)
_NAME_START = re.compile(r"[A-Z][\w'’-]")  # a capitalised word: what a title or an initial is before
# "overnight.The", "strikes!Officials", "said.\"The": two lower-case letters, a stop, a capital word.
_GLUED = re.compile(r"(?<=[a-z]{2}[.!?])[\"”’)\]]?(?=[A-Z][a-z])")
_URLISH = re.compile(r"/|@|www\.|\.(?:com|org|net|gov|html?|php|pdf|jpe?g|png)\b", re.I)
# Lower-case text: a stop (maybe in closing quotes), spaces, a lower-case letter.
_LOWER_STOP = re.compile(r"(?<=[a-z0-9%)][.!?])[\"”’)\]]*( +)(?=[a-z])")
_LOWER_ABBREVIATION = re.compile(
    r"(?:^|\s)(?:e\.g|i\.e|etc|vs|approx|incl|est|cf|al|ca|no|nos|mr|mrs|ms|dr|st|gen|col|lt|sgt|u\.s|a\.m|p\.m)\.$"
)


def sentence_starts(para: str) -> list[int]:
    """Offsets in ``para`` (blanked: " " its only space) where a sentence starts, but the first.

    Args:
        para: One paragraph in which every whitespace character is a plain space.

    Returns:
        Sorted offsets; each is the first non-space character of a sentence.
    """
    starts = [c for c in _blingfire_starts(para) if not _joined(para, c)]
    starts += [m.end() for m in _GLUED.finditer(para) if not _URLISH.search(_token_at(para, m.end()))]
    if not any(ch.isupper() for ch in para):
        starts += [
            m.end()
            for m in _LOWER_STOP.finditer(para)
            if not _LOWER_ABBREVIATION.search(para[max(0, m.start(1) - 12) : m.start(1)])
        ]
    return sorted(set(starts))


def _joined(para: str, cut: int) -> bool:
    """Whether a cut at ``cut`` would leave a title or an initial at the end of a sentence."""
    before = para[max(0, cut - 24) : cut].rstrip()
    after = para[cut : cut + 2]
    if _NAME_START.match(after) and (_TITLE_END.search(before) or _INITIALS_END.search(before)):
        return True
    return after[:1].isdigit() and bool(_BEFORE_NUMBER.search(before))


def _token_at(para: str, offset: int) -> str:
    """The space-delimited token around ``offset``."""
    start = para.rfind(" ", 0, offset) + 1
    end = para.find(" ", offset)
    return para[start : end if end >= 0 else len(para)]


def _blingfire_starts(para: str) -> list[int]:
    """Offsets in ``para`` (blanked: " " its only space) where blingfire starts a sentence, but the first."""
    sentences = blingfire.text_to_sentences(para)
    if "\n" not in sentences:
        return []
    if sentences.replace("\n", " ") == para:  # usual case: one space between sentences
        return [m.end() for m in re.finditer("\n", sentences)]
    tokens = [(m.start(), m.end()) for m in _TOKEN.finditer(para)]
    ends = list(accumulate(e - s for s, e in tokens))  # non-space characters up to each token's end
    lines = sentences.split("\n")
    if sum(len(s) - s.count(" ") for s in lines) != ends[-1]:
        return []
    starts, seen = [], 0
    for line in lines[:-1]:
        seen += len(line) - line.count(" ")
        k = bisect_right(ends, seen)  # the token that holds the next sentence's first character
        if k < len(tokens):
            starts.append(tokens[k][1] - (ends[k] - seen))
    return starts
