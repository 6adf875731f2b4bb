"""`assistant watch FEED... --every 15m [--once]`: keep an index current with new feed items."""
from __future__ import annotations

import argparse
import logging
import time
from collections.abc import Callable

from .ingest.feeds import parse_every, poll
from .ingest.fetch import Fetcher

log = logging.getLogger(__name__)


def cmd_watch(a, args, sleep: Callable[[float], None] = time.sleep, fetcher: Fetcher | None = None) -> int:
    """Poll the feeds every `--every` (conditional GET, new items only; seen items in `INDEX/feeds.json`)."""
    every = parse_every(args.every)
    fetch = fetcher or Fetcher()
    failed = False
    try:
        while True:
            for res in poll(a.add, a.path, list(args.feeds), fetch):
                for err in res.errors:
                    print(f"error: {err}", flush=True)
                failed = failed or bool(res.errors)
                state = "not modified" if res.not_modified else f"{res.new} new article{'s' if res.new != 1 else ''}"
                print(f"{time.strftime('%H:%M:%S')} {res.feed}: {state}", flush=True)
            if args.once:
                return 1 if failed else 0
            sleep(every)
    except KeyboardInterrupt:
        print("stopped", flush=True)
        return 0
    finally:
        if fetcher is None:
            fetch.close()


def add_watch_command(add: Callable[..., argparse.ArgumentParser], writer: Callable[[argparse.ArgumentParser], None]) -> None:
    p = add("watch", cmd_watch, "keep the index current with RSS/Atom feeds (new items only; Ctrl-C stops)")
    p.add_argument("feeds", nargs="+", metavar="FEED", help="feed URL or file")
    p.add_argument("--every", default="15m", help="poll interval: 90s, 15m, 2h (default 15m)")
    p.add_argument("--once", action="store_true", help="poll once and exit")
    writer(p)
