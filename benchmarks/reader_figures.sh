#!/bin/sh
# Every README and docs/reader.md figure that moves with the reader file, rerun after `make reader`.
#   sh benchmarks/reader_figures.sh fit OUT      reader_eval and answer_study: paste the fitted policy into
#                                                 `Tuning` (assistant/answer/extractive.py), then
#   sh benchmarks/reader_figures.sh figures OUT  everything that depends on the file and its policy.
# Each command's output goes to OUT/<name>.txt; INDEX (default /tmp/squad-idx) is built when missing. Needs
# ../shared (SQuAD dev, Reuters for bench) and an otherwise idle machine: the latencies are measured too.
set -eu
STAGE=${1:?fit or figures}
OUT=${2:?output folder}
INDEX=${INDEX:-/tmp/squad-idx}
PY=${PY:-.venv/bin/python}
SQUAD=../shared/data/squad-dev
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"  # this checkout's package, even beside another's editable install
mkdir -p "$OUT"

run() {
    name=$1
    shift
    echo "== $name: $*"
    start=$(date +%s)
    "$@" > "$OUT/$name.txt" 2>&1 || echo "   FAILED (see $OUT/$name.txt)"
    echo "   $(($(date +%s) - start)) s"
}

case $STAGE in
fit)
    run reader_eval $PY benchmarks/reader_eval.py --limit 400
    run answer_study $PY benchmarks/answer_study.py --index "$INDEX" --n 1000 --cache "$OUT/answer_study.pkl"
    ;;
figures)
    run eval_test $PY -m assistant eval $SQUAD/qa.jsonl --articles $SQUAD/articles.jsonl --index "$INDEX" \
        --split-file $SQUAD/split.json --split test
    run eval_seed $PY -m assistant eval seeds/qa.jsonl --index /tmp/news-assistant-seed-eval --out "$OUT/eval-seed"
    run calibrate_test $PY benchmarks/calibrate_refusal.py --squad-index "$INDEX" --split test --n 300
    run calibrate_train $PY benchmarks/calibrate_refusal.py --squad-index "$INDEX" --split train --n 300
    run rerank_study $PY benchmarks/rerank_study.py --index "$INDEX" --n 800 --cache "$OUT/rerank_study.pkl"
    run fit_support $PY benchmarks/fit_support.py
    run llm_verify $PY benchmarks/llm_verify.py --squad-n 300
    run bench $PY benchmarks/bench.py
    ;;
*)
    echo "stage: fit or figures" >&2
    exit 2
    ;;
esac
