"""Character offsets of the words in a passage that a query matches (exact, via the index's analyzer)."""

from __future__ import annotations

import fnmatch

from search.query import expanding_patterns, positive_terms


class Highlighter:
    """``Highlighter(q, query_text)(passage_text)`` -> ``[(start, end), ...]`` character spans.

    Keyword and hybrid mode: the parsed query's positive terms and its prefix/wildcard/fuzzy patterns on
    ``text`` (terms under NOT are never highlighted). Semantic mode (``q`` None): the query's own words.
    """

    def __init__(self, q, query_text: str):
        from index.analysis import claim_analyzer

        self.analyzer = claim_analyzer()
        if q is not None:
            self.terms = positive_terms(q, "text")
            self.patterns = expanding_patterns(q, "text")
        else:
            self.terms = {t.text for t in self.analyzer(query_text, mode="query")}
            self.patterns = []

    def _matches(self, token: str) -> bool:
        if token in self.terms:
            return True
        for p in self.patterns:
            if p.__class__.__name__ == "FuzzyTerm":
                from whoosh.support.levenshtein import distance

                if distance(token, p.text) <= p.maxdist:
                    return True
            elif fnmatch.fnmatchcase(token, p.text if "Wildcard" in p.__class__.__name__ else p.text + "*"):
                return True
        return False

    def __call__(self, text: str) -> list[tuple[int, int]]:
        spans: list[tuple[int, int]] = []
        for t in self.analyzer(text, chars=True, mode="index"):
            if not t.stopped and self._matches(t.text):
                if spans and t.startchar < spans[-1][1]:
                    spans[-1] = (spans[-1][0], max(spans[-1][1], t.endchar))
                elif not spans or spans[-1] != (t.startchar, t.endchar):
                    spans.append((t.startchar, t.endchar))
        return spans
