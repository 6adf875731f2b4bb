"""FAISS inner-product index keyed by chunk id: exact below a size threshold, HNSW above it."""
from __future__ import annotations

from pathlib import Path

import faiss
import numpy as np

from ..atomic import write_atomic
from .scan import MIN_ROWS, Int8Rows, top_exact

APPROX_THRESHOLD = 200_000
HNSW_M = 32
# Measured at 250k vectors around real chunk vectors (benchmarks/hnsw_recall.py, docs/speed.md): FAISS's default
# efConstruction 40 with efSearch 128 kept 91% of the exact top 10; 200 and 256 keep 97%, for ~1 ms a query.
HNSW_EF_CONSTRUCTION = 200
HNSW_EF_SEARCH = 256


def kind_for(n_vectors: int) -> str:
    return "flat" if n_vectors < APPROX_THRESHOLD else "hnsw"


class Vectors:
    """Vectors with their chunk ids; copy-on-write so readers keep searching a published state."""

    def __init__(self, dim: int, vecs: np.ndarray | None = None, ids: np.ndarray | None = None):
        self.dim = dim
        self.ids = ids if ids is not None else np.zeros(0, dtype="int64")
        self.kind = kind_for(len(self.ids))
        self._wrap(self._build(vecs if vecs is not None else np.zeros((0, dim), dtype="float32")))

    def _wrap(self, index: faiss.Index) -> None:
        """Keep the FAISS index (saved, cloned, searched when HNSW), its vectors and, for a large flat index, their
        int8 copy (`scan.py`: exact search reads a quarter of the bytes)."""
        self.index = index
        self.vecs = _stored(index, self.dim)
        self.int8 = Int8Rows(self.vecs) if self.kind == "flat" and len(self.vecs) >= MIN_ROWS else None

    def _build(self, vecs: np.ndarray) -> faiss.Index:
        index: faiss.Index
        if self.kind == "flat":
            index = faiss.IndexFlatIP(self.dim)
        else:
            index = faiss.IndexHNSWFlat(self.dim, HNSW_M, faiss.METRIC_INNER_PRODUCT)
            index.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
            index.hnsw.efSearch = HNSW_EF_SEARCH
        if len(vecs):
            index.add(np.ascontiguousarray(vecs, dtype="float32"))
        return index

    def __len__(self) -> int:
        return len(self.ids)

    def updated(self, add_vecs: np.ndarray, add_ids: np.ndarray, remove_ids: set[int]) -> Vectors:
        """A new `Vectors` with rows removed and added; `self` stays searchable meanwhile."""
        keep = ~np.isin(self.ids, np.fromiter(remove_ids, dtype="int64")) if remove_ids else slice(None)
        if remove_ids or self.kind != kind_for(len(self.ids) + len(add_ids)):
            return Vectors(self.dim, np.vstack([self.vecs[keep], add_vecs]), np.concatenate([self.ids[keep], add_ids]))
        new = Vectors.__new__(Vectors)
        new.dim, new.kind = self.dim, self.kind
        new.ids = np.concatenate([self.ids, add_ids])
        index = faiss.clone_index(self.index)
        if len(add_ids):
            index.add(np.ascontiguousarray(add_vecs, dtype="float32"))
        new._wrap(index)
        return new

    def top_rows(self, query: np.ndarray, k: int, mask: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(rows, scores) of the k nearest vectors that `mask` allows; rows index `ids` and `vecs` (FAISS rows are
        ours, no id map). Exact, except HNSW without a mask; a filtered HNSW search scans the allowed rows."""
        if not len(self.ids) or k <= 0:
            return np.zeros(0, dtype="int64"), np.zeros(0, dtype="float32")
        if self.kind == "flat" or mask is not None:
            return top_exact(self.vecs, self.int8, query.astype("float32"), k, mask)
        scores, rows = self.index.search(query.reshape(1, -1).astype("float32"), min(k, len(self.ids)))
        found = rows[0] >= 0
        return rows[0][found], scores[0][found]

    def bad_norms(self, tolerance: float = 0.01, block: int = 65536) -> int:
        """Rows whose length is not ≈ 1 (encoders give unit vectors): overwritten bytes show up here (NaN included)."""
        bad = 0
        for i in range(0, len(self.vecs), block):
            part = self.vecs[i:i + block]
            with np.errstate(over="ignore", invalid="ignore"):  # garbage overflows to inf: counted as bad
                norms = np.sqrt(np.einsum("ij,ij->i", part, part))
            bad += int(np.count_nonzero(~(np.abs(norms - 1.0) <= tolerance)))
        return bad

    def search(self, query: np.ndarray, k: int) -> list[tuple[int, float]]:
        rows, scores = self.top_rows(query, k)
        return [(int(self.ids[r]), float(s)) for r, s in zip(rows, scores)]

    def scores_for(self, query: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """Exact similarity of the query to chosen rows (for fusing with BM25 candidates)."""
        return self.vecs[rows] @ query.astype("float32")

    def save(self, path: Path) -> None:
        """The FAISS index at `path` and its chunk ids beside it, each written to a temp file then renamed."""
        write_atomic(path.with_suffix(".ids.npy"), lambda fh: np.save(fh, self.ids))
        writer = faiss.PyCallbackIOWriter  # type: ignore[attr-defined]
        write_atomic(path, lambda fh: faiss.write_index(self.index, writer(fh.write)))

    @classmethod
    def load(cls, path: Path, dim: int) -> Vectors:
        new = cls.__new__(cls)
        index = faiss.read_index(str(path))
        new.ids = np.load(path.with_suffix(".ids.npy"))
        if index.ntotal != len(new.ids) or index.d != dim:
            raise ValueError(f"{path}: {index.ntotal} vectors of dim {index.d} for {len(new.ids)} ids")
        new.dim, new.kind = dim, kind_for(len(new.ids))
        if isinstance(index, faiss.IndexHNSW):  # the file keeps the efSearch it was written with
            index.hnsw.efSearch = HNSW_EF_SEARCH
        new._wrap(index)
        return new


def _stored(index: faiss.Index, dim: int) -> np.ndarray:
    """The vectors FAISS holds, as a read-only numpy view (no second copy in memory).

    The view keeps `index` alive (it is the array's base), so it never outlives the memory it points to.
    Valid while `index` is not added to: a `Vectors` never changes its index after construction (updates
    build a new one).
    """
    if not index.ntotal:
        return np.zeros((0, dim), dtype="float32")
    flat = faiss.downcast_index(index.storage) if isinstance(index, faiss.IndexHNSW) else index
    raw = faiss.rev_swig_ptr(flat.get_xb(), index.ntotal * dim)  # type: ignore[attr-defined]
    view = np.asarray(_Owner(raw, index)).reshape(-1, dim)
    view.flags.writeable = False
    return view


class _Owner:
    """Array base that holds the FAISS index whose memory the array uses."""

    def __init__(self, raw: np.ndarray, index: faiss.Index):
        self.__array_interface__ = raw.__array_interface__
        self.index = index
