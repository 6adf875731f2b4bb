"""Syndicated duplicates: grouped at index time (MinHash/LSH), kept, shown once per story with "also in"."""
from __future__ import annotations

import sqlite3

from assistant import Article, Assistant
from assistant.index.groups import group_articles

WIRE = ("The central bank of Ruritania raised its main interest rate by half a percentage point on Tuesday to "
        "fight inflation that has reached its highest level in twelve years, the bank said in a statement. "
        "Governor Anna Kovacs told reporters that further increases could follow if prices kept rising at the "
        "current pace. The decision was expected by most economists surveyed last week. The currency rose "
        "against the euro after the announcement, while shares of exporters fell. Inflation stood at 9.4 percent "
        "in May, driven by food and energy prices, according to the statistics office.")


def copies() -> list[Article]:
    return [
        Article("ap-1", "Ruritania raises rates", WIRE, "2020-06-02", "AP"),
        Article("afp-1", "Ruritania central bank lifts rate", WIRE.replace("reporters", "journalists"), "2020-06-02", "AFP"),
        Article("rtr-1", "Ruritania hikes interest rate", "LONDON, June 2 (Reuters) - " + WIRE, "2020-06-02", "Reuters"),
        Article("other-1", "Ruritania wins football cup", "Ruritania won the regional football cup on Sunday after "
                "beating its neighbour two goals to one in a tense final watched by forty thousand fans in the "
                "capital. The winning goal came in the last minute of extra time from a young striker.",
                "2020-06-01", "AP"),
    ]


def test_light_edits_group_and_different_or_short_texts_do_not():
    arts = copies()
    groups = group_articles([(a.id, a.text) for a in arts] + [("short-1", "Qtly div 12 cts vs 12 cts prior"),
                                                               ("short-2", "Qtly div 12 cts vs 12 cts prior")])
    assert groups["ap-1"] == groups["afp-1"] == groups["rtr-1"] == "ap-1", "story id = the first article's id"
    assert groups["other-1"] == "other-1"
    assert groups["short-2"] == "short-2", "texts under 30 words are never grouped"


def test_search_shows_one_passage_per_story_with_also_in(writable):
    writable.add(copies())
    assert writable.stats()["articles"] >= 9, "the copies are kept"
    hits = writable.search("Why did Ruritania's central bank raise its interest rate?", k=5)
    story = [h for h in hits if h.article_id in {"ap-1", "afp-1", "rtr-1"}]
    assert len(story) == 1, [h.article_id for h in hits]
    assert story[0].article_id == "ap-1" or len(story[0].also_in) == 2
    assert sorted(story[0].also_in) == sorted({"AP", "AFP", "Reuters"} - {story[0].source})
    only_afp = writable.search("Ruritania interest rate", k=3, filters={"source": "AFP"})
    assert only_afp and only_afp[0].article_id == "afp-1", "users may still filter a copy by its source"
    ans = writable.ask("Why did the Ruritania central bank raise its rate?")
    cited = {c.article_id for c in ans.citations}
    assert len(cited & {"ap-1", "afp-1", "rtr-1"}) <= 1
    assert all(c.also_in for c in ans.citations if c.article_id in {"ap-1", "afp-1", "rtr-1"})


def test_incremental_add_uses_stored_signatures(writable, monkeypatch):
    arts = copies()
    writable.add(arts[:2])
    path = writable.path
    writable.close()
    a = Assistant.open(path)  # a new process: the LSH comes from stored signatures, no article text is read
    try:
        from assistant.index.store import Store

        original = Store.ungrouped

        def no_texts(self, exclude=()):
            found = original(self, exclude)
            assert found == [], "every stored article has its signature: no text is re-read"
            return found

        monkeypatch.setattr(Store, "ungrouped", no_texts)
        a.add([arts[2]])
        groups = dict(a.index.store.query("SELECT article_id, grp FROM minhash"))
        assert groups["rtr-1"] == groups["afp-1"] == "ap-1"
        monkeypatch.undo()
        a.remove("ap-1")
        assert a.index.store.query("SELECT COUNT(*) FROM minhash WHERE article_id = 'ap-1'")[0][0] == 0
        [hit] = [h for h in a.search("Ruritania central bank interest rate", k=5) if h.article_id in {"afp-1", "rtr-1"}]
        assert len(hit.also_in) == 1
    finally:
        a.close()


def test_index_written_before_groups_opens_and_is_grouped_on_next_add(writable):
    writable.add(copies()[:2])
    path = writable.path
    writable.close()
    db = sqlite3.connect(str(path / "index.sqlite"))
    db.execute("DROP TABLE minhash")  # as an older version wrote it (same format version)
    db.commit()
    db.close()
    a = Assistant.open(path)
    try:
        hits = a.search("Ruritania central bank interest rate", k=5)
        assert {"ap-1", "afp-1"} <= {h.article_id for h in hits}, "no groups yet: each article is its own story"
        a.add([copies()[2]])  # backfills the signatures of the older articles
        groups = dict(a.index.store.query("SELECT article_id, grp FROM minhash"))
        assert groups["ap-1"] == groups["afp-1"] == groups["rtr-1"]
        assert len(groups) == a.stats()["articles"]
    finally:
        a.close()


def test_signatures_come_from_the_prepare_stage_not_the_writer(writable, monkeypatch):
    """The MinHash is a stateless per-article stage (run by the Ray workers too): the single writer only assigns
    groups, so publishing a prepared batch computes no signature."""
    import assistant.index.index as index_module
    import assistant.ingest.prepare as prepare_module

    index = writable.index
    prepared = prepare_module.prepare(copies(), index.settings, index.encoder)
    assert len(prepared.signatures) == 4 and all(s is not None for s in prepared.signatures)

    def computed_in_writer(text):
        raise AssertionError("the writer computed a signature that prepare() already made")

    monkeypatch.setattr(prepare_module, "signature", computed_in_writer)
    monkeypatch.setattr(index_module, "signature", computed_in_writer)
    with index.writing():
        index.publish(prepared, set())
    groups = dict(index.store.query("SELECT article_id, grp FROM minhash"))
    assert groups["afp-1"] == groups["rtr-1"] == "ap-1" and groups["other-1"] == "other-1"
