# Consortia: `make demo` runs a local demo consortium (every app and its parties); `make test` runs the suite.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
RUNTIME_STAMP := $(VENV)/.runtime
HOME_DIR ?= .consortia
PORT   ?= 8700

.PHONY: demo test bench lint install clean-demo system-deps

# The demo needs only the runtime dependencies; the tests, lint and benchmarks add the test extras.
$(RUNTIME_STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e .
	touch $(RUNTIME_STAMP)

$(STAMP): $(RUNTIME_STAMP)
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

# Debian packages the tests and the multi-node network need (NATS JetStream server; Chromium for tests/e2e;
# a CJK font for invoice PDFs; the Noto CJK fonts, so the e2e screenshots show Chinese as users see it).
system-deps:
	@command -v nats-server >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq nats-server; }
	@test -x /usr/bin/chromium || { apt-get update -qq && apt-get install -y -qq chromium; }
	@command -v ip >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq iproute2; }
	@command -v openssl >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq openssl; }
	@test -f /usr/share/fonts/truetype/wqy/wqy-microhei.ttc || { apt-get update -qq && apt-get install -y -qq fonts-wqy-microhei; }
	@dpkg -s fonts-noto-cjk >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq fonts-noto-cjk; }

CRYPTO ?= ed25519

demo: $(RUNTIME_STAMP)
	$(VENV)/bin/consortia up --init --crypto $(CRYPTO) --dir $(HOME_DIR) --port $(PORT)

test: $(STAMP) system-deps
	$(VENV)/bin/ruff check src tests bench examples
	$(VENV)/bin/mypy src/consortia
	$(PY) -m pytest -q

bench: $(STAMP) system-deps
	$(PY) bench/run.py

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests bench examples
	$(VENV)/bin/mypy src/consortia

clean-demo:
	rm -rf $(HOME_DIR)
