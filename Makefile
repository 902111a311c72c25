# Tally: every command a developer or CI runs. Needs only Python 3.11+ and make; installs the rest itself.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
UV_VERSION := 0.13.9
TOOLS := .tools
UV := $(TOOLS)/bin/uv
VENV := .venv
PY := $(VENV)/bin/python
export UV_PYTHON_DOWNLOADS := never
export UV_PROJECT_ENVIRONMENT := $(VENV)

.PHONY: help install browsers proto proto-check test test-slow test-unit test-integration lint demo up status bench k8s-check k8s-check-release pin-images clean

help:
	@echo "make demo        run Tally locally (embedded default) and show the main job"
	@echo "make test        install what is needed, then run every check and test (but the slow ones)"
	@echo "make test-slow   the slow fault-injection tests (CI runs them too)"
	@echo "make up          start nats-server and every service; Ctrl-C stops them"
	@echo "make lint        ruff, mypy and the import-linter contracts"
	@echo "make proto       regenerate libs/proto from proto/"
	@echo "make bench       benchmarks (medians beside a baseline measured in the same run)"
	@echo "make pin-images  pin the prod overlay's images by digest (TAG=x.y.z for a release)"
	@echo "make k8s-check-release  k8s-check, refusing unpinned placeholder digests too"

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/python -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

$(VENV)/.installed: $(UV) uv.lock pyproject.toml $(wildcard libs/*/pyproject.toml services/*/pyproject.toml cli/pyproject.toml)
	$(UV) sync --frozen --python $(PYTHON)
	@touch $@

install: $(VENV)/.installed

# The portal's browser tests drive Debian's Chromium (Playwright's own browser download cannot run here).
browsers:
	@test -x /usr/bin/chromium || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium)

proto: install
	$(PY) scripts/proto.py

proto-check: install
	$(PY) scripts/proto.py --check

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy libs/domain/src libs/money/src libs/pricing/src libs/pricing_wire/src libs/pdf_style/src libs/mesh/src libs/persistence/src libs/runtime/src libs/testing/src libs/fake_erp/src services/*/src cli/src
	$(VENV)/bin/lint-imports

test-unit: install
	$(PY) -m pytest tests/unit

test-integration: install browsers
	$(PY) -m pytest tests/integration tests/e2e

test: install browsers proto-check lint k8s-check
	$(PY) -m pytest tests -m "not slow"

test-slow: install browsers
	$(PY) -m pytest tests -m slow; status=$$?; [ $$status -eq 5 ] || exit $$status  # 5: none marked yet

k8s-check: install
	$(PY) scripts/k8s_check.py

k8s-check-release: install  # also refuses the placeholder digests make pin-images has not filled yet
	$(PY) scripts/k8s_check.py --release

pin-images: install  # TAG=x.y.z moves Tally's images to a release first; needs crane, skopeo or docker buildx
	$(PY) scripts/pin_images.py $(if $(TAG),--tag $(TAG))

DEMO_EVENTS ?= 1000000

demo: install
	$(VENV)/bin/tally demo --events $(DEMO_EVENTS)

up: install
	$(VENV)/bin/tally up

status: install
	$(VENV)/bin/tally status

bench: install
	$(PY) bench/run.py

clean:
	rm -rf $(VENV) $(TOOLS) .tally .pytest_cache .mypy_cache .ruff_cache
