"""The reader's input recipe, shared by training and inference so that what is trained is what runs.

A BERT text pair: segment A is the question, segment B is `sentence [SEP] context` with context =
`title + ". " + previous sentence` (just the previous sentence when there is no title). The ids are assembled
here from per-text encodings rather than by `Tokenizer.encode(pair)`: the tokens are the same (tests check it),
and building them by hand lets the context be cut before the sentence and tells exactly which tokens are the
sentence's, the only ones the span head may point at.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

RECIPE = "pair-v1"  # bump when the layout below changes: reader.json records it and the loader checks it
MAX_LEN = 160
MAX_QUESTION = 48  # tokens of the question kept (a longer one is cut at its tail)
MAX_CONTEXT = 24  # tokens of title + previous sentence kept: enough to resolve "He ...", and every token costs


@dataclass(frozen=True)
class Encoded:
    ids: list[int]
    types: list[int]
    lo: int  # first token of the sentence
    hi: int  # one past its last token
    offsets: list[tuple[int, int]]  # char offsets in the sentence of tokens lo..hi


@lru_cache(maxsize=1)
def tokenizer():
    """The packaged MiniLM WordPiece tokenizer with truncation and padding off (done here instead)."""
    from tokenizers import Tokenizer

    from ..encoders import model_path

    tok = Tokenizer.from_file(str(model_path() / "tokenizer.json"))
    tok.no_truncation()
    tok.no_padding()
    return tok


def context(title: str, before: str) -> str:
    return f"{title.strip()}. {before.strip()}".strip() if title.strip() else before.strip()


def encode_many(items: Sequence[tuple[str, str, str, str]], max_len: int = MAX_LEN) -> list[Encoded]:
    """(question, sentence, title, before) rows to ids: [CLS] q [SEP] sentence [SEP] context [SEP].

    The context keeps MAX_CONTEXT tokens; over-long rows lose context tokens first, then the sentence's tail; the
    question keeps MAX_QUESTION tokens.
    """
    tok = tokenizer()
    cls, sep = tok.token_to_id("[CLS]"), tok.token_to_id("[SEP]")
    qs = tok.encode_batch([i[0] for i in items], add_special_tokens=False)
    ss = tok.encode_batch([i[1] for i in items], add_special_tokens=False)
    cs = tok.encode_batch([context(i[2], i[3]) for i in items], add_special_tokens=False)
    out = []
    for q, s, c in zip(qs, ss, cs):
        q_ids = q.ids[:MAX_QUESTION]
        room = max(max_len - len(q_ids) - 4, 1)
        s_ids = s.ids[:room]
        c_ids = c.ids[:min(MAX_CONTEXT, room - len(s_ids))]
        a = [cls, *q_ids, sep]
        b = [*s_ids, sep, *c_ids, sep]
        out.append(Encoded(a + b, [0] * len(a) + [1] * len(b), len(a), len(a) + len(s_ids),
                           list(s.offsets[:len(s_ids)])))
    return out


def batch_arrays(rows: Sequence[Encoded]) -> dict[str, np.ndarray]:
    """Padded int64 arrays (to the longest row) in the names the ONNX graph takes."""
    width = max(len(r.ids) for r in rows)
    ids = np.zeros((len(rows), width), dtype=np.int64)
    mask = np.zeros_like(ids)
    types = np.zeros_like(ids)
    for i, r in enumerate(rows):
        n = len(r.ids)
        ids[i, :n], mask[i, :n], types[i, :n] = r.ids, 1, r.types
    return {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}


def token_span(row: Encoded, start: int, end: int) -> tuple[int, int] | None:
    """Token positions (inclusive) covering chars [start, end) of the sentence; None if cut off or empty."""
    toks = [i for i, (a, b) in enumerate(row.offsets) if b > start and a < end]
    if not toks:
        return None
    return row.lo + toks[0], row.lo + toks[-1]
