# Two commands: `make lab` (set up and open the course) and `make test` (set up and run every test).
# Both are idempotent: a second run only re-installs when pyproject.toml changed.

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip --disable-pip-version-check
STAMP := $(VENV)/.installed
# CPU wheel where there is no NVIDIA GPU (a plain `torch` would pull a multi-GB CUDA build).
# GPU users: install your own CUDA torch into .venv first (README, "Using a GPU"); it is kept.
TORCH_CPU_SPEC ?= torch==2.13.0
PORT ?= 8888
WORKERS ?= 2
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: lab test unit notebooks-test e2e notebooks check-notebooks chromium renderer setup gpu-smoke clean help

help:
	@echo "make lab       set up .venv and open the course in JupyterLab"
	@echo "make test      set up .venv (+ Chromium) and run every test, notebooks and browser test included"
	@echo "make notebooks regenerate notebooks/ (student versions) from solutions/"
	@echo "make gpu-smoke train every fit target a few hundred steps on a CUDA GPU (img/s, metrics)"
	@echo "make clean     remove build outputs (keeps .venv)"

$(PY):
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(PY)
	@if $(PY) -c "import torch" 2>/dev/null; then \
		echo "torch already in $(VENV): $$($(PY) -c 'import torch; print(torch.__version__)')"; \
	elif command -v nvidia-smi >/dev/null 2>&1; then \
		echo "NVIDIA GPU found: installing the default (CUDA) torch build"; $(PIP) install torch; \
	else \
		echo "no NVIDIA GPU: installing the CPU wheel $(TORCH_CPU_SPEC)"; $(PIP) install "$(TORCH_CPU_SPEC)"; \
	fi
	$(PIP) install -e ".[test]"
	@touch $@

# Compile the SynthFaces renderer into Numba's cache (10 s the first time, after any edit to its source;
# under a second when cached), so that no notebook or test process compiles it, several at once.
renderer: $(STAMP)
	@$(PY) -m course_lib.faces --compile

setup: $(STAMP) renderer

lab: $(STAMP) renderer
	$(VENV)/bin/jupyter lab --ServerApp.root_dir=notebooks --port $(PORT) $(if $(filter 0,$(shell id -u)),--allow-root,)

# Chromium for the browser test: the system package, never a browser downloaded by Playwright.
chromium:
	@command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || { \
		if command -v apt-get >/dev/null 2>&1; then \
			echo "installing Chromium (apt)"; $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq chromium >/dev/null; \
		else \
			echo "Chromium is needed for the browser test: install it, or set CHROMIUM=/path/to/chromium"; exit 1; \
		fi; }

notebooks: $(STAMP)
	$(PY) tools/make_student.py

check-notebooks: $(STAMP)
	$(PY) tools/make_student.py --check

# Unit tests, every solutions notebook under nbval (fast mode) and the browser test, in one pytest run.
# Two workers, one thread each (two busy torch processes on two cores otherwise slow each other 3-4x).
test: $(STAMP) renderer chromium check-notebooks
	COURSE_FAST=1 OMP_NUM_THREADS=1 MPLBACKEND=Agg $(PY) -m pytest tests solutions \
		--nbval-lax --nbval-current-env --nbval-cell-timeout=300 \
		-n $(WORKERS) --dist loadscope -q -rfEs

unit: $(STAMP)
	COURSE_FAST=1 $(PY) -m pytest tests -q --ignore=tests/e2e

notebooks-test: $(STAMP)
	COURSE_FAST=1 MPLBACKEND=Agg $(PY) -m pytest solutions --nbval-lax --nbval-current-env -q

e2e: $(STAMP) chromium
	$(PY) -m pytest tests/e2e -q

# On a machine with an NVIDIA GPU (and a CUDA torch in .venv): the GPU path of train.fit, in minutes.
gpu-smoke: $(STAMP) renderer
	$(PY) benchmarks/gpu_smoke.py

clean:
	rm -rf build .pytest_cache
	find . -name __pycache__ -type d -prune -not -path "./$(VENV)/*" -exec rm -rf {} +
