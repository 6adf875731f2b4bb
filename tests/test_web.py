"""Web pages: extraction quality on 20 saved pages, and http(s) URLs indexed (or refused) through the real API/CLI."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from newsserver import STORY

from assistant.cli import main
from assistant.errors import InputError
from assistant.ingest.fetch import Fetcher
from assistant.ingest.loaders import load_file
from assistant.ingest.sources import load_sources
from assistant.ingest.web import url_id

PAGES = Path(__file__).resolve().parent / "fixtures" / "pages"


def extraction_figures() -> dict[str, float]:
    expected = json.loads((PAGES / "expected.json").read_text(encoding="utf-8"))
    kept = total = junk = 0
    for name, e in expected.items():
        [art] = load_file(PAGES / name)
        text = " ".join(art.text.split())
        kept += sum(s in text for s in e["article"])
        total += len(e["article"])
        junk += sum(s in text for s in e["boilerplate"])
    return {"pages": len(expected), "article_recall": kept / total, "boilerplate_share": junk / (kept + junk)}


def test_extraction_quality_on_20_saved_pages():
    f = extraction_figures()
    print(f)
    assert f["pages"] == 20
    assert f["article_recall"] >= 0.95
    assert f["boilerplate_share"] <= 0.05


def test_saved_page_has_no_banner_nav_comments_or_script():
    [art] = load_file(PAGES / "08.html")
    for junk in ("cookies", "Sport", "reader comment", "console.log", "Copyright"):
        assert junk not in art.text
    assert art.title == "Scientists find new species of frog in rainforest"


def test_url_page_metadata_and_exact_offsets(server, fetcher):
    [art], errors = load_sources([server.url("/news/ferry.html")], fetcher=fetcher)
    assert errors == []
    assert art.title == "Ferry strike strands holiday travellers"
    assert art.date == "2019-12-26" and art.source == "The Harbour Times"
    assert art.url == server.url("/news/ferry.html") and art.id == url_id(art.url)
    assert art.text.split("\n\n")[-len(STORY):] == STORY
    for junk in ("cookies", "Advertisement", "Related stories", "Reader123", "analytics", "secret-tracker", "Subscribe"):
        assert junk not in art.text


def test_dateline_dates_a_page_only_with_a_year(server, fetcher):
    [undated], _ = load_sources([server.url("/news/undated.html")], fetcher=fetcher)
    [dated], _ = load_sources([server.url("/2019/12/27/dateline.html")], fetcher=fetcher)
    assert undated.date is None, "Dec 26 without a year is left undated, not guessed"
    assert dated.date in ("2019-12-26", "2019-12-27")  # htmldate reads the URL's date; the dateline says the 26th


def test_add_path_url_indexes_and_cites_exact_offsets(writable, server, fetcher):
    before = writable.stats()["articles"]
    result = writable.add_path(server.url("/news/ferry.html"), fetcher=fetcher)
    assert result.added == 1 and writable.stats()["articles"] == before + 1
    [hit] = writable.search("Why did ferry crews walk off the job?", k=1)
    art = writable.article(hit.article_id)
    assert art.text[hit.start:hit.end] == hit.text and hit.date == "2019-12-26" and hit.url.endswith("/news/ferry.html")


@pytest.mark.parametrize("path", ["/missing", "/hang", "/big", "/loop", "/to-file", "/to-ftp", "/report.pdf"])
def test_failed_url_changes_nothing(writable, server, fetcher, path):
    before = (writable.stats()["articles"], writable.stats()["generation"])
    with pytest.raises(InputError, match="127.0.0.1"):
        writable.add_path(server.url(path), server.url("/news/ferry.html"), fetcher=fetcher)
    assert (writable.stats()["articles"], writable.stats()["generation"]) == before


def test_cli_index_url_reports_failures_per_item(tmp_path, server, capsys, monkeypatch):
    monkeypatch.setattr("assistant.ingest.sources.Fetcher", lambda: Fetcher(timeout=0.5, delay=0.0))
    code = main(["index", server.url("/news/ferry.html"), server.url("/report.pdf"), "--index", str(tmp_path / "ix"),
                 "--quiet"])
    out, err = capsys.readouterr()
    assert code == 1 and "indexed 1 new" in out and "application/pdf" in err


def test_sources_links_are_escaped_and_only_http_is_clickable():
    from assistant.ui import render

    rows = [{"id": "a", "title": "<b>Ferry</b>", "date": "2019-12-26", "source": "<i>Post</i>",
             "url": "https://news.example/a?x=1&y=2"},
            {"id": "q", "title": "Quote", "date": None, "source": None, "url": "https://x.example/\"onmouseover=\"alert(1)"},
            {"id": "b", "title": "Evil", "date": None, "source": None, "url": "javascript:alert(1)"},
            {"id": "c", "title": "Data", "date": None, "source": None, "url": "data:text/html,<script>x</script>"}]
    html = render.article_links_html(rows)
    assert "<b>" not in html and "&lt;b&gt;Ferry" in html and "&lt;i&gt;Post" in html
    assert html.count("<a ") == 1 and 'href="https://news.example/a?x=1&amp;y=2"' in html
    assert 'onmouseover="' not in html, "a URL with a quote is shown as escaped text, never as a link"
    assert 'href="javascript' not in html and 'href="data:' not in html and "<script>" not in html
    assert render.safe_url("https://news.example/a") and not render.safe_url("ftp://x/y")
    assert "also in: 2 sources (AFP, &lt;x&gt;)" in render.also_in_html(["AFP", "<x>"])


def test_ui_fetch_handler_adds_a_page_and_reports_a_failure(writable, server, monkeypatch):
    from assistant.ui import sources

    monkeypatch.setattr("assistant.ingest.sources.Fetcher", lambda: Fetcher(timeout=0.5, delay=0.0))
    listing, upload, remove, fetch = sources.sources_ui(writable)
    status, box, cleared, table, summary, _, originals = fetch(server.url("/news/ferry.html"), False)
    assert status.startswith("✓") and box == "" and cleared == "" and "Ferry strike strands holiday travellers" in originals
    assert f'href="{server.url("/news/ferry.html")}"' in originals
    status, box, *_ = fetch(server.url("/report.pdf"), False)
    assert status.startswith("✗") and "application/pdf" in status and box == server.url("/report.pdf")
    status, *_ = fetch("file:///etc/passwd", False)
    assert "only http" in status
    status, *_ = fetch(server.url("/feed.atom"), True)
    assert status.startswith("✓") and "1 new" in status


def test_a_file_holding_only_a_url_is_never_fetched(tmp_path, server):
    f = tmp_path / "link.html"
    f.write_text(server.url("/news/ferry.html"), encoding="utf-8")
    before = len(server.requests)
    try:
        load_file(f)
    except InputError:
        pass
    assert len(server.requests) == before, "only the user's index/watch commands fetch"


def test_page_charset_from_meta_when_the_header_has_none():
    from assistant.ingest.fetch import Response

    body = '<html><head><meta charset="iso-8859-1"></head><body><p>Café crème</p></body></html>'.encode("latin-1")
    assert "Café crème" in Response("http://x/", 200, body, "text/html", {"content-type": "text/html"}).text()
