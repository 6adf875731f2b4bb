import numpy as np
from datasketch import MinHash

from assistant.text import minhash

STORY = ("Turkey's parliament ratified a security and military cooperation agreement with the internationally "
         "recognised government in Tripoli on Saturday, opening the way for Ankara to send military support "
         "if it is asked for, officials said, as Haftar's forces pressed their attack on the capital.")


def reference(text: str) -> np.ndarray:
    """datasketch's own MinHash, its permutations drawn afresh: what the cached permutations must reproduce."""
    m = MinHash(num_perm=minhash.NUM_PERM, seed=minhash.SEED, scheme=minhash.SCHEME)
    m.update_batch(list(minhash.shingles(text)))
    return m.hashvalues.astype(np.uint32)


def test_signature_matches_datasketch_drawing_its_own_permutations():
    for text in (STORY, STORY.replace("Saturday", "Sunday"), STORY + " " + STORY):
        assert np.array_equal(minhash.signature(text), reference(text))
    assert minhash.signature(STORY).dtype == np.uint32


def test_short_texts_get_no_signature():
    assert minhash.signature("Dividend of 10 cents a share declared.") is None
