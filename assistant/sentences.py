"""Sentence spans with exact offsets (pysbd, offline), used to rescore passages and to quote answers."""
from __future__ import annotations

from functools import lru_cache

import pysbd


@lru_cache(maxsize=1)
def _segmenter() -> pysbd.Segmenter:
    return pysbd.Segmenter(language="en", clean=False)


@lru_cache(maxsize=4096)
def sentence_spans(text: str) -> tuple[tuple[int, int], ...]:
    """(start, end) of each sentence; lines are never joined, so headings stand alone."""
    spans: list[tuple[int, int]] = []
    line_start = 0
    for line in text.split("\n"):
        cursor = 0
        if line.strip():
            for piece in _segmenter().segment(line):
                piece = piece.strip()
                if not piece:
                    continue
                at = line.find(piece, cursor)
                if at < 0:  # the segmenter altered the text; fall back to the rest of the line
                    piece, at = line[cursor:].strip(), line.find(line[cursor:].strip(), cursor)
                    if not piece:
                        break
                spans.append((line_start + at, line_start + at + len(piece)))
                cursor = at + len(piece)
        line_start += len(line) + 1
    return tuple(spans)
