"""Shared fixtures: the seed article, a few distractor news articles, and an index built once per session."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from assistant import Article, Assistant
from assistant.corpus import load_file, load_paths

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"
FIXTURES = Path(__file__).resolve().parent / "fixtures"
SEED_ID = "000_7b8ba0a49306706e"
CARD_QUESTION = "Why won't Turkey send combat aircraft?"


@pytest.fixture(scope="session")
def seed_article() -> Article:
    return load_file(SEEDS / f"{SEED_ID}.txt")[0]


@pytest.fixture(scope="session")
def distractors() -> list[Article]:
    return load_file(FIXTURES / "distractors.jsonl")


@pytest.fixture(scope="session")
def corpus(seed_article, distractors) -> list[Article]:
    return [seed_article, *distractors]


@pytest.fixture(scope="session")
def built_index(tmp_path_factory, corpus) -> Path:
    """A read-only index over the seed and the distractors; copy it before writing to it."""
    path = tmp_path_factory.mktemp("index") / "index"
    assistant = Assistant.open(path)
    assistant.add(corpus)
    assistant.close()
    return path


@pytest.fixture(scope="session")
def assistant(built_index) -> Assistant:
    """Shared for read-only tests (search, ask)."""
    return Assistant.open(built_index)


@pytest.fixture
def writable(tmp_path, built_index) -> Assistant:
    """A private copy of the built index, for tests that add or remove."""
    target = tmp_path / "index"
    shutil.copytree(built_index, target, ignore=shutil.ignore_patterns("write.lock"))
    a = Assistant.open(target)
    yield a
    a.close()
