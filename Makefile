# Two commands set everything up on a fresh machine:  make demo  and  make test.
# torch is installed only when it is not importable in the venv, pinned to TORCH_VERSION
# (2.13.0 is the CPU wheel kept locally on our machines; an unpinned `torch` pulls a multi-GB CUDA build).
# make test runs 2 pytest-xdist workers with one torch thread each (OMP_NUM_THREADS=1) on our 2-core machines;
# a notebook cell may take up to 900 s (the SPD tutorial trains 5 arms x 11 subjects x 2 seeds in one cell).
# Override with e.g.  make test TORCH_VERSION=2.6.0  or pre-install your own torch into .venv.

PYTHON ?= python3
VENV ?= .venv
TORCH_VERSION ?= 2.13.0
PY := $(VENV)/bin/python
STAMP := $(VENV)/.geomrep-installed
PYTEST_ARGS ?=

# Real datasets: ../shared/data when present (CI has it at the same relative path).
ifeq ($(origin GEOMREP_DATA), undefined)
  ifneq ($(wildcard ../shared/data),)
    export GEOMREP_DATA := $(abspath ../shared/data)
  endif
endif

.PHONY: demo test bench lint check install clean docs

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip

$(STAMP): pyproject.toml | $(PY)
	@$(PY) -c "import torch" 2>/dev/null || $(PY) -m pip install "torch==$(TORCH_VERSION)"
	$(PY) -m pip install -q -e ".[tutorials,dev,docs]"
	@touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(PY) -m geomrep demo

NOTEBOOKS := $(wildcard tutorials/*.ipynb)

test: $(STAMP)
	OMP_NUM_THREADS=1 $(PY) -m pytest tests $(NOTEBOOKS) --nbmake --nbmake-timeout=900 -n 2 --dist loadgroup $(PYTEST_ARGS)

check: $(STAMP)
	$(PY) -m geomrep check

# The documentation site (Sphinx, offline) into docs/_build/html; warnings are errors, as in the docs test.
docs: $(STAMP)
	$(PY) -m sphinx -b html -W --keep-going -n -E docs docs/_build/html

bench: $(STAMP)
	@for f in benchmarks/bench_*.py; do echo "== $$f"; $(PY) $$f || exit 1; done

# GPU benchmarks (issue #15). The device machine's image has python3 with torch, e3nn, torch_geometric,
# scipy and numpy but not geoopt (a geomrep dependency) nor roma (the SO(3) baseline), and can install
# nothing: gpu-wheels downloads their pure-Python wheels into the ignored .gpu_wheels/, which travels
# with the working tree (the device call's carry) and goes on PYTHONPATH as .whl files.
# The exact device call is in benchmarks/README.md. bench-gpu runs the suite on this machine's GPU.
GPU_WHEELS ?= .gpu_wheels
GPU_WHEEL_PINS ?= geoopt==0.5.1 roma==1.8.0

.PHONY: gpu-wheels bench-gpu

gpu-wheels: | $(PY)
	$(PY) -m pip download --no-deps --only-binary=:all: -d $(GPU_WHEELS) $(GPU_WHEEL_PINS)

bench-gpu: $(STAMP)
	$(PY) benchmarks/gpu_suite.py --device cuda --out benchmarks/results/gpu

lint: $(STAMP)
	$(PY) -m ruff check geomrep tests benchmarks tutorials reproductions
	$(PY) -m ruff format --check geomrep tests benchmarks reproductions || true

clean:
	rm -rf $(VENV) geomrep-demo .pytest_cache build *.egg-info docs/_build docs/tutorials docs/benchmarks
