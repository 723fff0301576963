# make demo  — build .venv, then generate an image-to-video clip with the embedded Pusa-mini
# make test  — build .venv, then run the fast test suite
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp
DEMO   := demo-output

.PHONY: demo test test-all bench clean train-smoke experiments

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

# Issue 7's experiments at n = 64 into docs/results (sample cache: .cache/experiments). Claim 5 and the p_cond
# comparison need trained variants (make experiments WORK=DIR after bash scripts/train_ablations.sh DIR), and
# claim 1 its own two models (CLAIM1=DIR after bash scripts/train_claim1.sh DIR).
EXPERIMENTS := precision zero_shot keyframe_encoding steps cond_noise non_destructive warm_start guidance \
	caption_reliance
experiments: $(STAMP)
	set -e; for e in $(EXPERIMENTS); do $(PY) experiments/$$e.py; done
	if [ -n "$(WORK)" ]; then $(PY) experiments/ablations.py --work "$(WORK)" && \
		$(PY) experiments/task_sampling.py --work "$(WORK)"; \
	else echo "claim 5 and task_sampling skipped: pass WORK=DIR (bash scripts/train_ablations.sh DIR trains it)"; fi
	if [ -n "$(CLAIM1)" ]; then $(PY) experiments/claim1.py --work "$(CLAIM1)"; \
	else echo "claim 1 skipped: pass CLAIM1=DIR (bash scripts/train_claim1.sh DIR trains it)"; fi
