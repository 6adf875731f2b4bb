"""Loaders for .txt/.md, .html and .jsonl files and folders, and the clear errors they give on bad input."""
from __future__ import annotations

import json
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from assistant.errors import InputError
from assistant.ingest.loaders import load_file, load_paths, make_article, normalize_date


def write(path, text: str):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


# --- plain text and markdown -----------------------------------------------------------------------
def test_txt_with_a_title_line(tmp_path):
    f = write(tmp_path / "lira.txt", "Turkish lira slides after rate cut\n\nThe lira fell 1.5 percent on Friday.\n\nAnalysts said so.\n")
    [art] = load_file(f)
    assert art.id == "lira"
    assert art.title == "Turkish lira slides after rate cut"
    assert art.text == "The lira fell 1.5 percent on Friday.\n\nAnalysts said so."
    assert (art.date, art.source, art.url) == (None, None, None)


def test_txt_without_a_title_line_derives_one(tmp_path):
    body = "The lira fell 1.5 percent against the dollar on Friday after the central bank cut its rate.\n\nMore text."
    [art] = load_file(write(tmp_path / "no-title.txt", body))
    assert art.text == body, "a first line that is a sentence stays in the text"
    assert art.title.endswith("…") and body.startswith(art.title[:-1])


def test_single_line_txt_is_all_text(tmp_path):
    [art] = load_file(write(tmp_path / "one.txt", "Ferry strike strands tourists"))
    assert art.text == "Ferry strike strands tourists"
    assert art.title == "Ferry strike strands tourists"


def test_markdown_heading_becomes_the_title(tmp_path):
    [art] = load_file(write(tmp_path / "story.md", "# Ferry strike strands tourists\n\nThousands were stranded in Piraeus.\n"))
    assert art.id == "story"
    assert art.title == "Ferry strike strands tourists"
    assert art.text == "Thousands were stranded in Piraeus."


def test_utf8_bom_and_utf16_are_read(tmp_path):
    f = tmp_path / "bom.txt"
    f.write_bytes("\ufeffHeadline\n\nCafé owners protested.".encode("utf-8"))
    [art] = load_file(f)
    assert art.title == "Headline" and art.text == "Café owners protested."
    g = tmp_path / "wide.txt"
    g.write_bytes("Headline\n\nCafé owners protested.".encode("utf-16"))
    assert load_file(g)[0].text == "Café owners protested."


def test_crlf_files(tmp_path):
    f = tmp_path / "crlf.txt"
    f.write_bytes(b"Headline\r\n\r\nFirst para.\r\n\r\nSecond para.\r\n")
    [art] = load_file(f)
    assert art.title == "Headline" and art.text == "First para.\n\nSecond para."


# --- HTML ------------------------------------------------------------------------------------------
PAGE = """<!DOCTYPE html>
<html><head>
<title>Page title | Aegean Post</title>
{og}
<meta property="article:published_time" content="2019-08-20T09:30:00+03:00">
<style>.story {{ color: red; }} </style>
<script>var trackingSecret = "abc";</script>
</head>
<body>
<nav><a href="/">Home</a> <a href="/world">World navigation</a></nav>
<header>Site header banner</header>
<article>
  <h1>Greek ferry strike strands tourists</h1>
  <!-- editor note: do not publish -->
  <p>Thousands of tourists were stranded in Piraeus
     on Tuesday as ferry crews began a strike.</p>
  <p>The union said its members had <b>not</b> received a raise.<br>Talks resume on Thursday.</p>
  <script>console.log("inline script")</script>
  <aside>Related: other stories</aside>
</article>
<footer>Copyright footer</footer>
</body></html>"""


def test_html_title_date_and_main_text(tmp_path):
    [art] = load_file(write(tmp_path / "ferry.html", PAGE.format(og="")))
    assert art.id == "ferry"
    assert art.title == "Greek ferry strike strands tourists", "trafilatura: the headline, not the <title> with the site"
    assert art.date == "2019-08-20"
    assert art.text.split("\n\n") == [
        "Thousands of tourists were stranded in Piraeus on Tuesday as ferry crews began a strike.",
        "The union said its members had not received a raise.",
        "Talks resume on Thursday.",
    ]
    for junk in ["trackingSecret", "color: red", "inline script", "navigation", "banner", "Copyright", "Related",
                 "editor note", "<p>", "Page title"]:
        assert junk not in art.text


def test_html_og_title_wins(tmp_path):
    og = '<meta property="og:title" content="Ferry crews strike over pay">'
    [art] = load_file(write(tmp_path / "og.htm", PAGE.format(og=og)))
    assert art.title == "Ferry crews strike over pay"


def test_html_fallbacks_h1_title_and_time_date(tmp_path):
    html = ('<html><body><h1>Sudan grain harvest falls short</h1><time datetime="2019-11-02">Saturday</time>'
            "<div>The sorghum harvest will fall 20 percent short.</div></body></html>")
    [art] = load_file(write(tmp_path / "grain.html", html))
    assert art.title == "Sudan grain harvest falls short"
    assert art.date == "2019-11-02"
    assert "The sorghum harvest will fall 20 percent short." in art.text.split("\n")


def test_html_without_body_does_not_repeat_the_title(tmp_path):
    [art] = load_file(write(tmp_path / "frag.html", "<html><head><title>Only title</title></head><p>Only para.</p></html>"))
    assert art.title == "Only title"
    assert art.text == "Only para."


def test_html_pre_keeps_its_lines(tmp_path):
    [art] = load_file(write(tmp_path / "pre.html", "<body><p>Table:</p><pre>row one\nrow two</pre></body>"))
    assert art.text == "Table:\n\nrow one\n\nrow two"  # trafilatura gives one line per paragraph


def test_html_with_no_text_is_refused(tmp_path):
    with pytest.raises(InputError, match="no text"):
        load_file(write(tmp_path / "empty.html", "<html><head><title>T</title><script>x()</script></head><body></body></html>"))


# --- JSONL -----------------------------------------------------------------------------------------
def test_jsonl_fields_and_dates(tmp_path):
    rows = [
        {"id": "a1", "title": "Full row", "text": "Text one.", "date": "Dec 26, 2019", "source": "Nile Wire",
         "url": "https://example.com/a1"},
        {"id": 7, "text": "A row with only an id and its text, no title."},
        {"text": "No id at all.", "date": "2019-12-26T23:30:00Z"},
        {"id": "a4", "title": "", "text": "Empty title.", "date": None, "source": ""},
        {"id": "a5", "title": "Partial date", "text": "Dated by month.", "date": "2019-12"},
    ]
    f = write(tmp_path / "batch.jsonl", "\n".join(json.dumps(r) for r in rows[:2]) + "\n\n   \n" +
              "\n".join(json.dumps(r) for r in rows[2:]) + "\n")
    arts = load_file(f)
    assert [a.title for a in arts] == ["Full row", "A row with only an id and its text, no title.", "No id at all.",
                                       "Empty title.", "Partial date"]
    a1, a2, a3, a4, a5 = arts
    assert (a1.id, a1.date, a1.source, a1.url) == ("a1", "2019-12-26", "Nile Wire", "https://example.com/a1")
    assert a2.id == "7" and a2.date is None
    assert re.fullmatch(r"[0-9a-f]{16}", a3.id) and a3.date == "2019-12-26"
    assert load_file(f)[2].id == a3.id, "ids derived from content are stable"
    assert a4.source is None and a4.date is None
    assert a5.date == "2019-12-01"


def test_ndjson_suffix_and_cleaning(tmp_path):
    f = write(tmp_path / "x.ndjson", json.dumps({"id": "n", "title": "T\nsplit", "text": "Body\u200b text.\n\nvideo\n"}))
    [art] = load_file(f)
    assert art.title == "T split" and art.text == "Body text."


@pytest.mark.parametrize("value, iso", [
    ("2019-12-26", "2019-12-26"), ("26 December 2019", "2019-12-26"), ("2019-12-26T10:00:00+05:00", "2019-12-26"),
    (20191226, "2019-12-26"), ("2019", "2019-01-01"), ("December 2019", "2019-12-01"), (None, None), ("", None)])
def test_normalize_date(value, iso):
    assert normalize_date(value, "here") == iso


@pytest.mark.parametrize("value", ["not a date", "2019-13-45", "Feb 30 2019", "yesterday-ish"])
def test_invalid_dates(value):
    with pytest.raises(InputError, match=r"here: invalid date .*ISO"):
        normalize_date(value, "here")


# --- folders ---------------------------------------------------------------------------------------
def test_folder_loading(tmp_path):
    write(tmp_path / "b.txt", "Headline B\n\nBody B.")
    write(tmp_path / "a.md", "# Headline A\n\nBody A.")
    write(tmp_path / "sub" / "c.html", "<body><h1>C</h1><p>Body C.</p></body>")
    write(tmp_path / "sub" / "d.jsonl", json.dumps({"id": "d1", "text": "Body D1."}) + "\n" + json.dumps({"id": "d2", "text": "Body D2."}))
    write(tmp_path / "notes.pdf", "ignored")
    write(tmp_path / ".hidden" / "e.txt", "Hidden\n\nSkipped.")
    write(tmp_path / ".secret.txt", "Hidden\n\nSkipped too.")
    arts, errors = load_paths([tmp_path])
    assert errors == []
    assert [a.id for a in arts] == ["a", "b", "sub/c", "d1", "d2"]  # a file in a subfolder: its relative path


def test_load_paths_keeps_good_files_and_reports_bad_ones(tmp_path):
    good = write(tmp_path / "good.txt", "Good headline\n\nGood body.")
    write(tmp_path / "empty.txt", "")
    (tmp_path / "binary.txt").write_bytes(b"\x00\x01\x02\x03binary\x00")
    write(tmp_path / "bad.jsonl", json.dumps({"id": "ok", "text": "fine"}) + "\n{broken\n")
    (tmp_path / "latin.txt").write_bytes("Caf\xe9 story".encode("latin-1"))
    arts, errors = load_paths([tmp_path])
    assert [a.id for a in arts] == ["ok", "good"]  # a bad JSONL row is an error; the file's other rows load
    assert len(errors) == 4
    joined = "\n".join(errors)
    for name in ["empty.txt", "binary.txt", "bad.jsonl:2", "latin.txt"]:
        assert name in joined
    arts, errors = load_paths([good])
    assert [a.id for a in arts] == ["good"] and errors == []


def test_load_paths_missing_path(tmp_path):
    with pytest.raises(InputError, match="no such file or folder"):
        load_paths([tmp_path / "missing"])


# --- errors ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("name, data, message", [
    ("empty.txt", b"", "the file is empty"),
    ("blank.md", b"  \n\n\t\n", "the file is empty"),
    ("binary.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "looks like a binary file"),
    ("latin1.txt", "Headline\n\nCaf\xe9 au lait".encode("latin-1"), r"not valid UTF-8 \(byte 13\); re-save the file as UTF-8"),
    ("noise.txt", b"video\n\n6116515044001\n", "has no text"),
    ("doc.pdf", b"%PDF-1.4", r"unsupported file type \.pdf; use .*\.txt"),
    ("README", b"text", r"unsupported file type \(none\)"),
])
def test_file_errors(tmp_path, name, data, message):
    f = tmp_path / name
    f.write_bytes(data)
    with pytest.raises(InputError, match=message) as info:
        load_file(f)
    assert name in str(info.value)


@pytest.mark.parametrize("line, message", [
    ('{"id": "x", "text": "ok"', "invalid JSON"),
    ('["a", "list"]', "each line must be a JSON object"),
    ('{"id": "x"}', "'text' must be a string"),
    ('{"id": "x", "text": 42}', "'text' must be a string"),
    ('{"id": "x", "text": "   "}', "the article has no text"),
    ('{"id": "x", "text": "ok", "date": "31/31/2019"}', "invalid date"),
])
def test_jsonl_errors_name_the_line(tmp_path, line, message):
    good = json.dumps({"id": "first", "text": "A fine first line."})
    f = write(tmp_path / "rows.jsonl", f"{good}\n\n{line}\n{good}\n")
    with pytest.raises(InputError, match=message) as info:
        load_file(f)
    assert "rows.jsonl:3" in str(info.value)


def test_noisy_dates_are_read_by_the_date_they_start_with(tmp_path):
    """Reuters-21578's raw dates: SGML debris or a broken time after the date once cost 299 of its articles."""
    rows = [{"id": "a", "text": "One.", "date": "27-MAR-1987 00:02:59.13&#5;&#5;&#5;RM"},
            {"id": "b", "text": "Two.", "date": "31-MAR-1987 605:12:19.12"},
            {"id": "c", "text": "Three.", "date": "26-FEB-1987 15:01:01.79"}]
    f = write(tmp_path / "rows.jsonl", "\n".join(map(json.dumps, rows)))
    assert [a.date for a in load_file(f)] == ["1987-03-27", "1987-03-31", "1987-02-26"]


def test_upload_name_overrides_type_and_id(tmp_path):
    f = write(tmp_path / "tmp123upload", "Headline\n\nUploaded body.")
    [art] = load_file(f, name="story.txt")
    assert art.id == "story" and art.text == "Uploaded body."
    with pytest.raises(InputError, match="unsupported"):
        load_file(f)


def test_unreadable_path(tmp_path):
    with pytest.raises(InputError, match="cannot read"):
        load_file(tmp_path / "nope.txt")


def test_folder_skips_qa_sets_but_a_named_one_is_an_error(tmp_path):
    write(tmp_path / "story.txt", "Headline\n\nBody.")
    qa = write(tmp_path / "qa.jsonl", json.dumps({"id": "q1", "question": "Who?", "answers": []}) + "\n")
    arts, errors = load_paths([tmp_path])
    assert [a.id for a in arts] == ["story"] and errors == []
    arts, errors = load_paths([qa])
    assert arts == [] and len(errors) == 1 and "qa.jsonl:1" in errors[0]


def test_seed_folder_loads_only_the_article():
    from conftest import SEED_ID, SEEDS

    arts, errors = load_paths([SEEDS])
    assert [a.id for a in arts] == [SEED_ID] and errors == []


# ---- broken Unicode ------------------------------------------------------------------------------
def test_jsonl_row_with_lone_surrogate_is_repaired_and_the_rest_load(tmp_path, caplog):
    good = {"id": "ok", "title": "Cocoa", "text": "Cocoa prices rose on Monday in Abidjan."}
    rows = [json.dumps(good), '{"id": "bad\\udc80", "title": "T", "text": "Broken \\ud83d emoji in the text."}']
    path = tmp_path / "rows.jsonl"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    ok, bad = load_file(path)
    assert ok.text == good["text"]
    assert bad.text == "Broken \ufffd emoji in the text." and bad.id == "bad\ufffd"
    assert f"{path}:2" in caplog.text and "U+FFFD" in caplog.text
    for field in (bad.id, bad.title, bad.text):
        field.encode("utf-8")  # strict: nothing left that an encoder or SQLite would refuse


@given(st.text(alphabet=st.characters(blacklist_categories=()), min_size=1, max_size=200))
@settings(max_examples=200, deadline=None)
def test_make_article_never_keeps_a_surrogate(text):
    try:
        article = make_article("x", text[:20], text, "fuzz")
    except InputError:
        return
    for field in (article.id, article.title, article.text):
        field.encode("utf-8")
