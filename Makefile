# Two commands on a fresh machine: `make study` (the main job) and `make test`. Each sets up what it needs.
# Tests use one torch thread per process: tiny models gain nothing from more, and threads fight on shared cores.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
STUDY_PRESET ?= quick
# independent notebooks run side by side, one core each
STUDY_WORKERS ?= 2
# a Dask scheduler instead (tcp://HOST:PORT or local:N), for jobs and sweep points
STUDY_SCHEDULER ?=
export MPLBACKEND := Agg

.PHONY: setup data study test test-all lab bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[notebooks,dev]'
	touch $(STAMP)

setup: $(STAMP) data

# Debian/Ubuntu as root: the Fashion-MNIST package; elsewhere torchvision downloads it into data/ on first use.
data:
	@if [ ! -d /usr/share/datasets/fashion-mnist ] && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		apt-get install -y -q dataset-fashion-mnist || (apt-get update -q && apt-get install -y -q dataset-fashion-mnist); \
	fi

study: setup
	TQDM_DISABLE=1 $(BIN)/python -m labkit study --preset $(STUDY_PRESET) \
		$(if $(STUDY_SCHEDULER),--scheduler $(STUDY_SCHEDULER),--workers $(STUDY_WORKERS))

test: setup
	OMP_NUM_THREADS=1 TQDM_DISABLE=1 LABKIT_OFFLINE=1 $(BIN)/python -m pytest -q

test-all: setup
	OMP_NUM_THREADS=1 TQDM_DISABLE=1 LABKIT_OFFLINE=1 $(BIN)/python -m pytest -q -m ''

# Loopback only, with jupyter's token; root (the usual user in a container) needs jupyter's --allow-root.
lab: setup
	$(BIN)/jupyter lab notebooks/ --ip=127.0.0.1 --no-browser $$([ "$$(id -u)" = 0 ] && echo --allow-root)

bench: setup
	$(BIN)/python -m benchmarks

clean:
	rm -rf $(VENV) runs *.egg-info
