# The README's two commands:  `make demo` (mini recipe) and `make test` (test suite).
# Both create or reuse a virtual environment in $(VENV).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
NJ ?= 2

.PHONY: install demo test clean-demo

# The venv keeps the pip that ships with Python: newer pip (>= 25) refuses
# espnet's dependency ci_sdr, which declares a git URL in an extra.
$(VENV)/.installed: setup.py requirements/ci.txt
	test -x "$(PY)" || $(PYTHON) -m venv "$(VENV)"
	"$(PY)" -m pip install --quiet -c requirements/ci.txt -e '.[test]'
	touch "$@"

install: $(VENV)/.installed

demo: install
	cd egs2/mini_cs/csst1 && ./run.sh --nj "$(NJ)"

test: install
	"$(PY)" -m pytest -q test

clean-demo:
	rm -rf egs2/mini_cs/csst1/data egs2/mini_cs/csst1/downloads egs2/mini_cs/csst1/exp egs2/mini_cs/csst1/dump
