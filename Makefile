# make demo  — build .venv, then generate an image-to-video clip with a tiny random-weight pipeline
# make test  — build .venv, then run the fast test suite
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp
DEMO   := demo-output

.PHONY: demo test test-all bench clean train-smoke

$(STAMP): pyproject.toml constraints.txt
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -c constraints.txt torch==2.13.0
	$(PY) -m pip install -q -c constraints.txt -e ".[dev]"
	touch $(STAMP)

test: $(STAMP)
	$(PY) -m pytest -q

test-all: $(STAMP)
	$(PY) -m pytest -q -m ""

demo: $(STAMP)
	$(PY) -m pusa.demo $(DEMO)

bench: $(STAMP)
	$(PY) benchmarks/vta_overhead.py

clean:
	rm -rf $(VENV) $(DEMO) .pytest_cache

train-smoke: $(STAMP)
	$(PY) -m pusa.training.smoke
