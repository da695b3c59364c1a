# ksm-provision — run `make help` for the targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON      ?= python3
VENV        := .venv
BIN         := $(VENV)/bin
DEB_PACKAGES := debootstrap systemd-container openssh-server openssh-client frr nftables isc-dhcp-server isc-dhcp-relay isc-dhcp-client smbclient iproute2 sudo util-linux passwd git chromium chromium-driver fonts-dejavu-core
export KSM_LAB_ONLY := 1
# The sample vaults' lab-only passwords; real keys come from the engineer or CI variables.
export KSM_VAULT_PASSWORDS_DIR ?= $(CURDIR)/inventories/vault/sample-passwords
# One lab for the demo; tests build their own under a temporary directory.
export KSM_LAB_DIR ?= /var/lib/ksm-provision/lab
# Linux refuses 127.x:22 while a machine-wide sshd listens on 0.0.0.0:22: then the lab uses 2222.
export KSM_LAB_SSH_PORT ?= $(shell ss -Hltn 'sport = :22' 2>/dev/null | grep -q . && echo 2222 || echo 22)

.PHONY: help install deb-packages venv test test-fast lint bench demo demo-down clean collection collection-dev

help: ## List the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "}; {printf "  \033[1m%-12s\033[0m %s\n", $$1, $$2}'

install: deb-packages venv ## Install Debian packages (apt) and the Python venv with dev extras

deb-packages: ## apt-get update + install the Debian packages the lab twin needs (root)
	@missing=$$(for p in $(DEB_PACKAGES); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q "install ok installed" || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:" $$missing; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	fi
	@# the distribution's frr service would own /etc/frr/frr.conf; the lab runs its own daemons per router
	@if command -v systemctl >/dev/null 2>&1 && systemctl is-active -q frr 2>/dev/null; then systemctl stop frr; fi

venv: $(VENV)/.installed

# the toolkit, then the lab's switch simulator (test infrastructure, its own package: tools/switchsim)
$(VENV)/.installed: pyproject.toml setup.py tools/switchsim/pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	$(BIN)/pip install -q -e tools/switchsim
	touch $@

test: install ## The whole suite: unit, integration and lab tests (as CI runs it)
	@# unit and quick integration tests in parallel, then the lab tests in one process: they share
	@# one lab twin and are CPU-bound Ansible work, so a second worker would only build a second lab
	$(BIN)/pytest -n 2 -m "not lab" -p no:cacheprovider
	$(BIN)/pytest -m lab -p no:cacheprovider --durations=20

test-fast: install ## Only the fast tier (no lab, no slow tests)
	$(BIN)/pytest -m "not slow" -p no:cacheprovider

lint: venv collection-dev ## ruff + mypy + ansible-lint (production profile) + yamllint
	$(BIN)/ruff check ksm_provision tools/switchsim tests benchmarks setup.py
	$(BIN)/ruff format --check ksm_provision tools/switchsim setup.py
	$(BIN)/mypy  # ksm_provision and tools/switchsim/ksm_switchsim (pyproject.toml [tool.mypy] files)
	$(BIN)/yamllint -s .
	$(BIN)/ansible-lint --profile production roles playbooks

bench: install ## Benchmarks (ratios against a baseline measured in the same run)
	$(BIN)/python -m benchmarks $(BENCH)

demo: install ## The main job: lab twin of the sample authorities, validated, planned, applied, verified
	$(BIN)/python -m ksm_provision.demo

collection: venv collection-dev ## Build the Ansible collection ksm.provision into build/collections/ (+ a dev link tree)
	$(BIN)/python -m ksm_provision.ansible_plugins.collection build --output build/collections

# site.yml names the roles ksm.provision.<role>: ansible.cfg finds them in this link tree (also ansible-lint)
collection-dev: venv
	$(BIN)/python -m ksm_provision.ansible_plugins.collection link build/collections/dev

demo-down: venv ## Tear the demo's lab twin down
	$(BIN)/ksm lab down

clean: ## Remove the venv and build output (not the lab's rootfs cache)
	rm -rf $(VENV) build dist *.egg-info tools/switchsim/*.egg-info tools/switchsim/build .pytest_cache .mypy_cache .ruff_cache out
