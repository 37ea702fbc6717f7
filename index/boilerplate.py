"""Boilerplate rules: photo captions and credits, requests for comment, prompts, bylines.

Small tables of compiled regexes used by ``index.passages``; they favour precision: a rule that might
drop a real claim sentence is narrowed until it does not. Patterns begin with a literal where they
can, because Python's ``re`` then scans for it in C (a leading ``\\b`` is ten times slower).
"""

from __future__ import annotations

import re

# Photo agencies, as they end a credit.
_AGENCY = (
    r"(?:Getty Images|AFP|AP|Reuters|REUTERS|EPA(?:-EFE)?|Shutterstock|Alamy|Rex|Sipa|ZUMA(?: Wire)?"
    r"|Anadolu Agency|Bloomberg|NurPhoto|SOPA Images|LightRocket|TASS|Sputnik|Xinhua|PA|UPI|Ukrinform)"
)

# Paragraph-level: a short paragraph that ends in a photo credit is a caption, all of it. Matched against
# the paragraph's last CREDIT_TAIL characters.
CREDIT_TAIL = 200
CAPTION_END = re.compile(
    r"(?:"
    # "... Mikhail Svetlov/Getty Images" (seed 000), "... Maxim Shipenkov/EPA", "... AFP via Getty Images"
    rf"/\s?{_AGENCY}|Getty Images"
    # "... Sergey Bobok/Sipa USA": Firstname Lastname/Organisation
    r"|\b[A-Z][\w.'’-]+ [A-Z][\w.'’-]+\s?/\s?[A-Z][\w.&'’ -]*"
    # "... (Photo by Jane Doe/AFP)", "... (Photo AP)"
    r"|\((?:Photo|Image|Picture)s?\b[^()]*\)"
    # "... Photograph: Roscosmos", "Credit: ...", "... AP Photo/Efrem Lukatsky", "... REUTERS/Gleb Garanich"
    r"|\b(?:Photograph|Photo|Picture|Image|Illustration|Composite|Credit)s?:[^.!?]*|AP Photo\b[^.!?]*"
    r"|REUTERS/[^.!?]*"
    r")\s*$"
)

# Inline: spans cut out of a paragraph wherever they stand, whatever the sentence splitter made of them,
# as (reason, needles, pattern, whether the sentence just before is the caption the credit belongs to).
# The pattern is only searched in a paragraph that holds one of the needles (a cheap substring test).
INLINE: tuple[tuple[str, tuple[str, ...], re.Pattern[str], bool], ...] = (
    # "... largely symbolic. Joe Biden. Photograph: Getty Images They came on the same day ..." (live blogs)
    (
        "caption",
        ("Photograph: ",),
        re.compile(rf"Photograph: (?:[^/\n.]{{1,40}}?\s?/\s?)*{_AGENCY}\b(?: via Getty Images)?"),
        True,
    ),
    # "... in Damascus August 21 2013. REUTERS/Bassam Khabieh We hope ...": a credit of one or two names
    ("caption", ("REUTERS/",), re.compile(r"REUTERS/(?:Stringer|[A-Z][\w'’-]+(?: [A-Z][\w'’-]+)?)"), True),
    # "... the spokesman relayed. AP Photo Hussein Malla Over 20 ...": the next item's picture, keep before
    ("caption", ("AP Photo",), re.compile(r"AP Photo[/ ][A-Z][\w'’-]+(?: [A-Z][\w'’-]+)?"), False),
    # "... on July 9 2016 (Photo AFP) Syrian state media says ..."
    (
        "caption",
        ("(Photo", "(Image", "(Picture"),
        re.compile(r"\((?:Photo|Image|Picture)s? (?:by )?[^()]{1,80}\)"),
        False,
    ),
    # "... push back regime advances. [Click to enlarge] "All the factions ..."
    ("prompt", ("enlarge",), re.compile(r"[\[(]Click to enlarge[\])]", re.I), False),
    # "... nearly daily basis. Read Also": glued to the last sentence
    ("prompt", ("Read Also",), re.compile(r"Read Also$"), False),
    # "... on September 5. ... 016 Tags civilian deaths ...", "... 154 Related Russian ...": Sputnik's trailer
    ("prompt", ("... ",), re.compile(r"\.\.\. [\d ]*(?:Tags|Related|Topic) .*$"), False),
    # "... in the WHO statement. - REUTERS", "... the lifting of sieges.-AFP": a wire's sign-off at the end
    (
        "byline",
        ("Reuters", "REUTERS", "AFP", "AP", "SANA", "TASS", "Xinhua"),
        re.compile(r"(?<=[.!?\"”])\s?[-–—]+\s?(?:Reuters|REUTERS|AFP|AP|SANA|TASS|Xinhua)$"),
        False,
    ),
)


def _rule(
    reason: str, needles: tuple[str, ...], *patterns: str
) -> tuple[str, tuple[str, ...], re.Pattern[str]]:
    """A sentence rule: ``patterns`` as one regex, searched only if one of ``needles`` is in the sentence.

    Without needles the patterns are anchored at the sentence start, which is cheap to try; searching
    everywhere for an alternation is not (``re`` finds no literal to scan for), a substring test is.
    """
    joined = "|".join(patterns)
    return reason, needles, re.compile(f"(?:{joined})" if needles else f"^(?:{joined})")


# Sentence-level: a sentence that matches its reason's regex is dropped whole.
SENTENCE_RULES = (
    _rule(
        "comment-request",
        ("comment",),
        # "Newsweek has reached out to the Russian Defense Ministry and NATO for comment." (seed 000)
        r"\b(?:reached out to|contacted|approached)\b.{0,120}\bfor (?:a )?comment\b",
        # "... did not immediately respond to a request for comment.", "Neither company responded to ..."
        r"\b(?:respond(?:ed)?|repl(?:y|ied)) to (?:\w+ ){0,2}requests? for comment",
        # "Mr. Bausman could not be reached for comment.", "... not immediately available for comment."
        r"\b(?:be reached|(?:was|were|is|are) not (?:immediately )?available) for comment",
        # "Currentzis, through his representatives, declined to comment."
        r"\bdeclined to comment\b",
    ),
    _rule(
        "prompt",
        (),
        # "Read more: Bravo! ...", "Click here for ...", "Follow us on Instagram.", "Share this article"; not
        # longer ones: "Read more here <a headline> The opposition fighters launched a counteroffensive ..."
        r"(?:Read more|READ MORE|Read also|See also|Related|Click here|Click to|Tap here|Follow us"
        r"|Follow \w+ on|FOLLOW|Share this|Share on)\b(?!.{100})",
    ),
    _rule(
        "prompt",
        ("ubscribe", "UBSCRIBE", "ign up", "Read ", "newsletters@", "Comment via", "Telegram", "miss out"),
        # "Sign up to First Edition, our free daily newsletter", "Subscribe to our Youtube channel"
        r"(?:[Ss]ubscribe|[Ss]ign up|SUBSCRIBE)\b.{0,60}\b(?:newsletter|channel|inbox|alerts|updates)",
        # Guardian's related link "Kherson's secret art society produces ... Read more"
        r"Read more$",
        # "... please email newsletters@theguardian.com", "... Comment via Facebook", "Dont miss out on ..."
        r"newsletters@|Comment via Facebook|sign up to our Telegram|Don'?t miss out",
    ),
    _rule(
        "byline",
        (),
        # "By Jane Doe", "By Jane Doe and John Roe, Reuters"
        r"By [A-Z][\w.'’-]*(?:(?:,? and |, | )[A-Z][\w.'’-]*){0,7}$",
        # "Jane Doe is a reporter at The Moscow Times." (short: a longer sentence may be news about her)
        r"[A-Z][\w'’-]+(?: [A-Z][\w.'’-]+){1,3} is (?:a|an|the) (?:[\w-]+ ){0,3}"
        r"(?:reporter|correspondent|writer|editor|journalist|columnist|contributor)s?"
        r" (?:at|for|with|based)\b(?!.{100})",
        # "Reporting by Oliver Holmes; Editing by John Stonestreet", "Our Standards:The Thomson ..."
        r"(?:Additional )?(?:[Rr]eporting|[Ww]riting|[Ee]diting|Compiled|Produced) by\b|Our Standards:",
        # "(Source: Syrian Coalition)", "Source TRT World and agencies", "(With AFP and Reuters)"
        r"\(?Sources?:? [^.!?]{1,60}\)?$|\(?With (?:[\w,]+ ){0,4}(?:AFP|Reuters|AP|agencies)\b",
        # "Manar al-Frieh/Manal", "R. Milhem / Ghossoun/H. Said": SANA's staff credits
        r"[A-Z][\w.'’-]*(?: [\w.'’-]+){0,2}(?: ?/ ?[A-Z][\w.'’-]*(?: [\w.'’-]+){0,2})+$",
    ),
    # "AFP, Associated Press And Reuters contributed to this report"
    _rule("byline", ("contributed",), r"contributed (?:reporting|to this report)\b"),
    # "Photograph: Getty Images", "REUTERS/Stringer", "(Photo AFP)": a credit split off on its own
    _rule(
        "caption", (), r"(?:Photograph|Photo|Picture|Image|Credit)s?:|REUTERS/|AP Photo\b|\(Photos?\b.*\)$"
    ),
)


def sentence_reason(sentence: str) -> str | None:
    """The reason of the first sentence-level rule that matches, else None."""
    for reason, needles, pattern in SENTENCE_RULES:
        if (not needles or any(map(sentence.__contains__, needles))) and pattern.search(sentence):
            return reason
    return None
