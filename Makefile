# heroes-infra: two set-up commands, `make lab` and `make test`. Everything else is a helper.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
export PATH := $(BIN):$(PATH)
export ANSIBLE_CONFIG := $(CURDIR)/ansible.cfg
IMAGES := debian12 debian13

.PHONY: help venv host images lab lab-up lab-converge lab-info lab-down test lint unit molecule topology plan

help:
	@echo "make lab       build the container lab and converge playbooks/site.yml on it"
	@echo "make test      run every check (lint, syntax, pytest, molecule); ends with 'N passed, N failed, N skipped'"
	@echo "make lab-down  remove the lab's containers and network"
	@echo "make topology  draw the inventories' failure domains (docs/topology-*.svg/.png)"
	@echo "make plan      what site.yml would change, per host, with its restarts; converges nothing"
	@echo "               (INVENTORY=inventory/production LIMIT=...; writes plan/plan.txt, .md, .json)"
	@echo "helpers: make lint | unit | molecule | images | lab-info"

# The virtualenv with the pinned tooling (pyproject.toml, extra 'dev'). Rebuilt when that changes.
$(VENV)/.installed: pyproject.toml
	@if ! $(PYTHON) -m venv --help >/dev/null 2>&1 || ! $(PYTHON) -c 'import ensurepip' >/dev/null 2>&1; then \
	  echo "make: installing python3-venv"; apt-get update -qq; \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null; fi
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet -e '.[dev]' 2>&1 | { grep -v '^WARNING: Location' || true; }
	@touch $@

# sslyze (the web tier's TLS checker) in a virtualenv of its own: it pins cryptography < 47, with
# which the community.crypto modules of the main one fail. The tests run .venv/sslyze/bin/sslyze.
SSLYZE_VENV := $(VENV)/sslyze
$(SSLYZE_VENV)/.installed: tools/sslyze-requirements.txt
	$(PYTHON) -m venv $(SSLYZE_VENV)
	$(SSLYZE_VENV)/bin/pip install --quiet -r $< 2>&1 | { grep -v '^WARNING: Location' || true; }
	@touch $@

venv: $(VENV)/.installed $(SSLYZE_VENV)/.installed

# docker.io, debootstrap and apt-cacher-ng installed; dockerd and apt-cacher-ng running.
host:
	@tools/lab/host-deps.sh

# Base images, rebuilt only when their recipe changes.
images: host
	@for image in $(IMAGES); do tools/lab/build-image.sh $$image; done

lab: venv images lab-up lab-converge lab-info

lab-up: venv images
	ansible-playbook playbooks/lab/up.yml

lab-converge: venv
	ansible-playbook -i inventory/lab playbooks/lab/prepare.yml
	ansible-playbook -i inventory/lab playbooks/site.yml

lab-info: venv
	@heroes-lab-info --inventory inventory/lab

lab-down: venv
	ansible-playbook playbooks/lab/down.yml

# Hosts by site, rack and hypervisor, power to UPS, HA peers and VIPs, for each inventory; and
# the drain of the lab's hv-b (playbooks/maintenance/domain-drain.yml's plan).
topology: venv host
	heroes-topology -i inventory/lab -o docs/topology-lab
	heroes-topology -i inventory/production -o docs/topology-production
	heroes-topology -i inventory/lab -o docs/drain-lab-hv-b --mark hypervisor:hv-b

# The reviewers' plan (heroes-plan): site.yml under --check --diff with the heroes_plan callback;
# per host the tasks that would change, their diffs (secrets masked) and the services restarted
# or reloaded, and how. Production's vault: ANSIBLE_VAULT_IDENTITY_LIST=prod@<password file>.
INVENTORY ?= inventory/lab
plan: venv
	heroes-plan -i $(INVENTORY) $(if $(LIMIT),--limit $(LIMIT))

# Every check, cheapest first; stops at the first failing stage. The host packages come first
# (the unit tests draw with graphviz); the lab images (debootstrap, minutes on a fresh machine,
# mostly downloads) are built in the background while the virtualenv is made and lint and unit
# run, and the molecule stages wait for them (tools/lab/await.sh).
IMAGES_LOG := /tmp/heroes-test-images.log
IMAGES_RC := /tmp/heroes-test-images.rc
test: host
	@rm -f $(IMAGES_RC)
	@{ rc=0; $(MAKE) --no-print-directory images > $(IMAGES_LOG) 2>&1 || rc=$$?; echo $$rc > $(IMAGES_RC); } &
	@$(MAKE) --no-print-directory venv
	heroes-test --alongside 'tools/lab/await.sh $(IMAGES_LOG) $(IMAGES_RC)'

lint: venv
	heroes-test --only lint

unit: venv
	heroes-test --only unit

molecule: venv images
	heroes-test --only molecule
