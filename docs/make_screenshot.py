"""Screenshot of the chat answering the card question: `.venv/bin/python docs/make_screenshot.py`.

Serves the app on a temporary index built from `seeds/` (or `--index PATH`, used as is), asks the question in
Debian chromium (`make chromium`) and writes docs/screenshot.png. Nothing is downloaded.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from assistant.ui import app  # noqa: E402

QUESTION = "Why won't Turkey send combat aircraft?"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", help="serve this index instead of a fresh one built from seeds/")
    parser.add_argument("--out", default=str(ROOT / "docs" / "screenshot.png"))
    parser.add_argument("--question", default=QUESTION)
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--height", type=int, default=900)
    args = parser.parse_args()

    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp:
        index = args.index or Path(tmp) / "index"
        assistant, demo, url = app.serve_in_background(index, seeds=ROOT / "seeds")
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=CHROMIUM_ARGS)
                page = browser.new_page(viewport={"width": args.width, "height": args.height})
                page.goto(url)
                box = page.locator("#question textarea")
                box.wait_for(timeout=60_000)
                box.fill(args.question)
                box.press("Enter")
                page.locator("#sources .src").first.wait_for(timeout=60_000)
                page.locator("#ask", has_text="Ask").wait_for(timeout=60_000)
                page.mouse.move(0, 0)
                page.wait_for_timeout(500)
                page.screenshot(path=args.out)
                browser.close()
        finally:
            demo.close()
            assistant.close()
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
