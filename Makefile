# AI Drawing Judge kiosk. Every target creates .venv (python3 -m venv + pip) when missing.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run demo test lint bench gpu-wheels install clean catalogs

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	# torch/torchvision first: the versions on this machine's disk, no multi-GB download
	$(BIN)/pip install --quiet torch==2.14.1 torchvision==0.29.1 || $(BIN)/pip install --quiet torch torchvision
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/kiosk run

demo: $(STAMP)
	$(BIN)/kiosk demo --profile tiny

# What the tests drive besides Python: tmux (the end-to-end TUI tests), chromium (the wall
# in a browser), a Korean font (export's contact sheet), PostgreSQL's server (the store's
# contract tests start a throwaway cluster: tests/pg_fixtures.py). Each test skips, saying
# why, when its program cannot be installed.
SYSTEM_TEST_DEPS := tmux chromium fonts-nanum postgresql

test: $(STAMP)
	@missing=""; for pkg in $(SYSTEM_TEST_DEPS); do dpkg -s $$pkg >/dev/null 2>&1 || missing="$$missing $$pkg"; done; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		(apt-get update -qq && apt-get install -y -qq --no-install-recommends $$missing >/dev/null) \
			|| echo "could not install$$missing: the tests that need them will be skipped"; \
	fi
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	# two workers: most slow tests wait on subprocesses and terminals, not on the CPU; the
	# end-to-end ones share one worker (xdist_group "e2e") so they never race each other
	$(BIN)/pytest -q -n 2 --dist loadgroup

# CPU benchmarks: each prints its figures and one SUMMARY line (see bench/RESULTS.md).
bench: $(STAMP)
	$(BIN)/python bench/overhead.py
	$(BIN)/python bench/dedup.py
	$(BIN)/python bench/store_scale.py
	$(BIN)/python bench/tui_latency.py
	$(BIN)/python bench/gpu.py --tiny
	$(BIN)/python bench/wall_latency.py
	$(BIN)/python bench/fairness.py
	$(BIN)/python bench/probes.py
	$(BIN)/python bench/first_frame.py
	$(BIN)/python bench/words.py
	$(BIN)/python bench/phones.py --devices 200 --duration 60

# Wheels for a lent CUDA machine (Python 3.12, x86-64), for bench/gpu_lease.sh: the
# packages its image lacks (it has torch, transformers, timm, huggingface_hub, ...).
GPU_WHEELS := diffusers==0.42.1 open_clip_torch==3.3.0 pydantic==2.14.4 pydantic_core==2.50.5 \
	annotated-types==0.8.0 typing-inspection==0.4.5 platformdirs==4.14.8 ftfy==6.3.1 wcwidth==0.9.4
gpu-wheels: $(STAMP)
	$(BIN)/pip download --quiet --no-deps --only-binary=:all: --python-version 3.12 \
		--implementation cp --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 \
		--platform manylinux2014_x86_64 -d .whl $(GPU_WHEELS)
	@du -sh .whl

# Visitor text: extract what N_() marks, then update the catalogs (translate the new
# entries in kiosk/locale/ko/LC_MESSAGES/kiosk.po; tests/test_i18n.py checks them).
catalogs: $(STAMP)
	$(BIN)/pybabel extract -F babel.cfg -k N_ --no-default-keywords --no-location \
		--sort-output --project "AI Drawing Judge kiosk" -o kiosk/locale/kiosk.pot .
	$(BIN)/pybabel update -i kiosk/locale/kiosk.pot -d kiosk/locale -D kiosk -w 100 \
		--ignore-obsolete --no-fuzzy-matching

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/mypy

clean:
	rm -rf $(VENV) data .pytest_cache .mypy_cache .ruff_cache
