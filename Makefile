# maia-salt developer entry points.
#   make setup   Debian packages the tests and the lab need, and .venv with maia-salt and maia-salt-lab
#                (lab/: the lab and the stand-ins; editable) + test deps
#   make test    the whole test suite (unit, functional with real Salt daemons, lab hosts when root),
#                the lab tier and the rest side by side on two workers
#   make demo    configure a demo site, boot a 3-host lab and install MAIA on it, then print a summary
#   make bench   benchmarks; results go to docs/performance.md

VENV ?= .venv
PYTHON ?= python3
PY := $(VENV)/bin/python
# Debian packages: lab hosts (debootstrap, nspawn, proxy, loop/LVM tools), salt-ssh tests (sshd),
# the MAIA toolkit's MAIA_Configure_Installation.sh run as a test reference (jq, yq, htpasswd, openssl).
APT_PACKAGES := debootstrap systemd-container tinyproxy openssh-server openssh-client \
	lvm2 iproute2 iptables util-linux procps git ca-certificates \
	jq yq apache2-utils openssl e2fsprogs
PYTEST_ARGS ?=
# Two pytest-xdist workers: every lab test in one (in order: the labs come up once), the other
# tests module by module beside it (tests/conftest.py); the 25 slowest tests at the end.
# PYTEST_TIERS= runs everything in one process instead.
PYTEST_TIERS ?= -n 2 --dist loadscope
DEMO_ARGS ?=

.PHONY: setup system-deps test demo bench clean

setup: system-deps $(VENV)/.installed

system-deps:
	@missing=$$(for p in $(APT_PACKAGES); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q "install ok installed" || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		if [ "$$(id -u)" = 0 ]; then \
			echo "installing Debian packages:" $$missing; \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
		else \
			echo "missing Debian packages (install as root): $$missing"; exit 1; \
		fi; \
	fi

$(VENV)/.installed: setup.py lab/setup.py
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q -e '.[test]' -e './lab[test]'
	touch $@

test: setup
	$(PY) -m pytest $(PYTEST_TIERS) --durations=25 $(PYTEST_ARGS)

demo: setup
	$(VENV)/bin/maia demo $(DEMO_ARGS)

bench: setup
	$(PY) bench/run.py

clean:
	-$(VENV)/bin/maia lab down 2>/dev/null
	rm -rf $(VENV) build *.egg-info src/*.egg-info .pytest_cache
