# MediaMind platform: one entry point per day-to-day command.
# ENV selects the inventory (local | dev | production); local is the emulator.
SHELL := /bin/bash
.DEFAULT_GOAL := help
ENV ?= local
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PLAYBOOK := tools/playbook.sh $(ENV)
LOCALENV := $(BIN)/python tools/localenv.py
# Two workers on a 2-core machine: test folders and Molecule scenarios run side by
# side, each on one worker (tests/conftest.py groups them), private emulators per worker.
PYTEST_ARGS ?= -n 2 --dist loadgroup
export ANSIBLE_CONFIG := $(CURDIR)/ansible.cfg

# Runs $(1) with the local emulator's endpoint and credentials when ENV=local;
# dev/production use the caller's AWS credentials as they are.
define with_env
if [ "$(ENV)" = local ]; then $(LOCALENV) up >/dev/null && set -a && eval "$$($(LOCALENV) env)" && set +a; fi; $(1)
endef

.PHONY: help setup lock up down deploy plan destroy release migrate status logs redrive backups outputs diagram demo send-mail test-load bench-load lambda-package bench-chatbot bench-chatbot-adversarial bench-noop test lint clean

help: ## List the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-16s %s\n", $$1, $$2}'

$(BIN)/.installed: requirements.txt
	@command -v $(PYTHON) >/dev/null || { echo "error: $(PYTHON) not found: install Python 3.11+" >&2; exit 1; }
	@$(PYTHON) -c 'import venv, ensurepip' 2>/dev/null || { echo "error: Python's venv module is missing: apt-get install python3-venv" >&2; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet --require-hashes -r requirements.txt
	@touch $@

.venv-checkov/.installed: requirements-checkov.txt
	$(PYTHON) -m venv .venv-checkov
	.venv-checkov/bin/pip install --quiet --upgrade pip
	.venv-checkov/bin/pip install --quiet -r requirements-checkov.txt
	@touch $@

setup: $(BIN)/.installed ## Create the virtualenv (.venv) from the pinned requirements

# pip-tools in a throw-away venv: every pin with the hashes of all its files, so
# `make setup` installs in hash-checking mode. Afterwards copy redis's wheel hash
# into lambda_src/requirements.txt when its pin moved.
lock: ## Re-pin requirements.txt (with hashes) from requirements.in
	$(PYTHON) -m venv /tmp/mediamind-lock && /tmp/mediamind-lock/bin/pip install -q pip-tools
	CUSTOM_COMPILE_COMMAND="make lock" /tmp/mediamind-lock/bin/pip-compile --quiet --generate-hashes \
	  --allow-unsafe --strip-extras --no-emit-index-url --no-emit-find-links \
	  --output-file requirements.txt requirements.in

up: setup ## Start the local emulator (moto server + TLS Redis on 127.0.0.1)
	@$(LOCALENV) up

down: ## Stop exactly what `make up` started
	@if [ -x $(BIN)/python ]; then $(LOCALENV) down; else echo "nothing to stop (no virtualenv)"; fi

# MM_OUTPUTS_FILE: the changes callback notes which components outputs/ENV.json held
# before the run (the run rewrites it), so the summary can tell created from updated.
deploy: setup ## Deploy ENV (default local: starts the emulator when needed), then print its summary
	@MM_CHANGES_FILE=build/changes-$(ENV).json MM_OUTPUTS_FILE=outputs/$(ENV).json $(PLAYBOOK) playbooks/site.yml $(ARGS)
	@$(BIN)/python tools/summary.py outputs/$(ENV).json --changes build/changes-$(ENV).json

# Without outputs/ENV.json yet (a fresh clone) the summary is the change table alone.
plan: setup ## Show what a deploy of ENV would change (check mode + diff), then the summary
	@MM_CHANGES_FILE=build/plan-$(ENV).json MM_OUTPUTS_FILE=outputs/$(ENV).json $(PLAYBOOK) playbooks/site.yml --check --diff $(ARGS)
	@$(BIN)/python tools/summary.py outputs/$(ENV).json --changes build/plan-$(ENV).json

destroy: setup ## Remove ENV in reverse order (production needs ARGS='-e confirm_teardown=production')
	@$(PLAYBOOK) playbooks/teardown.yml $(ARGS)

release: setup ## Roll TAG out to SERVICE in ENV (new task-definition revision, waits for the deployment)
	@test -n "$(SERVICE)" -a -n "$(TAG)" || { echo "error: give SERVICE=<ecs service host> and TAG=<image tag>" >&2; exit 1; }
	@$(PLAYBOOK) playbooks/release.yml -e release_service=$(SERVICE) -e release_tag=$(TAG) $(ARGS)

migrate: setup ## Run `alembic upgrade head` in ENV as a one-off task of each API service (or SERVICE), waits, shows the log tail
	@$(PLAYBOOK) playbooks/migrate.yml $(if $(SERVICE),-e migrate_service=$(SERVICE)) $(ARGS)

status: setup ## Services running/desired, deployments, target health, chatbot errors and failure queue
	@$(call with_env,$(BIN)/python tools/ops.py status --env $(ENV))

logs: setup ## Recent log lines of SERVICE (an ECS service or `chatbot`) in ENV
	@$(call with_env,$(BIN)/python tools/ops.py logs --env $(ENV) --service "$(SERVICE)")

backups: setup ## Latest recovery points per resource in ENV's backup vault
	@$(call with_env,$(BIN)/python tools/ops.py backups --env $(ENV))

outputs: setup ## Reprint ENV's deploy summary from outputs/ENV.json (no AWS call)
	@$(BIN)/python tools/summary.py outputs/$(ENV).json

redrive: setup ## Replay the chatbot's failure-queue messages (each mail still processed at most once)
	@$(call with_env,$(BIN)/python tools/ops.py redrive --env $(ENV))

demo send-mail: ENV := local
demo: setup up ## Deploy local, then one mail through SMTP -> S3 -> Lambda handler -> backend, and a concurrent redelivery
	@$(PLAYBOOK) playbooks/site.yml $(ARGS)
	@$(call with_env,$(BIN)/python tools/demo.py)

send-mail: setup ## One more mail: make send-mail FROM=a@b.c SUBJECT=Hi BODY=Hello [TO=x@chat.csee.tech] [SPAM=1]
	@$(call with_env,$(BIN)/python tools/send_mail.py $(if $(FROM),--from "$(FROM)") $(if $(TO),--to "$(TO)") $(if $(SUBJECT),--subject "$(SUBJECT)") $(if $(BODY),--body "$(BODY)") $(if $(SPAM),--spam))

test-load: setup ## The chatbot under load and faults alone: 1,000 mails (MM_LOAD_MAILS=N), ~2 min; part of make test too
	$(BIN)/pytest tests/load -q

bench-load: setup ## Load + fault figures (writes benchmarks/results/chatbot_load.md)
	$(BIN)/python benchmarks/chatbot_load.py $(ARGS)

diagram: setup ## Render ENV's architecture from its inventory (and outputs/ENV.json) to docs/architecture-ENV.svg
	@tools/ensure_graphviz.sh
	$(PLAYBOOK) playbooks/diagram.yml
	$(BIN)/python tools/diagram.py build/diagram-$(ENV).json --outputs outputs/$(ENV).json \
	  --dot docs/architecture-$(ENV).dot --svg docs/architecture-$(ENV).svg

lambda-package: setup ## Build build/mediamind_chatbot.zip deterministically (prints sha256 and CodeSha256)
	$(BIN)/python tools/package_lambda.py

bench-chatbot: setup up ## Benchmark the chatbot Lambda on loopback (writes benchmarks/results/chatbot.md)
	@$(call with_env,$(BIN)/python benchmarks/chatbot_bench.py $(ARGS))

bench-chatbot-adversarial: setup up ## Time and peak memory per crafted mail (writes benchmarks/results/chatbot_adversarial.md)
	@$(call with_env,$(BIN)/python benchmarks/chatbot_adversarial.py $(ARGS))

bench-noop: setup up ## Time a no-op converge of local, project config vs stock Ansible (benchmarks/results/noop_converge.md)
	$(BIN)/python benchmarks/noop_converge.py $(ARGS)

lint: setup .venv-checkov/.installed ## yamllint, ansible-lint, ruff, mypy, bandit, cfn-lint, checkov, actionlint
	$(BIN)/yamllint --strict .
	$(BIN)/ansible-lint --profile production
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy --ignore-missing-imports lambda_src/mediamind_chatbot
	$(BIN)/mypy --ignore-missing-imports --explicit-package-bases collections
	@# No medium or high finding; the few `# nosec` carry their reason inline.
	$(BIN)/bandit --quiet --recursive --severity-level medium lambda_src collections tools
	$(BIN)/cfn-lint lambda_src/template.yaml
	@# Skipped checks are justified in the template's Metadata; --skip-download: no network here.
	.venv-checkov/bin/checkov --quiet --compact --skip-download --framework cloudformation -f lambda_src/template.yaml
	$(BIN)/actionlint .github/workflows/*.yml

test: setup lint up ## Lint, then every pytest and Molecule scenario against the local emulator
	@# tests/test_diagram.py renders SVG: Graphviz installed and its plugins registered.
	@tools/ensure_graphviz.sh
	@set -a; eval "$$($(LOCALENV) env)"; set +a; \
	  $(BIN)/pytest $(PYTEST_ARGS)

clean: down ## Stop the emulator and remove local state, caches and build output
	rm -rf .local build outputs .pytest_cache .ruff_cache
