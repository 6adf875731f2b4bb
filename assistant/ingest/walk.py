"""Which files a run reads, the id each file's article gets, and what was skipped and why.

A file named directly keeps its stem as id; so does a file directly inside a folder given (`seeds/000_x.txt` is
`000_x`); a file in a subfolder gets its path relative to the folder given, without the suffix (`a/story`), so
`a/story.txt` and `b/story.txt`, or a scraped tree of `*/index.html`, never collide.
"""
from __future__ import annotations

import json
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import InputError

TEXT_SUFFIXES = {".txt", ".md", ".text", ".markdown"}
HTML_SUFFIXES = {".html", ".htm"}
JSONL_SUFFIXES = {".jsonl", ".ndjson"}
SUFFIXES = TEXT_SUFFIXES | HTML_SUFFIXES | JSONL_SUFFIXES
UNSUPPORTED = "unsupported file type"
HIDDEN = "hidden"
QA_SET = "a Q&A set, not articles"
BAD_LINK = "broken or looping symlink"
LINKED_FOLDER = "symlinked folder (not followed)"


@dataclass
class Found:
    """Files to read, each with the article id it gives (None: the loader decides, e.g. JSONL rows), and the
    names skipped, by reason."""

    files: list[tuple[Path, str | None]] = field(default_factory=list)
    skipped: dict[str, list[str]] = field(default_factory=dict)

    def skip(self, reason: str, path: Path) -> None:
        self.skipped.setdefault(reason, []).append(str(path))

    def summary(self, names: int = 3) -> str:
        """"2 unsupported file type (a.pdf, b.doc); 1 hidden (.x.txt)", or "" when nothing was skipped."""
        parts = []
        for reason, paths in sorted(self.skipped.items()):
            more = ", …" if len(paths) > names else ""
            parts.append(f"{len(paths)} {reason} ({', '.join(paths[:names])}{more})")
        return "; ".join(parts)


def is_qa_file(path: Path) -> bool:
    """A Q&A set (`{"question": ...}` lines) kept beside the articles, as `seeds/qa.jsonl` is."""
    if path.suffix.lower() not in JSONL_SUFFIXES:
        return False
    try:
        with open(path, encoding="utf-8") as fh:
            first = next((line for line in fh if line.strip()), "")
        row = json.loads(first)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        return False
    return isinstance(row, dict) and "question" in row and "text" not in row


def file_id(folder: Path, f: Path) -> str:
    rel = f.relative_to(folder)
    return f.stem if len(rel.parts) == 1 else rel.with_suffix("").as_posix()


def find(paths: Iterable[str | os.PathLike]) -> Found:
    """Files named directly, and article files under folders (sorted); hidden files and Q&A sets are skipped."""
    found = Found()
    for p in map(Path, paths):
        if p.is_dir():
            for f in sorted(p.rglob("*")):
                _visit(found, p, f)
        elif p.exists():
            found.files.append((p, None))
        else:
            raise InputError(f"{p}: no such file or folder")
    return found


def _visit(found: Found, folder: Path, f: Path) -> None:
    hidden = [part.startswith(".") for part in f.relative_to(folder).parts]
    if any(hidden):
        if hidden.index(True) == len(hidden) - 1:  # report a hidden file or folder once, not what it holds
            found.skip(HIDDEN, f)
    elif f.is_symlink() and not f.exists():
        found.skip(BAD_LINK, f)
    elif f.is_symlink() and f.is_dir():
        found.skip(LINKED_FOLDER, f)
    elif not f.is_file():
        return  # a folder: rglob lists its contents
    elif f.suffix.lower() not in SUFFIXES:
        found.skip(UNSUPPORTED, f)
    elif is_qa_file(f):
        found.skip(QA_SET, f)
    else:
        found.files.append((f, file_id(folder, f)))
