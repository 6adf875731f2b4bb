"""Sentence spans with exact offsets, used to rescore passages and to quote answers.

Blingfire (compiled, offline) finds the boundaries: ~0.1 ms for a 1,000-character chunk against ~9 ms for pysbd,
which made splitting the candidates the largest cost of a search. Two things it does not know are added here:
hard-wrapped newswire (Reuters breaks lines every ~65 characters) is read as running text, while headings and
short lines keep standing alone; and a sentence never ends on a title such as "Gen." before a name.
"""
from __future__ import annotations

import re
from functools import lru_cache

import blingfire

_TITLES = {
    "adm", "capt", "cmdr", "col", "dr", "fr", "gen", "gens", "gov", "lt", "maj", "mr", "mrs", "ms", "mt", "prof",
    "rep", "reps", "rev", "sen", "sens", "sgt", "st", "pres",
}
_LAST_WORD = re.compile(r"(\w+)\.$")
_SOFT_END = re.compile(r"[,;:(\-–]$")
_SOFT_START = re.compile(r"^[a-z0-9(]")
WRAPPED_LINE_WORDS = 9  # a line this long ending mid-sentence is wrapped body text, not a heading


def soft_break(line: str, following: str) -> bool:
    """Whether the newline between two non-empty lines only wraps a sentence (read it as a space)."""
    line, following = line.rstrip(), following.lstrip()
    if _SOFT_START.match(following) or _SOFT_END.search(line):
        return True
    return line[-1:].islower() and len(line.split()) >= WRAPPED_LINE_WORDS


def blocks(text: str) -> list[tuple[int, int]]:
    """(start, end) of runs of lines that belong together: paragraphs, with headings and short lines alone."""
    out: list[tuple[int, int]] = []
    start = None
    pos = 0
    lines = text.split("\n")
    for i, line in enumerate(lines):
        end = pos + len(line)
        if line.strip():
            if start is None:
                start = pos
            nxt = lines[i + 1] if i + 1 < len(lines) else ""
            if not nxt.strip() or not soft_break(line, nxt):
                out.append((start, end))
                start = None
        pos = end + 1
    return out


def _split(block: str) -> list[tuple[int, int]]:
    """Blingfire's sentences, found back in `block` (its own offsets API walks every byte in Python: 10x slower)."""
    spans: list[tuple[int, int]] = []
    cursor = 0
    for piece in blingfire.text_to_sentences(block).split("\n") if block.strip() else ():
        piece = piece.strip()
        if not piece:
            continue
        at = block.find(piece, cursor)
        if at >= 0:
            end = at + len(piece)
        else:  # whitespace changed on the way: match the words, any spacing between them
            found = re.compile(r"\s+".join(map(re.escape, piece.split()))).search(block, cursor)
            if found is None:
                break
            at, end = found.span()
        skipped = block[cursor:at]
        if skipped.strip():  # characters blingfire dropped (control characters): they stay in the sentence
            at = cursor + len(skipped) - len(skipped.lstrip())
        if spans and _ends_with_title(block[spans[-1][0]:spans[-1][1]]):
            spans[-1] = (spans[-1][0], end)
        else:
            spans.append((at, end))
        cursor = end
    rest = block[cursor:]
    if rest.strip():  # never lose text: what could not be found back is one more sentence
        spans.append((cursor + len(rest) - len(rest.lstrip()), cursor + len(rest.rstrip())))
    return spans


def _ends_with_title(sentence: str) -> bool:
    m = _LAST_WORD.search(sentence)
    return m is not None and m.group(1).lower() in _TITLES


@lru_cache(maxsize=20_000)
def sentence_spans(text: str) -> tuple[tuple[int, int], ...]:
    """(start, end) of each sentence of `text`, stripped of surrounding whitespace; never empty ones."""
    out: list[tuple[int, int]] = []
    for b_start, b_end in blocks(text):
        block = text[b_start:b_end].replace("\n", " ")  # same length: offsets stay exact
        for s, e in _split(block):
            piece = block[s:e]
            s += len(piece) - len(piece.lstrip())
            e -= len(piece) - len(piece.rstrip())
            if e > s:
                out.append((b_start + s, b_start + e))
    return tuple(out)
