"""FAISS inner-product index keyed by chunk id: exact below a size threshold, HNSW above it."""
from __future__ import annotations

import os
from pathlib import Path

import faiss
import numpy as np

APPROX_THRESHOLD = 200_000
HNSW_M = 32
HNSW_EF_SEARCH = 128


def kind_for(n_vectors: int) -> str:
    return "flat" if n_vectors < APPROX_THRESHOLD else "hnsw"


class Vectors:
    """Vectors with their chunk ids; copy-on-write so readers keep searching a published state."""

    def __init__(self, dim: int, vecs: np.ndarray | None = None, ids: np.ndarray | None = None):
        self.dim = dim
        self.vecs = vecs if vecs is not None else np.zeros((0, dim), dtype="float32")
        self.ids = ids if ids is not None else np.zeros(0, dtype="int64")
        self.kind = kind_for(len(self.ids))
        self.index = self._build()

    def _build(self) -> faiss.Index:
        if self.kind == "flat":
            index = faiss.IndexFlatIP(self.dim)
        else:
            index = faiss.IndexHNSWFlat(self.dim, HNSW_M, faiss.METRIC_INNER_PRODUCT)
            index.hnsw.efSearch = HNSW_EF_SEARCH
        if len(self.ids):
            index.add(self.vecs)
        return index

    def __len__(self) -> int:
        return len(self.ids)

    def updated(self, add_vecs: np.ndarray, add_ids: np.ndarray, remove_ids: set[int]) -> "Vectors":
        """A new `Vectors` with rows removed and added; `self` stays searchable meanwhile."""
        keep = ~np.isin(self.ids, np.fromiter(remove_ids, dtype="int64")) if remove_ids else slice(None)
        if remove_ids or self.kind != kind_for(len(self.ids) + len(add_ids)):
            return Vectors(self.dim, np.vstack([self.vecs[keep], add_vecs]), np.concatenate([self.ids[keep], add_ids]))
        new = Vectors.__new__(Vectors)
        new.dim, new.kind = self.dim, self.kind
        new.vecs = np.vstack([self.vecs, add_vecs])
        new.ids = np.concatenate([self.ids, add_ids])
        new.index = faiss.clone_index(self.index)
        if len(add_ids):
            new.index.add(np.ascontiguousarray(add_vecs, dtype="float32"))
        return new

    def search(self, query: np.ndarray, k: int) -> list[tuple[int, float]]:
        if not len(self.ids) or k <= 0:
            return []
        scores, rows = self.index.search(query.reshape(1, -1).astype("float32"), min(k, len(self.ids)))
        return [(int(self.ids[r]), float(s)) for s, r in zip(scores[0], rows[0]) if r >= 0]

    def scores_for(self, query: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """Exact similarity of the query to chosen rows (for fusing with BM25 candidates)."""
        return self.vecs[rows] @ query.astype("float32")

    def save(self, path: Path) -> None:
        """The FAISS index at `path` and its chunk ids beside it, each written to a temp file then renamed."""
        write_atomic(path.with_suffix(".ids.npy"), lambda fh: np.save(fh, self.ids))
        write_atomic(path, lambda fh: faiss.write_index(self.index, faiss.PyCallbackIOWriter(fh.write)))

    @classmethod
    def load(cls, path: Path, dim: int) -> "Vectors":
        new = cls.__new__(cls)
        new.index = faiss.read_index(str(path))
        new.ids = np.load(path.with_suffix(".ids.npy"))
        if new.index.ntotal != len(new.ids) or new.index.d != dim:
            raise ValueError(f"{path}: {new.index.ntotal} vectors of dim {new.index.d} for {len(new.ids)} ids")
        new.dim, new.kind = dim, kind_for(len(new.ids))
        flat = faiss.downcast_index(new.index.storage) if new.kind != "flat" else new.index
        new.vecs = faiss.rev_swig_ptr(flat.get_xb(), new.index.ntotal * dim).reshape(-1, dim) if len(new.ids) else np.zeros((0, dim), dtype="float32")
        return new


def write_atomic(path: Path, write) -> None:
    """Write through `write(fh)` to a temp file, fsync, then rename: readers see the old file or the new one."""
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as fh:
        write(fh)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
