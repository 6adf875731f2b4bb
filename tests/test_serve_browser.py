"""`assistant serve` in Chromium: Gradio's sign-in page, what a reader and an editor see and can do, and a reader's
own session cookie sent straight to the write events (refused, the index unchanged)."""
from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from conftest import CARD_QUESTION, SEED_ID, copy_index
from serving import PASSWORDS, Running, users_file
from test_browser import CHROMIUM, CHROMIUM_ARGS, TIMEOUT, UPLOAD_NAME, UPLOAD_TEXT, ask, bot_messages
from test_serve import remove, state

from assistant.serve.settings import Settings

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"{CHROMIUM} is missing: run `make chromium` (apt-get)"),
    pytest.mark.filterwarnings("ignore:.*no_silent_downcasting"),
    pytest.mark.filterwarnings("ignore:The copy keyword is deprecated"),
]


@pytest.fixture(scope="module")
def team(tmp_path_factory, built_index):
    folder = tmp_path_factory.mktemp("team-browser")
    settings = Settings(index=str(copy_index(built_index, folder / "index")), users=str(users_file(folder)))
    with Running(settings) as running:
        yield running


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=TIMEOUT)
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def context(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    yield context
    context.close()


def sign_in(context, url: str, user: str, password: str):
    page = context.new_page()
    page.goto(url)
    page.locator("input[data-testid='textbox']").fill(user)
    page.locator("input[data-testid='password']").fill(password)
    page.get_by_role("button", name="Login").click()
    return page


def test_a_wrong_password_stays_on_the_sign_in_page(context, team):
    from playwright.sync_api import expect

    page = sign_in(context, team.url, "rita", "not-her-password")
    expect(page.get_by_text("Incorrect Credentials", exact=False)).to_be_visible()
    assert page.locator("#question").count() == 0


def test_a_reader_chats_and_reads_sources_but_cannot_change_them(context, team):
    from playwright.sync_api import expect

    before = state(team)
    page = sign_in(context, team.url, "rita", PASSWORDS["rita"])
    ask(page, CARD_QUESTION)
    expect(bot_messages(page).last).to_contain_text("lacks a military base near Libya")
    expect(page.locator("#sources mark", has_text="military base").first).to_be_visible()
    page.get_by_role("tab", name="Sources").click()
    expect(page.locator("#articles")).to_contain_text(SEED_ID)
    for control in ("#upload", "#remove", "#fetch"):
        expect(page.locator(control)).not_to_be_visible()

    cookies = {c["name"]: c["value"] for c in context.cookies()}  # the reader's own session, sent by hand
    with httpx.Client(base_url=team.url, cookies=cookies, timeout=120) as by_hand:
        refused = remove(by_hand, SEED_ID)
    assert "Only editors" in refused["output"]["data"][0]
    assert state(team) == before


def test_an_editor_uploads_and_removes_in_the_page(context, team):
    from playwright.sync_api import expect

    page = sign_in(context, team.url, "ed", PASSWORDS["ed"])
    page.locator("#question textarea").wait_for(timeout=TIMEOUT)
    page.get_by_role("tab", name="Sources").click()
    page.locator("#upload input[type=file]").set_input_files(
        [{"name": UPLOAD_NAME, "mimeType": "text/plain", "buffer": UPLOAD_TEXT.encode()}])
    status, table = page.locator("#sources-status"), page.locator("#articles")
    expect(status).to_contain_text(f"{UPLOAD_NAME} (1 article): 1 new")
    expect(table).to_contain_text("Senegal replants mangroves")
    dropdown = page.locator("#remove-id input")
    dropdown.click()
    dropdown.fill("senegal")
    page.get_by_role("option", name="senegal-mangroves", exact=False).first.click()
    page.locator("#remove").click()
    expect(status).to_contain_text("removed senegal-mangroves")
    expect(table).not_to_contain_text("Senegal replants mangroves")


def test_the_read_only_page_has_no_write_controls(context, tmp_path, built_index):
    from playwright.sync_api import expect

    with Running(Settings(index=str(copy_index(built_index, tmp_path / "index")), read_only=True)) as running:
        page = context.new_page()
        page.goto(running.url)
        page.get_by_role("tab", name="Sources").click()
        expect(page.locator("#read-only-note")).to_be_visible()
        expect(page.locator("#articles")).to_contain_text(SEED_ID)
        for control in ("#upload", "#remove", "#fetch", "#write-controls"):
            assert page.locator(control).count() == 0
