"""Train the reader from the packaged all-MiniLM-L6-v2 weights, then calibrate, export and ship it.

    python -m assistant.reader.train --data ../shared/data/squad-dev --out assistant/models --max-minutes 60

The whole run keeps to `--max-minutes`: after a few steps the step time is measured and the number of steps
(and so the linear learning-rate decay) is cut to what fits, leaving time for calibration and export.
A checkpoint is written to `--work` every few minutes; `--resume` continues from it.
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import random
import sys
import time
from collections.abc import Sequence
from functools import partial
from pathlib import Path

from . import mining
from .data import build_examples, dev_split, load
from .dress import dress, titled
from .encoding import MAX_LEN, encode_many, token_span
from .model import DEFAULT_PATH, Reader
from .net import make_net
from .polar import polarize

log = logging.getLogger("reader.train")
RESERVE_MINUTES = 10.0  # for export, quantisation and scoring the dev groups
CHECKPOINT_SECONDS = 300
FROZEN_LAYERS = 0  # encoder layers kept as packaged (the embeddings always are: they are quantised to int8 at
# export anyway). Freezing two made steps ~20% faster; training all six served the product better (docs/reader.md)
PROBE_EVERY, PROBE_STEPS = 150, 6  # torch threads re-chosen (1 or 2) by measured speed: the cores are shared


def batches(examples, max_len: int, batch: int, seed: int) -> list[dict]:
    """Tensors per batch: shuffled, then sorted by length within windows of 50 batches (little padding)."""
    import torch

    from .encoding import batch_arrays

    rows = encode_many([(e.question, e.sentence, e.title, e.before) for e in examples], max_len)
    rng = random.Random(seed)
    order = list(range(len(rows)))
    rng.shuffle(order)
    out = []
    for w in range(0, len(order), batch * 50):
        window = sorted(order[w:w + batch * 50], key=lambda i: len(rows[i].ids))
        for b in range(0, len(window), batch):
            idx = window[b:b + batch]
            arr = {k: torch.from_numpy(v) for k, v in batch_arrays([rows[i] for i in idx]).items()}
            width = arr["input_ids"].shape[1]
            sent = torch.zeros((len(idx), width), dtype=torch.bool)
            start, end = torch.full((len(idx),), -100), torch.full((len(idx),), -100)
            for j, i in enumerate(idx):
                sent[j, rows[i].lo:rows[i].hi] = True
                span = token_span(rows[i], *examples[i].span) if examples[i].span else None
                if span:
                    start[j], end[j] = span
            arr.update(label=torch.tensor([float(examples[i].label) for i in idx]), sent=sent, start=start, end=end)
            out.append(arr)
    rng.shuffle(out)
    return out


def frozen_prefixes(layers: int) -> tuple[str, ...]:
    return ("bert.embeddings.", *(f"bert.encoder.layer.{i}." for i in range(layers)))


def loss_of(net, b):  # noqa: ANN001
    import torch.nn.functional as F

    logit, s, e = net(b["input_ids"], b["attention_mask"], b["token_type_ids"])
    loss = F.binary_cross_entropy_with_logits(logit, b["label"])
    if (b["start"] >= 0).any():  # span loss on positives only, over the sentence's tokens
        s, e = s.masked_fill(~b["sent"], -1e4), e.masked_fill(~b["sent"], -1e4)
        loss = loss + (F.cross_entropy(s, b["start"], ignore_index=-100) + F.cross_entropy(e, b["end"], ignore_index=-100)) / 2
    return loss


def train(net, data: list[dict], args, deadline: float, work: Path) -> dict:  # noqa: ANN001
    """AdamW with warmup and linear decay over the steps that fit before `deadline`; checkpoints to `work`."""
    import torch

    frozen = frozen_prefixes(args.frozen_layers)
    for n, p in net.named_parameters():
        p.requires_grad = not n.startswith(frozen)
    heads = [p for n, p in net.named_parameters() if not n.startswith("bert.")]
    body = [(n, p) for n, p in net.named_parameters() if n.startswith("bert.") and p.requires_grad]
    decay, flat = [p for n, p in body if p.ndim > 1], [p for n, p in body if p.ndim <= 1]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.01}, {"params": flat, "weight_decay": 0.0},
                             {"params": heads, "weight_decay": 0.0, "lr": args.lr * 10}], lr=args.lr)
    full = min(len(data) * args.epochs, args.max_steps or 10**9)
    plan = {"total": full, "step": 0}
    warm = lambda: max(1, int(0.06 * plan["total"]))  # noqa: E731
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min((s + 1) / warm(), max(0.0, (plan["total"] - s) / max(1, plan["total"] - warm()))))
    ckpt = work / "ckpt.pt"
    if args.resume and ckpt.exists():
        state = torch.load(ckpt, weights_only=False)
        net.load_state_dict(state["net"]), opt.load_state_dict(state["opt"]), sched.load_state_dict(state["sched"])
        plan.update(state["plan"])
        log.info("resumed at step %d of %d", plan["step"], plan["total"])
    net.train()
    t0, saved, losses, first = time.time(), time.time(), [], plan["step"]
    speed: dict[int, float] = {}
    threads = args.threads or 1
    while plan["step"] < plan["total"]:
        if time.time() > deadline:
            log.warning("time budget reached at step %d of %d", plan["step"], plan["total"])
            break
        if not args.threads:
            threads = probe(plan["step"] - first, speed, threads)
        torch.set_num_threads(threads)
        t_step = time.time()
        b = data[plan["step"] % len(data)]
        loss = loss_of(net, b)
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
        opt.step()
        sched.step()
        plan["step"] += 1
        losses.append(loss.item())
        rate = b["input_ids"].numel() / (time.time() - t_step)
        speed[threads] = rate if threads not in speed else 0.7 * speed[threads] + 0.3 * rate
        done = plan["step"] - first
        if done in (10, 30) or done % 100 == 0:  # re-plan: the steps that fit before the deadline
            per = (time.time() - t0) / done
            fit = plan["step"] + int((deadline - time.time()) / per)
            plan["total"] = max(plan["step"] + 1, min(full, fit))  # up again too: the first steps are the slowest
            log.info("step %d/%d loss %.4f (%.2f s/step, tokens/s by threads %s)", plan["step"], plan["total"],
                     sum(losses[-50:]) / len(losses[-50:]), per, {k: round(v) for k, v in speed.items()})
        if time.time() - saved > CHECKPOINT_SECONDS:
            tmp = work / "ckpt.tmp"
            torch.save({"net": net.state_dict(), "opt": opt.state_dict(), "sched": sched.state_dict(), "plan": plan}, tmp)
            os.replace(tmp, ckpt)
            saved = time.time()
    net.eval()
    last = losses[-100:]
    resumed = {"resumed_from_step": first} if first else {}  # the minutes recorded are this sitting's only
    return {"steps": plan["step"], "final_loss": sum(last) / max(1, len(last)), "frozen": list(frozen), **resumed}


def probe(done: int, speed: dict[int, float], current: int) -> int:
    """Thread count for the next step: each count tried for PROBE_STEPS every PROBE_EVERY steps, then the faster."""
    phase = done % PROBE_EVERY
    if phase < PROBE_STEPS:
        return 1
    if phase < 2 * PROBE_STEPS:
        return 2
    return max(speed, key=speed.__getitem__) if speed else current


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", required=True, help="MRQA-format folder: articles.jsonl, qa.jsonl, split.json")
    p.add_argument("--out", default=str(Path(__file__).resolve().parent.parent / "models"))
    p.add_argument("--work", default="/tmp/reader-work", help="checkpoints and intermediate files (not shipped)")
    p.add_argument("--max-minutes", type=float, default=60.0)
    p.add_argument("--limit", type=int, default=0, help="training questions (0: all)")
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--max-steps", type=int, default=0)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--lr", type=float, default=8e-5)
    p.add_argument("--max-len", type=int, default=MAX_LEN)
    p.add_argument("--seed", type=int, default=13)
    p.add_argument("--negatives", default="2,2,2,0", help="per question: same-paragraph, hard, refusal and product "
                   "candidate negatives (mined with the product's retrieval and overlap scorer; docs/reader.md)")
    p.add_argument("--mine-reader", nargs="?", const=str(DEFAULT_PATH), default=None, metavar="FILE",
                   help="order the mined candidates as this reader does (no FILE: the shipped one), not by overlap")
    p.add_argument("--polar", type=float, default=0.0, help="share of the rewritable questions asked as yes/no "
                   "questions (polar.py)")
    p.add_argument("--frozen-layers", type=int, default=FROZEN_LAYERS, help="lowest encoder layers kept as packaged "
                   "(the embeddings always are)")
    p.add_argument("--dress", type=float, default=0.25, help="share of examples given a news attribution")
    p.add_argument("--dev-limit", type=int, default=0, help="dev questions scored (0: all)")
    p.add_argument("--no-fuse", action="store_true", help="skip onnxruntime's BERT fusions (faster export)")
    p.add_argument("--threads", type=int, default=0, help="torch threads (0: measure 1 vs 2 as it goes)")
    p.add_argument("--resume", action="store_true")
    p.add_argument("--ship-only", action="store_true", help="skip training: ship `--work`/reader-final.pt")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(message)s", stream=sys.stderr)
    logging.getLogger("reader").setLevel(logging.INFO)
    import torch

    start = time.time()
    deadline = start + 60 * max(args.max_minutes - RESERVE_MINUTES, args.max_minutes * 0.5)
    torch.set_num_threads(2)
    torch.manual_seed(args.seed)
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    paras, qs, split = load(args.data)
    fit_ids, dev_ids = dev_split(split["train"], qs)
    if args.ship_only:
        saved = torch.load(work / "reader-final.pt", weights_only=False)
        state, figures = saved["net"], saved["figures"]
    else:
        same, hard, refusal, cand = (int(n) for n in args.negatives.split(","))
        dressed = titled(paras)
        teacher = Reader.load(args.mine_reader) if cand and args.mine_reader else None
        mine = partial(mining.mine, dressed, fit_ids, k=cand + 3, index_dir=work / "mine-index",
                       reader=teacher) if cand else None
        fit = set(fit_ids)
        asked = polarize([q for q in qs if q.article_id in fit], args.polar, args.seed)  # dev questions stay as given
        examples = build_examples(dressed, asked, fit_ids, seed=args.seed, same=same, hard=hard, refusal=refusal,
                                  limit=args.limit or None, mine=mine, cand=cand)
        examples = dress(examples, args.dress, args.seed)
        data = batches(examples, args.max_len, args.batch, args.seed)
        kinds = {k: sum(e.kind == k for e in examples) for k in ("pos", "same", "hard", "refusal", "cand")}
        kinds["polar"] = sum(e.kind == "pos" and e.span is None for e in examples)
        log.info("%d examples %s in %d batches; %d fit / %d dev paragraphs", len(examples), kinds, len(data),
                 len(fit_ids), len(dev_ids))
        net = make_net()
        figures = train(net, data, args, deadline, work)
        mined_with = {"mined_with": teacher.meta["sha256"] if teacher else "overlap"} if cand else {}
        figures.update(examples=len(examples), kinds=kinds, negatives=args.negatives, polar=args.polar, **mined_with,
                       dress=args.dress, batch=args.batch, lr=args.lr, seed=args.seed, max_len=args.max_len,
                       fit_paragraphs=len(fit_ids), dev_paragraphs=len(dev_ids),
                       train_minutes=round((time.time() - start) / 60, 1))
        state = net.state_dict()
        torch.save({"net": state, "figures": figures}, work / "reader-final.pt")
    torch.set_num_threads(2)
    from .ship import ship  # imported late: a fix made while a long run trains still applies

    meta = ship(state, work, Path(args.out), paras, qs, dev_ids, split["train"], args, figures)
    meta["training"]["ship_minutes" if args.ship_only else "total_minutes"] = round((time.time() - start) / 60, 1)
    (Path(args.out) / "reader.json").write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    log.info("done in %.1f min: %s", (time.time() - start) / 60, json.dumps(meta["dev"]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
