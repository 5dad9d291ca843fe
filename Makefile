# Linkage: `make run` serves the demo on http://127.0.0.1:5000, `make test` runs every test.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup run test bench clean translations chromium bytecode

$(STAMP): setup.cfg setup.py pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $(STAMP)

# Front-end libraries (bpmn-js, ECharts) from npm, pinned by package-lock.json, copied into
# the git-ignored web/static/vendor/; English translations compiled; Debian's Chromium for the
# browser tests (and a Chinese font for its screenshots), installed where we may (root),
# required by those tests under CI.
ASSETS := web/static/vendor/.installed
$(ASSETS): $(STAMP) package.json package-lock.json web/pages/assets.py
	npm ci --no-audit --no-fund --loglevel=error
	$(BIN)/python -m web.pages.assets
	touch $(ASSETS)

translations: $(STAMP)
	$(BIN)/pybabel compile -d web/translations >/dev/null

# Our own modules compiled ahead (pip does it for installed packages, not for an editable
# install): where PYTHONDONTWRITEBYTECODE is set, as in many containers, every `linkage`
# command would otherwise compile them again at start-up (70 ms). Up-to-date files are skipped.
bytecode: $(STAMP)
	$(BIN)/python -m compileall -q engine workflows web

chromium:
	@if command -v chromium >/dev/null 2>&1 && fc-list :lang=zh 2>/dev/null | grep -q .; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-wqy-zenhei; } \
			|| echo "could not install chromium; browser tests will not run"; \
	else echo "chromium not installed (needs root: apt-get install chromium fonts-wqy-zenhei); browser tests will not run"; fi

setup: $(STAMP) $(ASSETS) translations bytecode chromium
	$(BIN)/linkage init

run: setup
	$(BIN)/linkage demo
	$(BIN)/linkage serve --host 127.0.0.1 --port 5000

test: setup
	$(BIN)/python -m pytest -q -n 2 --dist loadfile

bench: setup
	$(BIN)/python bench/run.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) instance .pytest_cache node_modules web/static/vendor
