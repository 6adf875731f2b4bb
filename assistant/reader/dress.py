"""News dress for SQuAD's Wikipedia examples: titles and attributions, so that the reader trains on what it reads.

SQuAD in the MRQA form has no titles, and its sentences rarely carry the attributions news wraps around a fact
("…, according to the United Nations", "According to the French Press Agency, …"). The product always passes the
article's title as context and reads news, so a reader trained without both met them first in use: on the seed, the
title moved its short answer to "French Press Agency". Here each paragraph gets a pseudo-title (its most repeated
name, or the opening words of its first sentence, or none), and a share of examples, positives and negatives alike
so that neither is a label cue, gets an attribution outside the answer.
"""
from __future__ import annotations

import random
import re
import zlib
from collections import Counter
from collections.abc import Sequence
from dataclasses import replace

from .data import Example, Paragraph

SOURCES = ("the French Press Agency", "Reuters", "the Associated Press", "the United Nations", "officials",
           "a government spokesman", "local media", "witnesses", "analysts", "researchers", "diplomats",
           "the state news agency", "the defence ministry", "police", "a senior official", "aid workers")
NAME = re.compile(r"\b[A-Z][\w'-]+(?: (?:of |the |and |de )?[A-Z][\w'-]+)*")
OPENERS = frozenset("The A An In On At It Its This That These Those However He She They His Her After Before "
                    "During When While Since As By For From With Although According".split())
SAYS = ("accord", " say", " said", " tell", " told", "report", "claim", "announc", "state")


def pseudo_title(para: Paragraph) -> str:
    """A title for an untitled paragraph, fixed by its id: none (1 in 5), its opening words (3 in 10) or its most
    repeated name (the rest; a Wikipedia article is mostly named after what it repeats)."""
    roll = zlib.crc32(para.id.encode()) % 10
    opening = " ".join(para.text.split()[:8]).rstrip(",;:.")
    if roll < 2:
        return ""
    if roll < 5:
        return opening
    names: Counter[str] = Counter()
    for m in NAME.finditer(para.text):
        words = m.group(0).split()
        while words and words[0] in OPENERS:
            words = words[1:]
        if words:
            names[" ".join(words)] += 1
    return max(names, key=lambda n: (names[n], len(n))) if names else opening


def titled(paras: dict[str, Paragraph]) -> dict[str, Paragraph]:
    return {k: p if p.title else replace(p, title=pseudo_title(p)) for k, p in paras.items()}


def attribute(e: Example, rng: random.Random) -> Example:
    """`e` with an attribution before or after its sentence (or both); the answer span moves with the text."""
    source = rng.choice(SOURCES)
    s = e.sentence.rstrip()
    if (any(w in e.question.lower() for w in SAYS) or "according to" in s.lower()
            or source.split()[-1].lower() in e.question.lower() or not s.endswith(".")):
        return e
    span = e.span
    how = rng.random()
    if how < 0.6:
        s = s[:-1] + rng.choice((f", according to {source}.", f", {source} said.", f", {source} reported."))
        span = (span[0], min(span[1], len(e.sentence.rstrip()) - 1)) if span else None
    if how >= 0.4:
        lead = f"According to {rng.choice([x for x in SOURCES if x != source])}, "
        s = lead + s
        span = (span[0] + len(lead), span[1] + len(lead)) if span else None
    return replace(e, sentence=s, span=span)


def dress(examples: Sequence[Example], rate: float = 0.25, seed: int = 13) -> list[Example]:
    """A seeded `rate` share of the examples with an attribution (see `attribute`)."""
    rng = random.Random(seed)
    return [attribute(e, rng) if rng.random() < rate else e for e in examples]
