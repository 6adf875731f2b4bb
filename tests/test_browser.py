"""The chat in a real browser: Debian chromium driven by Playwright against the real app.

Needs /usr/bin/chromium (`make chromium`; `make test` installs it). Nothing is downloaded: Playwright only
drives the system browser, and every request that leaves 127.0.0.1 is blocked and fails the test.
"""
from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlparse

import pytest
from conftest import CARD_QUESTION, SEED_ID, serve_copy

from assistant import Article

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
TIMEOUT = 60_000  # ms; answers take a few seconds on a busy 2-core machine

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"{CHROMIUM} is missing: run `make chromium` (apt-get)"),
    pytest.mark.filterwarnings("ignore:.*no_silent_downcasting"),
    pytest.mark.filterwarnings("ignore:The copy keyword is deprecated"),
]

HOSTILE = Article(
    id="zanzibar-cloves", title='Zanzibar clove auction <img src=x onerror="window.__pwned=1">', date="2020-01-05",
    source="Coast <b>Wire</b>",
    text=("Zanzibar's state trading corporation said its annual clove auction raised 40 million dollars this year "
          "<script>window.__pwned=1</script> after a strong harvest on Pemba island.\n\n"
          "Buyers from India and Indonesia bid for the crop <img src=x onerror=\"window.__pwned=1\"> according to "
          "the auction house, whose notice linked to [click](javascript:window.__pwned=1) for the full price list.\n\n"
          "Farmers on Pemba said rains had come on time."))
UPLOAD_NAME = "senegal-mangroves.txt"
UPLOAD_TEXT = ("Senegal replants mangroves in the Saloum delta\n"
               "Volunteers planted 80,000 mangrove seedlings in the Saloum delta this summer, the environment "
               "ministry in Dakar said on Tuesday.\n\n"
               "The ministry said the young trees protect fishing villages from storm surges and salt water.\n")


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


@contextmanager
def session(browser, url: str):
    """A fresh browser session (its own cookies and Gradio state) on the app at `url`; requests leaving the
    app's host are blocked and reported."""
    from playwright.sync_api import expect

    expect.set_options(timeout=TIMEOUT)
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    outside: list[str] = []
    host = urlparse(url).netloc

    def only_local(route):
        target = route.request.url
        if urlparse(target).scheme in ("data", "blob") or urlparse(target).netloc == host:
            route.continue_()
        else:
            outside.append(target)
            route.abort()

    context.route("**/*", only_local)
    try:
        pg = context.new_page()
        pg.goto(url)
        pg.locator("#question textarea").wait_for(timeout=TIMEOUT)
        yield pg
    finally:
        context.close()
    assert outside == [], f"the page tried to fetch from outside: {outside}"


@pytest.fixture
def page(browser, served):
    """A fresh browser session on the app."""
    with session(browser, served[1]) as pg:
        yield pg


@pytest.fixture(scope="module")
def followup_url(tmp_path_factory, followup_index):
    """The app on a copy of `followup_index`, where a follow-up's words are in several articles."""
    assistant, demo, url = serve_copy(followup_index, tmp_path_factory.mktemp("followups-app"))
    yield url
    demo.close()
    assistant.close()


def ask(page, question: str) -> None:
    box = page.locator("#question textarea")
    box.fill(question)
    box.press("Enter")


def bot_messages(page):
    return page.locator("#chat [data-testid='bot']")


def test_card_question_shows_the_answer_and_the_highlighted_passage(page):
    from playwright.sync_api import expect

    # record the busy state: the Ask button turns into "Answering…" while the answer is computed
    page.evaluate("""() => { window.__busy = false; const b = document.querySelector('#ask');
        new MutationObserver(() => { if (b.innerText.includes('Answering')) window.__busy = true; })
            .observe(b, {childList: true, subtree: true, characterData: true}); }""")
    ask(page, CARD_QUESTION)
    expect(bot_messages(page).last).to_contain_text("lacks a military base near Libya")
    expect(bot_messages(page).last).to_contain_text("[1]")
    mark = page.locator("#sources mark", has_text="military base")
    expect(mark.first).to_be_visible()
    expect(page.locator("#src-1")).to_contain_text("000_7b8ba0a49306706e")
    expect(page.locator("#src-1")).to_contain_text("chars ")
    assert page.evaluate("window.__busy"), "no busy state was shown while answering"
    expect(page.locator("#ask")).to_have_text("Ask")
    expect(page.locator("#question textarea")).to_be_editable()


def test_example_button_then_follow_up_uses_this_sessions_history(page):
    from playwright.sync_api import expect

    page.get_by_role("button", name="Who gave Haftar his drones?").click()
    expect(bot_messages(page).last).to_contain_text("United Arab Emirates")
    expect(page.locator("#ask")).to_have_text("Ask")
    ask(page, "And who sends him mercenaries?")
    expect(bot_messages(page)).to_have_count(2)
    expect(bot_messages(page).last).to_contain_text("Wagner")
    expect(page.locator("#sources mark", has_text="Wagner").first).to_be_visible()


def answered(page, turns: int) -> None:
    """Wait until the page shows `turns` answers and the input is ready for the next question."""
    from playwright.sync_api import expect

    expect(bot_messages(page)).to_have_count(turns)
    expect(page.locator("#ask")).to_have_text("Ask")


def test_pronoun_follow_up_is_answered_from_the_previous_turns_referent(browser, followup_url):
    """"She" is named only in the first answer; "pay rise" is in two articles (Durban's 12 %, Lisbon's 6 %)."""
    from playwright.sync_api import expect

    with session(browser, followup_url) as page:
        ask(page, "Who called the dockworkers' strike?")
        answered(page, 1)
        expect(bot_messages(page).last).to_contain_text("Thandi Nkosi")
        ask(page, "What pay rise does she want?")
        answered(page, 2)
        expect(bot_messages(page).last).to_contain_text("12 percent pay rise")
        expect(page.locator("#sources mark", has_text="12 percent pay rise").first).to_be_visible()
        expect(page.locator("#src-1")).to_contain_text("durban-dock")
        expect(page.locator("#sources")).not_to_contain_text("lisbon-metro")


def test_two_sessions_at_once_each_follow_up_resolves_against_its_own_turn(browser, followup_url):
    """Two browser contexts, turns interleaved, then the same words "How much will it borrow?" in both, sent
    back to back: each is answered from its own session's subject (Ghana's cocoa board, Lima's water company)."""
    from playwright.sync_api import expect

    with session(browser, followup_url) as a, session(browser, followup_url) as b:
        ask(a, "Why will Ghana's cocoa crop fall?")
        ask(b, "What damaged Lima's water treatment plant?")
        answered(a, 1)
        answered(b, 1)
        expect(bot_messages(a).last).to_contain_text("swollen shoot virus")
        expect(bot_messages(b).last).to_contain_text("Floods in March")
        ask(a, "How much will it borrow?")
        ask(b, "How much will it borrow?")
        answered(a, 2)
        answered(b, 2)
        for page, own, evidence, other in ((a, "ghana-cocoa", "1.3 billion dollars", "lima-water"),
                                           (b, "lima-water", "400 million dollars", "ghana-cocoa")):
            expect(bot_messages(page).last).to_contain_text(evidence)
            expect(page.locator("#sources mark", has_text=evidence).first).to_be_visible()
            expect(page.locator("#src-1")).to_contain_text(own)
            expect(page.locator("#sources")).not_to_contain_text(other)
            expect(page.locator("#chat")).not_to_contain_text("Floods in March" if page is a else "swollen shoot")


def test_off_topic_question_is_refused_and_errors_are_friendly(page):
    from playwright.sync_api import expect

    ask(page, "What is the best pizza recipe in Naples?")
    expect(bot_messages(page).last).to_contain_text("No answer in the articles")
    expect(page.locator("#sources")).to_contain_text("closest passages")
    expect(page.locator("#ask")).to_have_text("Ask")
    ask(page, "   ")  # a blank question: a notice, nothing added to the conversation
    expect(page.get_by_text("The question is empty").first).to_be_visible()
    expect(bot_messages(page)).to_have_count(1)
    ask(page, "x" * 2100)
    expect(bot_messages(page).last).to_contain_text("keep it under 2,000")
    expect(page.locator("body")).not_to_contain_text("Traceback")


def test_hostile_article_text_stays_inert(page, served):
    from playwright.sync_api import expect

    assistant, _ = served
    assistant.add([HOSTILE])
    try:
        ask(page, "Who bid for the Zanzibar clove crop?")
        page.locator("#sources .src").first.wait_for(timeout=TIMEOUT)
        page.wait_for_timeout(300)  # give any injected handler its chance to run
        assert page.evaluate("typeof window.__pwned") == "undefined"
        assert page.locator("img[src='x']").count() == 0
        reply = bot_messages(page).last
        expect(reply).to_contain_text("<script>window.__pwned=1</script>")
        expect(reply).to_contain_text('<img src=x onerror="window.__pwned=1">')
        expect(reply).to_contain_text("[click](javascript:window.__pwned=1)")
        expect(page.locator("#sources mark").first).to_contain_text('<img src=x onerror="window.__pwned=1">')
        expect(page.locator("#sources")).to_contain_text("Coast <b>Wire</b>")
        page.get_by_role("tab", name="Sources").click()
        expect(page.locator("#articles")).to_contain_text('Zanzibar clove auction <img src=x')
        page.wait_for_timeout(300)  # give any injected handler its chance to run
        assert page.evaluate("typeof window.__pwned") == "undefined"
        assert page.locator("img[src='x']").count() == 0
        assert page.locator("a[href^='javascript']").count() == 0
        assert page.locator("#chat script, #sources script, #articles script").count() == 0
    finally:
        assistant.remove(HOSTILE.id)


def test_upload_adds_an_article_live_and_remove_takes_it_out(page, served):
    from playwright.sync_api import expect

    page.get_by_role("tab", name="Sources").click()
    page.locator("#upload input[type=file]").set_input_files([
        {"name": UPLOAD_NAME, "mimeType": "text/plain", "buffer": UPLOAD_TEXT.encode()},
        {"name": "blank.txt", "mimeType": "text/plain", "buffer": b"  \n"},
    ])
    status = page.locator("#sources-status")
    expect(status).to_contain_text(f"{UPLOAD_NAME} (1 article): 1 new")
    expect(status).to_contain_text("blank.txt: the file is empty")
    table = page.locator("#articles")
    expect(table).to_contain_text("Senegal replants mangroves in the Saloum delta")
    expect(table).to_contain_text("senegal-mangroves")
    search = page.locator("#articles-filter input, #articles-filter textarea").first
    search.click()  # the filter: a big archive lists the articles added last, the filter finds the rest
    search.press_sequentially("MANGROVES", delay=30)  # typed: Gradio's input event follows key presses
    expect(page.locator("#summary")).to_contain_text("1 matches “MANGROVES”")
    expect(table).not_to_contain_text(SEED_ID)
    expect(table).to_contain_text("senegal-mangroves")

    page.get_by_role("tab", name="Chat").click()
    ask(page, "How many mangrove seedlings did volunteers plant in Senegal?")
    expect(bot_messages(page).last).to_contain_text("80,000 mangrove seedlings")
    expect(page.locator("#src-1")).to_contain_text("senegal-mangroves")

    page.get_by_role("tab", name="Sources").click()
    dropdown = page.locator("#remove-id input")
    dropdown.click()
    dropdown.fill("senegal")
    page.get_by_role("option", name="senegal-mangroves", exact=False).first.click()
    page.locator("#remove").click()
    expect(status).to_contain_text("removed senegal-mangroves")
    expect(table).not_to_contain_text("Senegal replants mangroves")
    expect(search).to_have_value("")  # a write lists the last added again, the filter cleared
    expect(table).to_contain_text(SEED_ID)
    assert served[0].article("senegal-mangroves") is None
