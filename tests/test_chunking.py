"""Chunk offsets always point back into the article text, chunks fit the model and cover the article in order."""
from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assistant.encoders.base import MAX_TOKENS, tokenizer
from assistant.ingest.chunking import (
    ChunkSettings,
    chunk_article,
    chunk_articles,
    embedding_text,
    fit_title,
    locate,
)
from assistant.types import Article

SETTINGS = ChunkSettings()
PARAGRAPH = ("The council met again on Monday to discuss the budget, and the mayor said the talks would continue "
             "next week. Opposition members walked out before the vote. ") * 2
SENTENCE = "Turkey will send advisers to Libya. "


def model_tokens(text: str) -> int:
    """Tokens the encoder sees, [CLS] and [SEP] included."""
    return len(tokenizer()(text)["input_ids"])


def assert_well_formed(article: Article, settings: ChunkSettings = SETTINGS):
    chunks = chunk_article(article, settings)
    assert chunks, "an article with text has at least one chunk"
    text = article.text
    for i, c in enumerate(chunks):
        assert c.index == i and c.article_id == article.id and c.id == f"{article.id}#{i}"
        assert text[c.start:c.end] == c.text
        assert c.text == c.text.strip() and c.text
        assert model_tokens(embedding_text(c, article.title, settings)) <= MAX_TOKENS
    for prev, nxt in zip(chunks, chunks[1:]):
        assert prev.start < nxt.start and prev.end < nxt.end, "chunks are in reading order"
        gap = text[prev.end:nxt.start]
        assert not gap.strip(), f"text between chunks {prev.index} and {nxt.index} is in no chunk: {gap[:60]!r}"
        if nxt.start < prev.end:  # the overlap is a tail of the previous chunk within the overlap budget
            assert len(tokenizer().tokenize(text[nxt.start:prev.end])) <= settings.overlap + 2
    assert not text[:chunks[0].start].strip() and not text[chunks[-1].end:].strip()
    return chunks


def test_seed_chunks_match_the_article(seed_article):
    chunks = assert_well_formed(seed_article)
    assert len(chunks) >= 2
    joined = " ".join(c.text for c in chunks)
    assert "lacks a military base near Libya" in joined


def test_repeated_paragraphs_map_to_their_own_place():
    text = "\n\n".join([PARAGRAPH.strip()] * 12)
    chunks = assert_well_formed(Article("rep", "Council", text))
    assert chunks[-1].end == len(text)
    assert len({c.start for c in chunks}) == len(chunks)


def test_repeated_sentences_map_to_their_own_place():
    text = (SENTENCE * 300).strip()
    chunks = assert_well_formed(Article("sent", "Advisers", text))
    assert chunks[-1].end == len(text)


def test_repeated_paragraphs_among_unique_ones():
    text = "\n\n".join(["Short paragraph one.", PARAGRAPH.strip(), PARAGRAPH.strip(), "A different one.",
                        PARAGRAPH.strip(), PARAGRAPH.strip(), PARAGRAPH.strip()] * 3)
    assert_well_formed(Article("mixed", "Mixed", text))


def test_long_title_is_cut_so_the_chunk_still_fits():
    long_title = "A very long headline about the Libyan conflict and its many foreign backers " * 6
    text = (SENTENCE * 80).strip()
    article = Article("long-title", long_title, text)
    chunks = assert_well_formed(article)
    for c in chunks:
        prefixed = embedding_text(c, long_title, SETTINGS)
        assert prefixed.endswith("\n" + c.text), "the chunk itself is never cut"
        assert long_title.startswith(prefixed[: -len(c.text) - 1])


def test_fit_title_keeps_short_titles_and_drops_it_when_no_room():
    assert fit_title("Short title", "Some text.") == "Short title"
    full = "word " * 260
    assert fit_title("Title", full) == ""


def test_title_prefix_setting():
    c = chunk_article(Article("a", "Headline", "Body sentence one. Body sentence two."))[0]
    assert embedding_text(c, "Headline", SETTINGS) == "Headline\nBody sentence one. Body sentence two."
    assert embedding_text(c, "Headline", ChunkSettings(title_prefix=False)) == c.text
    assert embedding_text(c, "", SETTINGS) == c.text


def test_smaller_chunk_settings_are_respected():
    small = ChunkSettings(size=60, overlap=10)
    text = "\n\n".join(f"Paragraph {i} says that the ministry will import wheat from Russia and Ukraine." for i in range(30))
    chunks = assert_well_formed(Article("small", "Wheat", text), small)
    assert all(len(tokenizer().tokenize(c.text)) <= 60 for c in chunks)
    assert len(chunks) > 5


def test_long_word_without_spaces_is_split_and_located():
    text = "x" * 5000 + " end."
    assert_well_formed(Article("blob", "Blob", text))


def test_unicode_text_offsets():
    text = "Émad Badí said “it would make a difference” — café talk.\n\n" * 40
    assert_well_formed(Article("uni", "Unicode", text.strip()))


def test_chunk_articles_is_the_batch_form(seed_article, distractors):
    batch = chunk_articles([seed_article, *distractors])
    assert batch == [c for a in [seed_article, *distractors] for c in chunk_article(a)]


def test_locate_searches_in_order():
    text = "A. B. A. B. C."
    assert locate(text, ["A. B.", "A. B. C."]) == [(0, 5), (6, 14)]
    with pytest.raises(ValueError):
        locate(text, ["missing"])


_SENTENCES = [
    "Haftar's forces attacked Tripoli again.",
    "The ministry said talks would resume.",
    "Turkey will send advisers to Libya.",
    "Moscow denies this.",
    "Farmers in Gedaref said many fields were never planted, and the rains failed in the eastern states.",
]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.sampled_from(_SENTENCES), st.sampled_from([" ", " ", "\n", "\n\n"])),
                min_size=1, max_size=160))
def test_property_offsets_and_coverage_with_repetition(parts):
    text = "".join(s + sep for s, sep in parts).strip()
    assert_well_formed(Article("prop", "Property", re.sub(r"\n{3,}", "\n\n", text)))
