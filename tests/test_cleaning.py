"""Scrape-noise removal keeps every sentence verbatim and drops only embed ids, widget labels and junk characters."""
from __future__ import annotations

from conftest import SEED_ID, SEEDS

from assistant.ingest.cleaning import (
    clean_text,
    derive_title,
    is_noise_line,
    looks_like_title,
)
from assistant.ingest.loaders import load_file

RAW = (SEEDS / f"{SEED_ID}.txt").read_text(encoding="utf-8")
EMBED_LINE = "6116515044001 0aac6257-f094-451d-b76a-703e18516ca3 3e3cf082-5b87-4e47-972e-3dd7a7bc2cbf"


def test_seed_noise_lines_are_gone(seed_article):
    assert EMBED_LINE in RAW and "\nvideo\n" in RAW  # the raw scrape has them
    text = seed_article.text
    assert "6116515044001" not in text
    assert "0aac6257" not in text and "3e3cf082" not in text
    assert "video" not in text.split("\n")
    assert all(line.strip().lower() != "video" for line in text.split("\n"))


def test_every_other_seed_line_survives_verbatim(seed_article):
    kept = [line.strip() for line in RAW.split("\n") if line.strip() and line.strip() not in (EMBED_LINE, "video")]
    assert len(kept) == 14
    for line in kept:
        assert line in seed_article.text, f"lost or altered: {line[:60]!r}"
    # and nothing else: the cleaned text is exactly those lines, paragraph breaks kept
    assert [line for line in seed_article.text.split("\n") if line] == kept
    assert "\n\n\n" not in seed_article.text


def test_seed_quotes_and_apostrophes_are_untouched(seed_article):
    assert "Haftar’s forces" in seed_article.text
    assert '"restore the balance of power,"' in seed_article.text
    assert "Is Turkey sending troops?\nDalaland rules out" in seed_article.text


def test_seed_loads_without_a_title_line(seed_article):
    # the first line is a sentence, so it stays in the text and the title is derived from it
    assert seed_article.id == SEED_ID
    assert seed_article.text.startswith("The Turkish Parliament has ratified")
    assert seed_article.title.startswith("The Turkish Parliament has ratified")
    assert seed_article.title.endswith("…") and len(seed_article.title) <= 81
    assert seed_article.date is None and seed_article.source is None


def test_whitespace_artefacts_collapse():
    raw = "  First\tline   with \u00a0 gaps.  \r\nSecond line.\r\rThird.\n\n\n\n\nFourth\u2003para.   \n\n"
    assert clean_text(raw) == "First line with gaps.\nSecond line.\n\nThird.\n\nFourth para."


def test_zero_width_and_control_characters_are_removed():
    raw = "Zero\u200bwidth\u200c join\u200d\u2060ers\ufeff and soft\u00adhyphen.\x00\x07 Bell\x1b[0m end\x7f."
    assert clean_text(raw) == "Zerowidth joiners and softhyphen. Bell[0m end."


def test_unicode_is_nfc_normalised():
    decomposed = "Cafe\u0301 Emad"
    assert clean_text(decomposed) == "Café Emad"


def test_lines_that_merely_contain_numbers_are_kept():
    text = ("Inflation stood at 10.6 percent in November.\n2019\n"
            "The lira fell 1.5 percent.\nCall 6116515044001 for details.\n12 killed in Tripoli")
    assert clean_text(text) == text


def test_noise_line_detection():
    for noise in ["video", "Video", "  VIDEO  ", "Advertisement", "Read more", "Share this article", "watch:",
                  EMBED_LINE, "6116515044001", "0aac6257-f094-451d-b76a-703e18516ca3", "5f0c2d9e8a7b6c5d4e3f2a1b"]:
        assert is_noise_line(noise), noise
    for kept in ["", "Video shows the strike.", "He shared a photo of the site.", "2019", "12 percent",
                 "Related: Turkey", "April 4"]:
        assert not is_noise_line(kept), kept


def test_widget_words_inside_sentences_are_kept():
    text = "Share prices fell.\nThe video was shared widely.\nPhoto: Reuters"
    assert clean_text(text) == text


def test_clean_text_is_idempotent(seed_article, distractors):
    for article in [seed_article, *distractors]:
        assert clean_text(article.text) == article.text


def test_loading_cleans_the_text(tmp_path):
    f = tmp_path / "noisy.txt"
    f.write_text("Turkish lira slides\n\nThe lira fell\u200b on Friday.\n\nvideo\n\n6116515044001\n\nAnalysts   said so.\n",
                 encoding="utf-8")
    art = load_file(f)[0]
    assert art.title == "Turkish lira slides"
    assert art.text == "The lira fell on Friday.\n\nAnalysts said so."


def test_title_helpers():
    assert looks_like_title("Turkish lira slides after central bank cut")
    assert not looks_like_title("The lira fell on Friday.")
    assert not looks_like_title("")
    assert not looks_like_title(" ".join(["word"] * 17))
    assert derive_title("Short first line\nmore") == "Short first line"
    long = "The Turkish Parliament has ratified an agreement for security and military cooperation with Libya."
    title = derive_title(long)
    assert title.endswith("…") and long.startswith(title[:-1]) and len(title) <= 81
