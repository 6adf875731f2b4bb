"""Shared fixtures: the seed article, a few distractor news articles, and an index built once per session (another with
300 generated newswire articles for the answer tests that need many distractors)."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from assistant import Article, Assistant
from assistant.ingest.loaders import load_file, load_paths

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"
FIXTURES = Path(__file__).resolve().parent / "fixtures"
SEED_ID = "000_7b8ba0a49306706e"
CARD_QUESTION = "Why won't Turkey send combat aircraft?"


def copy_index(src: Path, dst: Path) -> Path:
    """A private, writable copy of an index (without its lock file, nor the -shm index of SQLite's log that a
    session fixture holding `src` open keeps: SQLite rebuilds it from the log, and deletes it when the copy's last
    reader closes, which made "not a file changed" checks depend on the order tests ran in)."""
    shutil.copytree(src, dst, ignore=shutil.ignore_patterns("write.lock", "*-shm"))
    return dst


@pytest.fixture(scope="session")
def seed_article() -> Article:
    return load_file(SEEDS / f"{SEED_ID}.txt")[0]


@pytest.fixture(scope="session")
def distractors() -> list[Article]:
    return load_file(FIXTURES / "distractors.jsonl")


@pytest.fixture(scope="session")
def corpus(seed_article, distractors) -> list[Article]:
    return [seed_article, *distractors]


def build_index(folder: Path, articles: list[Article]) -> Path:
    """An index of `articles` at `folder`/index, closed again (the session's read-only indexes)."""
    path = folder / "index"
    assistant = Assistant.open(path)
    assistant.add(articles)
    assistant.close()
    return path


@pytest.fixture(scope="session")
def built_index(tmp_path_factory, corpus) -> Path:
    """A read-only index over the seed and the distractors; copy it before writing to it."""
    return build_index(tmp_path_factory.mktemp("index"), corpus)


@pytest.fixture(scope="session")
def assistant(built_index) -> Assistant:
    """Shared for read-only tests (search, ask)."""
    return Assistant.open(built_index)


@pytest.fixture(scope="session")
def seed_alone_assistant(tmp_path_factory) -> Assistant:
    """The seeds folder alone, loaded as `make run` loads it: the index a user meets first."""
    return Assistant.open(build_index(tmp_path_factory.mktemp("seed-alone"), load_paths([SEEDS])[0]))


@pytest.fixture(scope="session")
def followup_index(tmp_path_factory, corpus) -> Path:
    """The test corpus plus tests/fixtures/followups.jsonl: articles that share a follow-up's words ("borrow",
    "pay rise", "mercenaries") but not its referent, so only the conversation says which one is meant.
    Read-only; kept apart from `built_index`, whose article counts other tests rely on."""
    return build_index(tmp_path_factory.mktemp("followups"), [*corpus, *load_file(FIXTURES / "followups.jsonl")])


@pytest.fixture(scope="session")
def followup_assistant(followup_index) -> Assistant:
    return Assistant.open(followup_index)


@pytest.fixture(scope="session")
def newswire() -> list[Article]:
    """300 generated news briefs (tests/fixtures/make_newswire.py), a third of them on the seed article's topic."""
    return load_file(FIXTURES / "newswire.jsonl")


@pytest.fixture(scope="session")
def newswire_index(tmp_path_factory, corpus, newswire) -> Path:
    """The test corpus plus the newswire: the seed questions asked among 305 articles instead of 5. Read-only;
    built once (about a minute on 2 busy cores), only by the tests that ask it."""
    return build_index(tmp_path_factory.mktemp("newswire"), [*corpus, *newswire])


@pytest.fixture(scope="session")
def newswire_assistant(newswire_index) -> Assistant:
    return Assistant.open(newswire_index)


@pytest.fixture
def writable(tmp_path, built_index) -> Assistant:
    """A private copy of the built index, for tests that add or remove."""
    a = Assistant.open(copy_index(built_index, tmp_path / "index"))
    yield a
    a.close()


def serve_copy(built_index: Path, folder: Path):
    """Serve the real app on a private copy of the test index: (assistant, demo, url)."""
    from assistant.ui import app

    return app.serve_in_background(copy_index(built_index, folder / "index"))


@pytest.fixture(scope="module")
def served(tmp_path_factory, built_index):
    """(assistant, url) of the app serving a private copy of the test index; one server per test module."""
    assistant, demo, url = serve_copy(built_index, tmp_path_factory.mktemp("app"))
    yield assistant, url
    demo.close()
    assistant.close()


@pytest.fixture(scope="module")
def server():
    """A loopback news site (pages, feeds, failures) for the fetch, web and feed tests."""
    from newsserver import NewsServer

    with NewsServer(hang_seconds=3) as s:
        yield s


@pytest.fixture
def fetcher():
    """A fetcher with short timeouts and no politeness delay, for loopback tests."""
    from assistant.ingest.fetch import Fetcher

    with Fetcher(timeout=0.5, delay=0.0) as f:
        yield f
