"""An article's MinHash fingerprint (word 5-shingles, 128 permutations): a stateless per-article stage, computed
where articles are prepared (on the Ray workers too), so the index writer only looks signatures up in its LSH
(`index/groups.py`)."""
from __future__ import annotations

import re
from functools import lru_cache

import numpy as np

NUM_PERM = 128
SHINGLE = 5
SEED = 1
SCHEME = "affine32"  # datasketch 2 permutation scheme: 32-bit hash values
MIN_WORDS = 30  # shorter texts (dividend notices, one-line briefs) are templates more than copies: never grouped
_WORD = re.compile(r"\w+")


def shingles(text: str, n: int = SHINGLE) -> set[bytes]:
    words = _WORD.findall(text.casefold())
    if len(words) < n:
        return {" ".join(words).encode()} if words else set()
    return {" ".join(words[i:i + n]).encode() for i in range(len(words) - n + 1)}


def signature(text: str) -> np.ndarray | None:
    """The MinHash of `text`'s word shingles as NUM_PERM uint32 values; None for a text under MIN_WORDS words."""
    from datasketch import MinHash

    if len(_WORD.findall(text)) < MIN_WORDS:
        return None
    m = MinHash(num_perm=NUM_PERM, seed=SEED, scheme=SCHEME, permutations=_permutations())
    sh = shingles(text)
    if sh:
        m.update_batch(list(sh))
    return m.hashvalues.astype(np.uint32)


@lru_cache(maxsize=1)
def _permutations():  # noqa: ANN202
    """The seeded permutations, drawn once per process: drawing them per article was a fifth of the signatures' time."""
    from datasketch import MinHash

    return MinHash(num_perm=NUM_PERM, seed=SEED, scheme=SCHEME).permutations


def to_bytes(sig: np.ndarray | None) -> bytes | None:
    return None if sig is None else sig.astype("<u4").tobytes()


def from_bytes(blob: bytes | None) -> np.ndarray | None:
    return None if blob is None else np.frombuffer(blob, dtype="<u4").copy()
