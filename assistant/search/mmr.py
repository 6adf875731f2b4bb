"""Maximal marginal relevance: a top k that does not repeat itself."""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np


def mmr(vecs: np.ndarray, scored: Sequence[tuple[int, float]], k: int, lam: float,
        texts: Mapping[int, str] | None = None) -> list[tuple[int, float]]:
    """Pick k of `scored` (row, score; best first), trading relevance against similarity to those already picked.

    `vecs[row]` is a row's vector. A passage whose text equals a chosen one (the same story filed under two ids)
    comes only when nothing else is left: its vector can differ by the embedded title, so the similarity penalty
    alone keeps it.
    """
    pool = list(scored[: max(k * 4, 20)])
    if not pool:
        return []
    rows = np.array([r for r, _ in pool])
    relevance = lam * np.array([score for _, score in pool])
    picked = vecs[rows]
    sims = picked @ picked.T
    said = [texts[r] for r in rows] if texts else None
    chosen = [0]
    left = list(range(1, len(pool)))
    while left and len(chosen) < k:
        spoken = {said[c] for c in chosen} if said else set()
        fresh = [j for j in left if not said or said[j] not in spoken] or left
        gain = relevance[fresh] - (1 - lam) * sims[np.ix_(fresh, chosen)].max(axis=1)
        best = fresh[int(np.argmax(gain))]
        chosen.append(best)
        left.remove(best)
    return [pool[c] for c in chosen]
