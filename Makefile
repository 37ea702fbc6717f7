# The two README commands: `make demo` (set up + run on the shipped sample) and `make test`.
PY ?= python3
VENV ?= .venv
BIN = $(VENV)/bin
INDEX ?= claims-index
export HF_HUB_OFFLINE = 1

.PHONY: setup demo test lint bench clean

$(BIN)/claims: pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]' $(if $(filter demo,$(MAKECMDGOALS)),,-e '.[ray]')
	touch $@

setup: $(BIN)/claims

demo: setup
	rm -rf $(INDEX)
	$(BIN)/claims ingest samples/articles --index $(INDEX)
	$(BIN)/claims stats --index $(INDEX)
	$(BIN)/claims search '"hypersonic" AND Kaliningrad' --mode keyword --index $(INDEX)
	$(BIN)/claims similar "three jets carrying hypersonic missiles were sent to the Baltic exclave" -k 5 --index $(INDEX)
	$(BIN)/claims search "air defence shot down the drones" -k 5 --index $(INDEX)
	$(BIN)/claims export "hypersonic missiles" -o $(INDEX)/export.jsonl --index $(INDEX)

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

test: setup lint
	$(BIN)/python -m pytest -q

clean:
	rm -rf $(INDEX) .pytest_cache .ruff_cache
