"""`assistant index|search|ask|chat|remove|stats|check|serve|user|eval`: the command line over the same API."""
from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Sequence

from .encoders import DEFAULT as DEFAULT_ENCODER
from .encoders import NAMES as ENCODERS
from .errors import AssistantError, InputError
from .ingest.distributed import ARTICLES_PER_BATCH, DEFAULT_COMMIT_EVERY
from .ingest.loaders import MAX_ARTICLE_CHARS
from .ingest.ray_runtime import check_address
from .ingest.walk import SUFFIXES
from .search import MODES

log = logging.getLogger("assistant.cli")
# Commands that may create the index folder; every other one needs an existing index.
CREATES_INDEX = {"index", "eval", "watch"}


def _filters(args: argparse.Namespace) -> dict | None:
    f = {k: getattr(args, k) for k in ("date_from", "date_to", "source") if getattr(args, k, None)}
    return f or None


def _print_answer(ans, as_json: bool) -> None:
    if as_json:
        print(json.dumps(ans.to_dict(), ensure_ascii=False, indent=2))
        return
    if ans.short:
        print(f"Short answer: {' '.join(ans.short.split())}")
    print(ans.text)
    for claim in ans.claims:
        if not claim.verified and ans.generator == "llm":
            print(f"  dropped: “{claim.text}” ({claim.note})" if claim.text not in ans.text
                  else f"  unverified: “{claim.text}” ({claim.note})")
    for c in ans.citations:
        print(f"  [{c.n}] {c.title} ({c.date or 'undated'}) {c.article_id} chars {c.quote_start}-{c.quote_end}")
        print(f"      “{' '.join(c.quote.split())}”")
    if ans.refused:
        for i, p in enumerate(ans.passages[:3], 1):
            print(f"  closest {i}: {p.title} {p.chunk_id}: {' '.join(p.text.split())[:160]}…")


def ray_address(value: str) -> str:
    """An address no driver can join by is refused before the index is opened."""
    try:
        return check_address(value)
    except InputError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def cmd_index(a, args) -> int:
    from .ingest.sources import load_run  # files and folders; http(s) pages; feeds (URLs or files) with --feed

    paths, address = list(args.paths), args.ray
    if address and address != "auto" and ":" not in address:  # `--ray seeds`: a path, not an address
        paths, address = [*paths, address], ""
    paths = paths or ["seeds"]
    if args.ray is not None:
        from .ingest.distributed import ingest

        result, errors = ingest(a.index, paths, address=address or None, progress=not args.quiet,
                                commit_every=args.commit_every, batch_articles=args.ray_batch)
        for err in errors:
            print(f"error: {err}", file=sys.stderr)
        counts = a.stats()
        print(f"indexed {result.added} new, {result.updated} changed, {result.unchanged} unchanged articles "
              f"({result.chunks} chunks); index holds {counts['articles']} articles, {counts['chunks']} chunks")
        return 1 if errors else 0
    loaded = load_run(paths, feed=getattr(args, "feed", False), max_chars=args.max_article_chars)
    for err in loaded.errors:
        print(f"error: {err}", file=sys.stderr)
    for warning in loaded.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    skipped = loaded.found.summary()
    if skipped:
        print(f"note: skipped {skipped}", file=sys.stderr)
    if not loaded.articles:
        print(f"error: nothing to index in {', '.join(map(str, paths))}: "
              f"{'no file could be read' if loaded.errors else 'no article files found'} "
              f"(articles are {', '.join(sorted(SUFFIXES))})", file=sys.stderr)
        return 2
    result = a.add(loaded.articles, progress=not args.quiet)
    counts = a.stats()
    print(f"indexed {result.added} new, {result.updated} changed, {result.unchanged} unchanged articles "
          f"({result.chunks} chunks); index holds {counts['articles']} articles, {counts['chunks']} chunks")
    return 1 if loaded.errors else 0


def cmd_search(a, args) -> int:
    passages = a.search(args.query, k=args.k, filters=_filters(args), mode=args.mode, rerank=args.rerank)
    if args.json:
        print(json.dumps([p.to_dict() for p in passages], ensure_ascii=False, indent=2))
    for i, p in enumerate(passages if not args.json else [], 1):
        print(f"{i}. [{p.score:.3f}] {p.title} ({p.date or 'undated'}) {p.chunk_id} chars {p.start}-{p.end}")
        print(f"   {' '.join(p.text.split())[:300]}")
    return 0


def _llm_generator(args):
    """`--llm URL|local` (or ASSISTANT_LLM_URL when `--llm` is given without a value): the LLM generator, or None."""
    choice = getattr(args, "llm", None)
    if not choice:
        return None
    from .answer.llm import LLMGenerator

    if choice == "local":
        print("starting the local model (SmolLM2-135M on llama.cpp)…", file=sys.stderr)
        return LLMGenerator.local(model=args.llm_model, strict=not args.show_unverified)
    return LLMGenerator.from_env(None if choice == "env" else choice, model=args.llm_model,
                                 strict=not args.show_unverified)


def cmd_ask(a, args) -> int:
    if args.rerank is not None:
        a.rerank = args.rerank
    generator = _llm_generator(args)
    if generator is not None:
        a.generator = generator
    try:
        ans = a.ask(args.question, filters=_filters(args))
    finally:
        if generator is not None:
            generator.close()
    if ans.note and not args.json:
        print(f"note: {ans.note}", file=sys.stderr)
    _print_answer(ans, args.json)
    return 0


def cmd_serve_llm(args) -> int:
    from .llm.server import main as serve

    return serve([*(["--model", args.model] if args.model else []), "--port", str(args.port),
                  *(["--threads", str(args.threads)] if args.threads else [])])


def cmd_chat(a, args) -> int:
    history: list[dict] = []
    if hasattr(sys.stdin, "reconfigure"):  # a line of broken bytes becomes an error for that line, not the end
        sys.stdin.reconfigure(errors="surrogateescape")
    print("Ask about the articles (empty line or Ctrl-D to quit).")
    while True:
        try:
            question = input("> ").strip()
        except EOFError:
            break
        if not question:
            break
        try:
            ans = a.ask(question, history)
        except AssistantError as exc:
            print(f"error: {exc}")
            continue
        _print_answer(ans, False)
        history += [{"role": "user", "content": question}, {"role": "assistant", "content": ans.text}]
    return 0


def cmd_remove(a, args) -> int:
    if not a.remove(args.article_id):
        print(f"error: no article with id {args.article_id!r}", file=sys.stderr)
        return 1
    print(f"removed {args.article_id}")
    return 0


def cmd_stats(a, args) -> int:
    stats = a.stats()
    print(json.dumps(stats, indent=2) if args.json else "\n".join(f"{k}: {v}" for k, v in stats.items()))
    return 0


def cmd_check(args) -> int:
    """Exit 0 when the index and the reader model are sound, 1 when not (including: missing, unopenable, damaged)."""
    from .index.check import report
    from .reader import Reader

    problems, leftovers, notes = report(args.index)
    try:
        Reader.load()  # verifies the shipped reader against its SHA-256
    except AssistantError as exc:
        problems.append(f"reader: {exc}")
    for p in problems:
        print(f"problem: {p}", file=sys.stderr)
    for note in notes:
        print(f"note: {note}", file=sys.stderr)
    if leftovers and not problems:
        print(f"note: {len(leftovers)} file(s) left by an interrupted write ({', '.join(leftovers[:4])}); "
              "readers ignore them and the next write removes them", file=sys.stderr)
    print("index OK" if not problems else f"{len(problems)} problem(s)")
    return 1 if problems else 0


def parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="assistant", description=__doc__)
    logging_options(ap, top=True)
    sub = ap.add_subparsers(dest="command", required=True)

    def add(name: str, func, help: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help)
        p.add_argument("--index", default="index", help="index folder (default: index/)")
        logging_options(p, top=False)
        p.set_defaults(func=func)
        return p

    def writer(p: argparse.ArgumentParser) -> None:
        p.add_argument("--lock-timeout", type=float, metavar="SECONDS",
                       help="how long to wait while another process writes the index "
                            "(default: ASSISTANT_LOCK_TIMEOUT or 600)")

    def filters(p: argparse.ArgumentParser) -> None:
        p.add_argument("--date-from", help="only articles dated on or after (YYYY-MM-DD)")
        p.add_argument("--date-to", help="only articles dated on or before (YYYY-MM-DD)")
        p.add_argument("--source", help="only articles from this source")

    def rerank(p: argparse.ArgumentParser) -> None:
        p.add_argument("--rerank", action=argparse.BooleanOptionalAction, default=None,
                       help="let the reader reorder the first passages (search: on by default; ask: off by default; see README)")

    p = add("index", cmd_index, "add files or folders of articles (default: seeds/)")
    p.add_argument("paths", nargs="*")
    p.add_argument("--encoder", choices=ENCODERS,
                   help=f"encoder for a new index (default {DEFAULT_ENCODER}; an existing index keeps its own)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--rebuild", action="store_true", help="discard the existing index and build it anew")
    p.add_argument("--max-article-chars", type=int, default=MAX_ARTICLE_CHARS, metavar="N",
                   help=f"refuse longer articles (default {MAX_ARTICLE_CHARS:,}; the others are indexed)")
    p.add_argument("--feed", action="store_true", help="the PATHs are RSS/Atom feeds (URLs or files): index every linked article")
    p.add_argument("--ray", nargs="?", const="", default=None, metavar="ADDRESS", type=ray_address,
                   help="read, chunk and embed on Ray: ADDRESS 'auto' (the cluster this machine is a node of) or "
                        "HOST:PORT (its head's GCS address) (none: a local Ray runtime on this machine's cores); this "
                        "process writes the index")
    p.add_argument("--commit-every", type=int, default=DEFAULT_COMMIT_EVERY, metavar="CHUNKS",
                   help=f"with --ray: publish one index generation per this many chunks (default {DEFAULT_COMMIT_EVERY})")
    p.add_argument("--ray-batch", type=int, default=ARTICLES_PER_BATCH, metavar="ARTICLES",
                   help=f"with --ray: articles per encoder call on a worker (default {ARTICLES_PER_BATCH})")
    writer(p)
    from .watch import add_watch_command

    add_watch_command(add, writer)
    p = add("search", cmd_search, "show the passages that best match a query")
    p.add_argument("query")
    p.add_argument("-k", type=int, default=5)
    p.add_argument("--mode", choices=MODES, default="hybrid")
    rerank(p)
    p.add_argument("--json", action="store_true")
    filters(p)
    p = add("ask", cmd_ask, "answer a question with cited passages")
    p.add_argument("question")
    rerank(p)
    p.add_argument("--json", action="store_true")
    p.add_argument("--llm", nargs="?", const="env", metavar="URL|local",
                   help="write the answer with a language model: an OpenAI-compatible base URL, `local` for the "
                        "packaged SmolLM2 (needs the [llm] extra), or no value for ASSISTANT_LLM_URL; "
                        "every sentence is checked against the passage it cites")
    p.add_argument("--llm-model", help="model name at the endpoint (ASSISTANT_LLM_MODEL), or a GGUF with `local`")
    p.add_argument("--show-unverified", action="store_true",
                   help="keep sentences that fail the check, marked (unverified), instead of dropping them")
    filters(p)
    add("chat", cmd_chat, "an interactive conversation with follow-up questions")
    p = add("remove", cmd_remove, "remove an article and its passages")
    p.add_argument("article_id")
    writer(p)
    p = add("stats", cmd_stats, "article and chunk counts and build settings")
    p.add_argument("--json", action="store_true")
    p = add("serve-llm", cmd_serve_llm, "serve the local model (OpenAI-compatible, loopback) until Ctrl-C")
    p.add_argument("--model", help="a GGUF file (default: the packaged SmolLM2-135M-Instruct)")
    p.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: a free one)")
    p.add_argument("--threads", type=int, help="CPU threads (default: half the cores)")
    p.set_defaults(opens_index=False)
    add("check", cmd_check, "verify the index's integrity (exit 0 when sound, 1 when not)").set_defaults(opens_index=False)
    from .serve.commands import add_commands

    add_commands(sub, logging_options)
    try:
        from .eval.runner import add_arguments
    except ImportError:
        pass
    else:
        add_arguments(sub)
    return ap


def logging_options(p: argparse.ArgumentParser, top: bool) -> None:
    """`-v`/`--log-json`, accepted before or after the command name."""
    p.add_argument("-v", "--verbose", action="count", default=0 if top else argparse.SUPPRESS,
                   help="log progress at INFO level (-vv: DEBUG; or set ASSISTANT_LOG_LEVEL)")
    p.add_argument("--log-json", action="store_true", default=False if top else argparse.SUPPRESS,
                   help="log one JSON object per line on stderr (or set ASSISTANT_LOG=json)")


def closed_stdout() -> int:
    """Point stdout at /dev/null (so the interpreter's final flush cannot fail again) and exit 141 = 128 + SIGPIPE."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):  # stdout is not a real file (tests): nothing to redirect
        pass
    return 141


def main(argv: Sequence[str] | None = None) -> int:
    from . import logs

    args = parser().parse_args(argv)
    logs.setup(args.verbose or 0, json_lines=True if args.log_json else None)
    assistant = None
    try:
        if getattr(args, "opens_index", True):
            from .assistant import Assistant

            if getattr(args, "rebuild", False):
                from .index import discard

                discard(args.index, lock_timeout=getattr(args, "lock_timeout", None))
            assistant = Assistant.open(args.index, encoder=getattr(args, "encoder", None),
                                       create=args.command in CREATES_INDEX,
                                       lock_timeout=getattr(args, "lock_timeout", None))
            code = args.func(assistant, args)
        else:
            code = args.func(args)
        sys.stdout.flush()  # inside the try: a reader that left is seen here, not in the interpreter's exit flush
        return code
    except AssistantError as exc:
        log.debug("%s failed", args.command, exc_info=True)
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `assistant search ... | head -1`: the reader left; exit quietly as Unix tools do
        return closed_stdout()
    except Exception as exc:  # a bug: say so in one line, with the traceback in the log
        log.critical("unexpected %s: %s", type(exc).__name__, exc, exc_info=True)
        print(f"error: unexpected {type(exc).__name__}: {exc} (a bug; please report it with the log above)",
              file=sys.stderr)
        return 3
    finally:
        if assistant is not None:
            assistant.close()


if __name__ == "__main__":
    sys.exit(main())
