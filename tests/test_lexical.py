"""BM25 scores against the reference rank_bm25 implementation, name-variant expansion, persistence."""
from __future__ import annotations

import math

import bm25s
import numpy as np
import pytest
from bm25s.tokenization import Tokenized
from rank_bm25 import BM25Okapi
from rapidfuzz.distance import JaroWinkler, Levenshtein

from assistant.index.lexical import VARIANT_WEIGHT, Lexical, indexed
from assistant.text.names import is_variant, name_terms, question_names, skeleton
from assistant.text.tokens import tokenize

K1, B = 1.5, 0.75

DOCS = [
    "The Turkish Parliament ratified a military cooperation agreement with the Libyan government in Tripoli.",
    "Forces loyal to Haftar control the air after receiving drones from the United Arab Emirates.",
    "Haftar's forces receive mercenary support from the Russian company Wagner, but Moscow denies this.",
    "Turkey lacks a military base near Libya for secret air strikes, the expert said.",
    "The Turkish lira fell after the central bank cut its interest rate; analysts blamed the government.",
    "Ferry crews began a strike over pay and thousands of tourists were stranded in the port.",
    "Sudan's sorghum harvest will fall short after the rains failed; the ministry will import wheat.",
    "A museum in Misrata opened an archive of Qaddafi-era documents, letters and ministry files.",
    "The government said the strike would end. The government said talks would resume; the government insisted.",
    "It was what it was, and so it is.",  # only stopwords: an empty document
]
QUERIES = [
    "military agreement with Libya",
    "drones from the Emirates",
    "government strike",
    "ministry files archive",
    "air strikes base",
    "the government the government",  # a repeated term counts twice
    "nothing matches zebra",
]


class LuceneBM25(BM25Okapi):
    """rank_bm25's Okapi BM25 with Lucene's idf, log(1 + (N - df + 0.5) / (df + 0.5)), which is never negative.

    bm25s `method="lucene"` scores idf * tf / (tf + k1 * (1 - b + b * dl / avgdl)); BM25Okapi multiplies the
    same fraction by (k1 + 1), so its scores are bm25s's times (k1 + 1) and the rankings are identical.
    """

    def _calc_idf(self, nd):
        for word, df in nd.items():
            self.idf[word] = math.log(1 + (self.corpus_size - df + 0.5) / (df + 0.5))


@pytest.fixture(scope="module")
def lexical() -> Lexical:
    return Lexical.build(DOCS, list(range(100, 100 + len(DOCS))))


@pytest.fixture(scope="module")
def reference() -> LuceneBM25:
    return LuceneBM25(tokenize(DOCS), k1=K1, b=B)


def reference_scores(reference: LuceneBM25, lexical: Lexical, query: str) -> np.ndarray:
    """The reference score with the same query weights (name variants included) that `Lexical` uses."""
    out = np.zeros(len(DOCS))
    for term, weight in lexical.query_terms(query).items():
        out += weight * reference.get_scores([term]) / (K1 + 1)
    return out


def test_bm25s_settings_are_lucene_defaults(lexical):
    assert lexical.bm25.method == "lucene"
    assert (lexical.bm25.k1, lexical.bm25.b) == (K1, B)


def test_tokenize_drops_stopwords_and_stems():
    assert tokenize(["The drones were sent to Haftar's forces in 2019, a B-52."]) == [
        ["drone", "sent", "haftar", "forc", "2019", "52"]]
    assert tokenize(["it was what it was"]) == [[]]


@pytest.mark.parametrize("query", QUERIES)
def test_scores_match_rank_bm25(lexical, reference, query):
    ours = lexical.scores(query)
    ref = reference_scores(reference, lexical, query)
    np.testing.assert_allclose(ours, ref, rtol=1e-4, atol=1e-5)
    if ref.any():
        assert np.argsort(-ours, kind="stable")[: int((ref > 0).sum())].tolist() == \
            np.argsort(-ref, kind="stable")[: int((ref > 0).sum())].tolist()


def test_plain_queries_equal_the_raw_reference(lexical, reference):
    # queries without names: no variant weighting, so the reference's own get_scores applies directly
    for query in ["military agreement", "government strike talks", "ministry wheat import"]:
        assert all(w == 1.0 for w in lexical.query_terms(query).values())
        np.testing.assert_allclose(lexical.scores(query), reference.get_scores(tokenize([query])[0]) / (K1 + 1),
                                   rtol=1e-4, atol=1e-5)


def test_idf_matches_reference(lexical, reference):
    for term in ["govern", "militari", "drone", "strike"]:
        assert lexical.idf(term) == pytest.approx(reference.idf[term], rel=1e-6)
    assert lexical.idf("zebra") == 0.0


def test_search_ranks_by_score_and_maps_ids(lexical, reference):
    hits = lexical.search("government strike", k=3)
    ref = reference_scores(reference, lexical, "government strike")
    assert [i for i, _ in hits] == [100 + int(r) for r in np.argsort(-ref, kind="stable")[:3]]
    assert [s for _, s in hits] == sorted((s for _, s in hits), reverse=True)
    assert all(s > 0 for _, s in hits)
    assert lexical.search("zebra unicorn", k=5) == []
    everything = lexical.search("government strike", k=100)
    assert len(everything) == int((ref > 0).sum())


def test_empty_lexical():
    empty = Lexical.build([], [])
    assert empty.scores("anything").shape == (0,)
    assert empty.search("anything", 5) == []
    assert empty.query_terms("Haftar") == {}
    assert empty.idf("haftar") == 0.0


# --- name variants ---------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def seed_lexical(assistant) -> Lexical:
    return assistant.index.snapshot.lexical


@pytest.mark.parametrize("query, expected", [
    ("Hifter", {"hifter", "haftar"}),
    ("Haftar", {"haftar", "hifter"}),
    ("Hafter", {"haftar", "hifter"}),  # a spelling the corpus never uses
    ("Gaddafi", {"qaddafi"}),
    ("Qaddafi", {"qaddafi"}),
    ("Arno", {"arno", "arnaud"}),
    ("Arnaud", {"arnaud", "arno"}),
])
def test_name_variants(seed_lexical, query, expected):
    terms = seed_lexical.query_terms(query)
    assert set(terms) == expected
    own = tokenize([query])[0][0]
    for term, weight in terms.items():
        assert weight == (1.0 if term == own else VARIANT_WEIGHT)


def test_ordinary_words_are_not_expanded(seed_lexical):
    assert seed_lexical.query_terms("send") == {"send": 1.0}
    assert "send" not in seed_lexical.query_terms("spend")
    assert seed_lexical.query_terms("spend") == {}
    assert seed_lexical.query_terms("drones") == {"drone": 1.0}
    assert seed_lexical.variants("air") == []  # too short to be a name variant


@pytest.mark.parametrize("question, names", [
    ("What is the capital of Peru?", ["peru"]),
    ("Which team won the football World Cup?", ["world", "cup"]),
    ("Who is Emad Badi? And Qatar?", ["emad", "badi", "qatar"]),  # "And" opens a sentence
    ('How much will it borrow? (Ghana cocoa board)', ["ghana"]),
    ('"Where" did Haftar go?', ["haftar"]),
    ("what did the NYC DVDs cost in haftar's time", []),  # abbreviations and lower case are not names
])
def test_question_names(question, names):
    assert question_names(question) == names


def test_names_the_archive_never_uses_count_against_every_sentence(seed_lexical):
    """Left out, an unknown name let the rest of the question decide: "capital" alone was "the capital of Peru"."""
    unseen = math.log(1 + (len(seed_lexical.ids) + 0.5) / 0.5)  # the BM25 idf of a term no row holds
    question = "Does Turkey sell drones to Qatar?"
    weights = seed_lexical.answer_weights(question)
    assert weights == {**seed_lexical.term_weights(question), "qatar": pytest.approx(unseen)}
    assert unseen > max(seed_lexical.idf(t) for t in seed_lexical.vocab)
    # ordinary words the archive lacks, names it spells otherwise or holds, and a name opening the question (as
    # "What" does) stay as term_weights has them
    for other in ["What kind of drones does Turkey sell?", "Who is Hafter?", "Who is Haftar?", "Qatar, then?"]:
        assert seed_lexical.answer_weights(other) == seed_lexical.term_weights(other)
    assert seed_lexical.term_weights("What is the capital of Peru?") == {}
    assert set(seed_lexical.answer_weights("What is the capital of Peru?")) == {"peru"}
    assert Lexical(None, np.zeros(0, dtype="int64"), set()).answer_weights("Qatar?") == {}


def test_names_are_capitalised_terms(seed_lexical):
    for name in ["haftar", "hifter", "qaddafi", "wagner", "moscow", "dalaland"]:
        assert name in seed_lexical.names
    for word in ["drone", "support", "govern", "send"]:
        assert word not in seed_lexical.names
    assert name_terms(["Wagner met Wagner. the wagner", "Libya and libya"]) == set()
    assert name_terms(["Wagner met Wagner. Wagner left and Libya"]) == {"wagner", "libya"}


@pytest.mark.parametrize("a, b", [("hifter", "haftar"), ("qaddafi", "gaddafi"), ("arno", "arnaud"), ("sarraj", "serraj")])
def test_is_variant(a, b):
    assert is_variant(a, b) and is_variant(b, a)


@pytest.mark.parametrize("a, b", [("haftar", "sarraj"), ("libya", "syria"), ("moscow", "misrata"), ("wagner", "egypt")])
def test_is_not_variant(a, b):
    # is_variant alone is lenient ("send"/"spend" pass it): only terms the corpus writes as names are expanded
    assert not is_variant(a, b)


def test_hifter_query_scores_haftar_only_passages(seed_lexical, assistant):
    # chunk #1 of the seed spells the name "Haftar" only; a "Hifter" query still scores it
    hits = dict(seed_lexical.search("Hifter", k=10))
    rows = assistant.index.store.rows(list(hits))
    haftar_only = [cid for cid, r in rows.items() if "Haftar" in r[5] and "Hifter" not in r[5]]
    assert haftar_only and all(hits[cid] > 0 for cid in haftar_only)


# The rule at its edges, on names the seed article does not hold: a corpus term is a name when it is written
# capitalised in >= 80 % of its occurrences; a spelling with another skeleton and another 3-letter prefix is a
# variant only at Jaro-Winkler >= 0.88.
@pytest.mark.parametrize("capitalised, total, is_name", [(4, 5, True), (8, 10, True), (3, 4, False), (7, 9, False)])
def test_a_name_is_capitalised_in_at_least_80_percent_of_its_uses(capitalised, total, is_name):
    docs = [f"Reporters said {'Chamenei' if i < capitalised else 'chamenei'} spoke on day {i}." for i in range(total)]
    lexical = Lexical.build(docs, list(range(total)))
    assert ("chamenei" in lexical.names) == is_name
    assert JaroWinkler.normalized_similarity("khamenei", "chamenei") >= 0.88  # a variant, once it is a name
    assert lexical.query_terms("Khamenei") == ({"chamenei": VARIANT_WEIGHT} if is_name else {})


@pytest.mark.parametrize("query, name, similarity, expanded", [
    ("Ouedraogo", "Wedraogo", 0.8843, True),
    ("Shoigu", "Choigu", 0.8889, True),
    ("Gbagbo", "Bagbo", 0.8778, False),
    ("Ouattara", "Wattara", 0.8690, False),
])
def test_jaro_winkler_decides_at_088(query, name, similarity, expanded):
    term, corpus_term = tokenize([query])[0][0], tokenize([name])[0][0]
    assert JaroWinkler.normalized_similarity(term, corpus_term) == pytest.approx(similarity, abs=1e-4)
    # no other route: different skeletons and prefixes, within 3 edits
    assert skeleton(term) != skeleton(corpus_term) and term[:3] != corpus_term[:3]
    assert Levenshtein.distance(term, corpus_term) <= 3
    lexical = Lexical.build([f"{name} met reporters in the capital.", f"Officials said {name} would return soon."], [0, 1])
    assert corpus_term in lexical.names
    assert lexical.query_terms(query) == ({corpus_term: VARIANT_WEIGHT} if expanded else {})
    assert (corpus_term in lexical.variants(term)) == expanded == is_variant(term, corpus_term)


# --- persistence -----------------------------------------------------------------------------------
def test_save_load_round_trip(lexical, tmp_path):
    lexical.save(tmp_path / "bm25")
    loaded = Lexical.load(tmp_path / "bm25")
    assert loaded.ids.tolist() == lexical.ids.tolist()
    assert loaded.names == lexical.names
    assert loaded.vocab == lexical.vocab
    for query in QUERIES + ["Haftar", "Qaddafi archive", "Gaddafi"]:
        np.testing.assert_array_equal(loaded.scores(query), lexical.scores(query))
        assert loaded.search(query, 4) == lexical.search(query, 4)
        assert loaded.query_terms(query) == lexical.query_terms(query)


def test_save_load_empty(tmp_path):
    Lexical.build([], []).save(tmp_path / "empty")
    loaded = Lexical.load(tmp_path / "empty")
    assert loaded.bm25 is None and len(loaded.ids) == 0 and loaded.search("x y", 3) == []


def brute_force_variants(lexical: Lexical, term: str) -> set[str]:
    """The definition `Lexical.variants` implements with an index: every corpus name tested one by one."""
    if len(term) < 4 or (term in lexical.vocab and term not in lexical.names):
        return set()
    return {t for t in lexical.names & set(lexical.vocab)
            if t != term and abs(len(t) - len(term)) <= 3 and is_variant(term, t)}


def test_variant_index_equals_brute_force(seed_lexical):
    terms = sorted(seed_lexical.names) + ["hafter", "gaddafi", "serraj", "wagnar", "tripolis", "emirat", "xyzzy"]
    for term in terms:
        assert set(seed_lexical.variants(term)) == brute_force_variants(seed_lexical, term), term


def test_variants_on_a_larger_vocabulary():
    # many names of similar lengths: the slice by length and the skeleton map must not miss or add any
    names = ["Haftar", "Hifter", "Hafter", "Qaddafi", "Gaddafi", "Kadhafi", "Sarraj", "Serraj", "Arnaud", "Arno",
             "Mismari", "Misrata", "Moscow", "Muskau", "Ankara", "Anqara", "Erdogan", "Erdoğan", "Tripoli", "Tarabulus"]
    docs = [f"{a} met {b} in {c}." for a, b, c in zip(names, names[3:] + names[:3], names[7:] + names[:7])]
    lexical = Lexical.build(docs, list(range(len(docs))))
    for term in tokenize([" ".join(names + ["Haftarr", "Kaddafi", "Erdogen"])])[0]:
        assert set(lexical.variants(term)) == brute_force_variants(lexical, term), term


# --- incremental updates ---------------------------------------------------------------------------
QUERIES_AND_NAMES = QUERIES + ["Haftar drones", "Qaddafi archive", "Gaddafi", "Turkish government strike"]


def assert_same_index(a: Lexical, b: Lexical):
    assert a.ids.tolist() == b.ids.tolist()
    assert set(a.vocab) == set(b.vocab)
    assert a.names == b.names
    for query in QUERIES_AND_NAMES:
        np.testing.assert_allclose(a.scores(query), b.scores(query), rtol=1e-6, atol=1e-7)
        assert a.query_terms(query) == b.query_terms(query)
    for term in a.vocab:
        assert a.idf(term) == pytest.approx(b.idf(term))


def zipf_rows(n: int = 3000, seed: int = 5) -> list[list[int]]:
    """Token ids shaped like text: a few very common, most rare, rows of 0-400 tokens, repeats within a row."""
    rng = np.random.default_rng(seed)
    return [(rng.zipf(1.3, rng.integers(0, 400)) % 20000).tolist() for _ in range(n)]


@pytest.mark.parametrize("rows", [[tokens for tokens in tokenize(DOCS)], zipf_rows(), [[], []], [[7], [], [7, 7]]],
                         ids=["news", "zipf", "stopwords only", "one term"])
def test_the_numpy_build_is_bm25s_own_index(rows):
    """`indexed` builds in one pass what `BM25.index` builds row by row: the same arrays, bit for bit."""
    vocab: dict = {}
    ids = [[vocab.setdefault(t, len(vocab)) for t in row] for row in rows]
    vocab = {str(t): i for t, i in vocab.items()}
    reference = bm25s.BM25()
    with np.errstate(invalid="ignore"):  # bm25s divides by an average length of 0 when no row has a token
        reference.index(Tokenized(ids=ids, vocab=vocab), create_empty_token=False, show_progress=False)
    flat = np.fromiter((t for row in ids for t in row), dtype="int32")
    ours = indexed(flat, np.concatenate([[0], np.cumsum([len(row) for row in ids])]), vocab)
    for key in ("data", "indices", "indptr"):
        assert ours.scores[key].dtype == reference.scores[key].dtype
        np.testing.assert_array_equal(ours.scores[key], reference.scores[key])
    assert ours.scores["num_docs"] == reference.scores["num_docs"] == len(rows)
    assert ours.vocab_dict == reference.vocab_dict
    query = max(ids, key=len)[:3]  # token ids of a row: what a search sums
    if query:
        np.testing.assert_array_equal(ours.get_scores(query), reference.get_scores(query))


def test_rows_of_stopwords_only_score_nothing():
    lexical = Lexical.build(["It was what it was.", "And so it is."], [1, 2])
    assert len(lexical.ids) == 2 and not lexical.vocab
    np.testing.assert_array_equal(lexical.scores("it was"), np.zeros(2, "float32"))
    assert lexical.search("what", 5) == []


def test_updates_equal_a_fresh_build(tmp_path):
    ids = list(range(100, 100 + len(DOCS)))
    lexical = Lexical.build(DOCS[:4], ids[:4]).updated(set(), DOCS[4:7], ids[4:7], [])
    lexical.save(tmp_path / "g1")
    lexical = Lexical.load(tmp_path / "g1")  # through the disk, as the index does between writes
    assert lexical.updatable
    lexical = lexical.updated({101, 104}, DOCS[7:], ids[7:], [DOCS[1], DOCS[4]])
    kept = [i for i in range(len(DOCS)) if ids[i] not in (101, 104)]
    assert_same_index(lexical, Lexical.build([DOCS[i] for i in kept], [ids[i] for i in kept]))
    assert "drone" not in lexical.vocab and "haftar" in lexical.vocab  # 101 was the only drone document


def test_removing_every_row_and_adding_again(tmp_path):
    lexical = Lexical.build(DOCS[:3], [1, 2, 3]).updated({1, 2, 3}, [], [], DOCS[:3])
    assert len(lexical.ids) == 0 and lexical.scores("Turkish").shape == (0,) and lexical.names == set()
    lexical.save(tmp_path / "empty")
    again = Lexical.load(tmp_path / "empty").updated(set(), DOCS[3:5], [4, 5], [])
    assert_same_index(again, Lexical.build(DOCS[3:5], [4, 5]))


def test_name_counts_follow_removals():
    # "Wagner" is a name while only the capitalised mentions exist; the lower-case ones make it a word
    lexical = Lexical.build(["Wagner sent men.", "Wagner denied it."], [1, 2])
    assert "wagner" in lexical.names
    lexical = lexical.updated(set(), ["a wagner opera", "the wagner tuba", "wagner music"], [3, 4, 5], [])
    assert "wagner" not in lexical.names
    lexical = lexical.updated({3, 4, 5}, [], [], ["a wagner opera", "the wagner tuba", "wagner music"])
    assert "wagner" in lexical.names


def test_a_generation_without_token_ids_is_not_updatable(lexical, tmp_path):
    lexical.save(tmp_path / "old")
    for name in ("tokens.npy", "offsets.npy", "case.json"):
        (tmp_path / "old" / name).unlink()
    old = Lexical.load(tmp_path / "old")
    assert not old.updatable
    np.testing.assert_array_equal(old.scores("government strike"), lexical.scores("government strike"))
    with pytest.raises(ValueError, match="rebuild"):
        old.updated(set(), ["x y"], [1], [])
