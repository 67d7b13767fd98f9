# The README's two commands: `make run` (set up and run the assistant) and `make test`.
SHELL := /bin/bash
PY := .venv/bin/python

.PHONY: run run-scaled setup db generate add nlu-report test test-postgres test-scaled bench clean

setup:
	@bash scripts/setup.sh

db: setup
	@umask 077 && $(PY) -m bot build   # measures.db (with imported contacts): owner only

generate: setup
	@$(PY) -m bot lexicon

# make add FILE=policy.docx [REGION=黄埔区] [ACCEPT=1]: review a new document; ACCEPT=1 puts it live (README)
add: setup
	@$(PY) -m bot add "$(FILE)" $(if $(REGION),--region "$(REGION)") $(if $(ACCEPT),--accept)

# check the training data (fails on what Rasa only logs), train if needed, held-out report (README: Training)
nlu-report: generate
	@$(PY) -m bot nlu-report

run: db generate
	@bash scripts/run.sh

# several Rasa instances and action servers behind HAProxy, PostgreSQL, Redis (README: Scaling)
run-scaled: generate
	@bash scripts/run-scaled.sh

test: setup
	@bash scripts/test.sh

test-postgres: setup
	@bash scripts/test.sh --postgres

test-scaled: setup
	@bash scripts/test.sh --scaled

bench: setup
	@$(PY) -m bench.query_bench

clean:
	rm -rf var models data/generated bot/nlu/dictionary results
