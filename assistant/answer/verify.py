"""Check a generated answer sentence by sentence against the passages it cites; only what holds reaches the user.

Each sentence must end with at least one marker [n] naming a retrieved passage, and that passage must support
it (`support.py`: the hard number/name rule plus a fitted score). A sentence whose marker names the wrong
passage is re-pointed to the retrieved passage that does support it; a sentence without a marker, or citing a
passage that does not exist, is unsupported. Unsupported sentences are dropped (with `strict=False`: kept and
flagged "unverified"). Citations are renumbered in order of use and quote the best-supporting sentence, with
exact article offsets.
"""
from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from ..text.sentences import sentence_spans
from ..types import Citation, Claim, Passage
from .support import Support, SupportScorer, missing

MARKER = re.compile(r"\[\s*(\d+(?:\s*[,;]\s*\d+)*)\s*\]")
ONLY_MARKERS = re.compile(r"^(?:\s*\[\s*\d+(?:\s*[,;]\s*\d+)*\s*\]\s*[.,;]?)+\s*$")
UNVERIFIED = "(unverified)"


@dataclass
class Draft:
    """One generated sentence: its words without markers, and the passage numbers it cited (1-based)."""

    text: str
    markers: list[int]


def split_claims(text: str) -> list[Draft]:
    """Sentences with their markers; a marker the sentence splitter cut off ("… Paris. [1]") joins its sentence."""
    drafts: list[Draft] = []
    for s, e in sentence_spans(text.strip()):
        piece = text.strip()[s:e]
        found = [int(n) for group in MARKER.findall(piece) for n in re.split(r"[,;]", group)]
        if ONLY_MARKERS.match(piece) and drafts:
            drafts[-1].markers += [n for n in found if n not in drafts[-1].markers]
            continue
        words = " ".join(MARKER.sub(" ", piece).split())
        words = re.sub(r"\s+([.,;:!?])", r"\1", words)
        if len(re.findall(r"\w+", words)) < 2:  # stray fragments ("1.", "Answer:") are not claims
            continue
        drafts.append(Draft(words, list(dict.fromkeys(found))))
    return drafts


@dataclass
class Checked:
    claim: Claim
    supports: dict[int, Support]  # passage index (0-based) -> support, for the passages the claim now cites


def check(draft: Draft, passages: Sequence[Passage], scorer: SupportScorer) -> Checked:
    """Verify one sentence; re-point it when a retrieved passage other than the cited one supports it."""
    thr = scorer.threshold
    if not draft.markers:
        return Checked(Claim(draft.text, [], 0.0, False, "no citation marker"), {})
    if any(not 1 <= n <= len(passages) for n in draft.markers):
        bad = [n for n in draft.markers if not 1 <= n <= len(passages)]
        return Checked(Claim(draft.text, draft.markers, 0.0, False,
                             f"cites passage {', '.join(map(str, bad))}, which was not retrieved"), {})
    cited = {n - 1: scorer.support(draft.text, passages[n - 1].text) for n in draft.markers}
    good = {i: s for i, s in cited.items() if s.score >= thr}
    if not good and len(cited) > 1 and not missing(draft.text, " ".join(passages[i].text for i in cited)):
        # a sentence joining facts of several cited passages: names and numbers may come from any of them
        good = {i: s for i, s in cited.items() if s.raw >= thr}
    if good:
        best = max(max(s.score, s.raw) for s in good.values())
        return Checked(Claim(draft.text, draft.markers, best, True), good)
    others = {i: scorer.support(draft.text, p.text) for i, p in enumerate(passages) if i not in cited}
    fits = {i: s for i, s in others.items() if s.score >= thr}
    if fits:
        i = max(fits, key=lambda j: fits[j].score)
        note = f"re-pointed from [{', '.join(map(str, draft.markers))}] to [{i + 1}]"
        return Checked(Claim(draft.text, draft.markers, fits[i].score, True, note), {i: fits[i]})
    best_cited = max(cited.values(), key=lambda s: s.score)
    lost = sorted({m for s in cited.values() for m in s.missing})
    why = (f"{', '.join(lost)} not in the cited passage" if lost
           else f"support {best_cited.score:.2f} below {thr:.2f}")
    return Checked(Claim(draft.text, draft.markers, best_cited.score, False, why), {})


def verify(text: str, passages: Sequence[Passage], scorer: SupportScorer,
           strict: bool = True) -> tuple[str, list[Claim], list[Citation]]:
    """The verified answer text (markers renumbered), every sentence's `Claim`, and the citations it uses."""
    checked = [check(d, passages, scorer) for d in split_claims(text)]
    numbering: dict[int, int] = {}  # passage index -> citation number
    quotes: dict[int, Support] = {}
    parts = []
    for c in checked:
        if not c.claim.verified:
            if not strict:
                parts.append(f"{c.claim.text} {UNVERIFIED}")
            continue
        ns = []
        for i, s in c.supports.items():
            numbering.setdefault(i, len(numbering) + 1)
            ns.append(numbering[i])
            if i not in quotes or s.score > quotes[i].score:
                quotes[i] = s
        c.claim.cited = sorted(ns)
        parts.append(c.claim.text + " " + "".join(f"[{n}]" for n in sorted(ns)))
    citations = []
    for i, n in sorted(numbering.items(), key=lambda kv: kv[1]):
        p, q = passages[i], quotes[i]
        start, end = _trim(p.text, q.start, q.end)
        citations.append(Citation(n, p.article_id, p.title, p.chunk_id, p.start, p.end, p.text, p.text[start:end],
                                  p.start + start, p.start + end, q.score, p.date, p.source))
    return " ".join(parts), [c.claim for c in checked], citations


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    """The quote without surrounding whitespace, and never empty (the whole first sentence at worst)."""
    piece = text[start:end]
    start, end = start + len(piece) - len(piece.lstrip()), end - (len(piece) - len(piece.rstrip()))
    if end > start:
        return start, end
    spans = sentence_spans(text)
    return spans[0] if spans else (0, len(text))
