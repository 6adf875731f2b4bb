"""RSS and Atom feeds through a loopback server: every linked article, the feed's metadata as fallback, watch."""
from __future__ import annotations

import argparse
from pathlib import Path

import pytest
from newsserver import rss

from assistant.ingest.feeds import STATE_FILE, load_state, parse_every, parse_feed
from assistant.ingest.fetch import Fetcher
from assistant.ingest.sources import load_sources
from assistant.watch import cmd_watch


def test_rss_feed_adds_every_linked_article(server, fetcher):
    articles, errors = load_sources([server.url("/feed.rss")], feed=True, fetcher=fetcher)
    by_title = {a.title: a for a in articles}
    assert set(by_title) == {"Ferry strike strands holiday travellers", "Harbour dredging contract signed",
                             "Lighthouse restoration finished"}
    dredging = by_title["Harbour dredging contract signed"]
    assert dredging.date == "2019-12-27", "the page has no date: the feed's"
    assert dredging.source == "Harbour Times World" and "sixteen metres" in dredging.text
    lighthouse = by_title["Lighthouse restoration finished"]  # its page is a 404: the feed's summary instead
    assert lighthouse.text.startswith("Restoration of the old lighthouse") and lighthouse.date == "2019-12-28"
    assert len(errors) == 1 and "HTTP 404" in errors[0] and "summary instead" in errors[0]


def test_atom_feed_and_local_feed_file(server, fetcher, tmp_path):
    [ship], errors = load_sources([server.url("/feed.atom")], feed=True, fetcher=fetcher)
    assert errors == [] and ship.title == "Shipyard wins naval order" and ship.date == "2020-01-03"
    assert ship.source == "Harbour Times Business" and "patrol vessels" in ship.text
    f = tmp_path / "saved.rss"
    f.write_bytes(rss(server.base))
    articles, _ = load_sources([f], feed=True, fetcher=fetcher)
    assert len(articles) == 3


def test_rss_versions_parse():
    rss091 = b"""<?xml version="1.0"?><rss version="0.91"><channel><title>Old</title><item><title>A</title>
    <link>http://127.0.0.1:9/a</link><description>Alpha story.</description></item></channel></rss>"""
    rdf = b"""<?xml version="1.0"?><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"
    xmlns="http://purl.org/rss/1.0/"><channel rdf:about="x"><title>RDF</title></channel>
    <item rdf:about="http://127.0.0.1:9/b"><title>B</title><link>http://127.0.0.1:9/b</link>
    <description>Beta story.</description></item></rdf:RDF>"""
    assert [e.title for e in parse_feed(rss091, "a").entries] == ["A"]
    assert [e.title for e in parse_feed(rdf, "b").entries] == ["B"]
    with pytest.raises(Exception, match="not an RSS or Atom feed"):
        parse_feed(b"<html><body>hello</body></html>", "c")


def test_feed_that_fails_changes_nothing(writable, server, fetcher):
    before = writable.stats()["generation"]
    with pytest.raises(Exception, match="404"):
        writable.add_path(server.url("/no-feed-here"), feed=True, fetcher=fetcher)
    assert writable.stats()["generation"] == before


def test_parse_every():
    assert parse_every("15m") == 900 and parse_every("90s") == 90 and parse_every("2h") == 7200
    with pytest.raises(Exception, match="--every"):
        parse_every("soon")


def test_watch_adds_new_items_only_with_conditional_get(writable, server, fetcher, capsys):
    args = argparse.Namespace(feeds=[server.url("/feed.atom")], every="15m", once=True)
    before = writable.stats()["articles"]
    assert cmd_watch(writable, args, fetcher=fetcher) == 0
    assert writable.stats()["articles"] == before + 1
    state = load_state(Path(writable.path))
    assert (Path(writable.path) / STATE_FILE).exists()
    assert state[server.url("/feed.atom")].seen == ["urn:harbour:shipyard"]
    gen = writable.stats()["generation"]
    assert cmd_watch(writable, args, fetcher=fetcher) == 0
    assert server.requests[-1][1].get("If-None-Match") == '"atom-v1"'
    assert writable.stats()["generation"] == gen and "not modified" in capsys.readouterr().out
    # a feed without ETag support: known items are skipped, not re-fetched
    rss_args = argparse.Namespace(feeds=[server.url("/feed.rss")], every="1s", once=True)
    cmd_watch(writable, rss_args, fetcher=fetcher)
    fetched = len(server.requests)
    cmd_watch(writable, rss_args, fetcher=fetcher)
    assert len(server.requests) == fetched + 1, "only the feed itself was requested the second time"


def test_watch_stops_cleanly_on_ctrl_c(writable, server, fetcher):
    def interrupt(seconds):
        raise KeyboardInterrupt

    args = argparse.Namespace(feeds=[server.url("/feed.atom")], every="1s", once=False)
    assert cmd_watch(writable, args, sleep=interrupt, fetcher=fetcher) == 0


def test_cli_watch_once_and_index_feed(tmp_path, server, capsys, monkeypatch):
    from assistant.cli import main

    monkeypatch.setattr("assistant.ingest.sources.Fetcher", lambda: Fetcher(timeout=0.5, delay=0.0))
    index = str(tmp_path / "ix")
    assert main(["watch", server.url("/feed.atom"), "--once", "--index", index]) == 0
    out = capsys.readouterr().out
    assert "1 new article" in out and (tmp_path / "ix" / STATE_FILE).exists()
    code = main(["index", server.url("/feed.rss"), "--feed", "--index", index, "--quiet"])
    out, err = capsys.readouterr()
    assert code == 1 and "indexed 3 new" in out and "HTTP 404" in err, (out, err)
