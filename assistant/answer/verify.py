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
LEADING_MARKERS = re.compile(r"^(?:\s*\[\s*\d+(?:\s*[,;]\s*\d+)*\s*\]\s*[.,;]?)+\s*")
UNVERIFIED = "(unverified)"
REPEATED = "repeats an earlier sentence"  # said once already: left out even where unverified sentences are shown
# Small models open with talk about the prompt ("The passage is: …", "The answer is …"); the claim is what follows.
LEAD_IN = re.compile(r"^(?:(?:the|this) answer(?: to the question)? (?:is|would be)\s*:?|"
                     r"(?:the|this) (?:passage|text|article)s?(?: number)?(?:\s*\d+)? (?:is|says|states|reads)\s*[:\"“]|"
                     r"according to (?:the )?(?:passage|text|article)s?(?:\s*\d+)?\s*,)\s*[\"“]?", re.I)


@dataclass
class Draft:
    """One generated sentence: its words without markers, and the passage numbers it cited (1-based)."""

    text: str
    markers: list[int]


def split_claims(text: str) -> list[Draft]:
    """Sentences with their markers; a marker the sentence splitter cut off ("… Paris. [1]", or after a closing
    quote, "… jets.” [1] Next sentence") joins its sentence."""
    drafts: list[Draft] = []
    for s, e in sentence_spans(text.strip()):
        piece = text.strip()[s:e]
        lead = LEADING_MARKERS.match(piece)
        if lead and drafts:
            drafts[-1].markers += [n for n in markers(lead.group(0)) if n not in drafts[-1].markers]
            piece = piece[lead.end():]
        found = markers(piece)
        if not piece.strip():
            continue
        words = " ".join(MARKER.sub(" ", piece).split())
        words = re.sub(r"\s+([.,;:!?])", r"\1", words)
        bare = LEAD_IN.sub("", words).strip()
        if bare != words and len(re.findall(r"\w+", bare)) >= 2:
            words = bare[0].upper() + bare[1:]
            if words.count('"') % 2 or words.count("“") != words.count("”"):  # the lead-in's quote opened it
                words = re.sub(r"[\"“”]", "", words)
        if len(re.findall(r"\w+", words)) < 2:  # stray fragments ("1.", "Answer:") are not claims
            continue
        drafts.append(Draft(words, list(dict.fromkeys(found))))
    return drafts


def markers(text: str) -> list[int]:
    return [int(n) for group in MARKER.findall(text) for n in re.split(r"[,;]", group)]


def repeats(text: str, n: int = 6) -> bool:
    """A sentence that says the same six words twice has looped (a small model's failure), not made a claim; four
    would catch "the president of the United States" said of two people."""
    words = re.findall(r"\w+", text.lower())
    grams = [tuple(words[i:i + n]) for i in range(len(words) - n + 1)]
    return len(grams) != len(set(grams))


@dataclass
class Checked:
    claim: Claim
    supports: dict[int, Support]  # passage index (0-based) -> support, for the passages the claim now cites


def check(draft: Draft, passages: Sequence[Passage], scorer: SupportScorer) -> Checked:
    """Verify one sentence; re-point it when a retrieved passage other than the cited one supports it."""
    thr = scorer.threshold
    if repeats(draft.text):
        return Checked(Claim(draft.text, draft.markers, 0.0, False, "repeats itself"), {})
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
        good = {i: s for i, s in cited.items() if s.raw >= thr and "a negation" not in s.missing}
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
    checked, said = [], set()
    for d in split_claims(text):
        if d.text.lower() in said:  # a small model may write the same sentence twice: say it once
            checked.append(Checked(Claim(d.text, d.markers, 0.0, False, REPEATED), {}))
            continue
        said.add(d.text.lower())
        checked.append(check(d, passages, scorer))
    numbering: dict[int, int] = {}  # passage index -> citation number
    quotes: dict[int, list[Support]] = {}
    parts = []
    for c in checked:
        if not c.claim.verified:
            if not strict and c.claim.note != REPEATED:
                parts.append(f"{c.claim.text} {UNVERIFIED}")
            continue
        ns = []
        for i, s in c.supports.items():
            numbering.setdefault(i, len(numbering) + 1)
            ns.append(numbering[i])
            quotes.setdefault(i, []).append(s)
        c.claim.cited = sorted(ns)
        parts.append(c.claim.text + " " + "".join(f"[{n}]" for n in sorted(ns)))
    citations = []
    for i, n in sorted(numbering.items(), key=lambda kv: kv[1]):
        p = passages[i]
        start, end, score = _quote(p.text, quotes[i])
        citations.append(Citation(n, p.article_id, p.title, p.chunk_id, p.start, p.end, p.text, p.text[start:end],
                                  p.start + start, p.start + end, score, p.date, p.source))
    return " ".join(parts), [c.claim for c in checked], citations


def _quote(text: str, supports: list[Support], most: int = 600) -> tuple[int, int, float]:
    """One quote for every claim that cites this passage: the span over all their evidence when it stays short
    (two claims from neighbouring sentences both get highlighted), else the best-supporting window."""
    best = max(supports, key=lambda s: s.score)
    start, end = min(s.start for s in supports), max(s.end for s in supports)
    if end - start > most:
        start, end = best.start, best.end
    return (*_trim(text, start, end), best.score)


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    """The quote without surrounding whitespace, and never empty (the whole first sentence at worst)."""
    piece = text[start:end]
    start, end = start + len(piece) - len(piece.lstrip()), end - (len(piece) - len(piece.rstrip()))
    if end > start:
        return start, end
    spans = sentence_spans(text)
    return spans[0] if spans else (0, len(text))
