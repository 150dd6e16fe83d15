# The two commands of the README (`make demo`, `make test`) set everything up themselves:
# they create .venv at the repo root when it is missing and install the project into it.
PY := .venv/bin/python
STAMP := .venv/.tapegrad-installed

.PHONY: demo test bench bench-peers readme clean

$(STAMP): pyproject.toml
	@test -x $(PY) || python3 -m venv .venv
	$(PY) -m pip install -q -e '.[test]'
	@touch $@

demo: $(STAMP)
	$(PY) -m demo.seed
	$(PY) -m demo.showcase

test: $(STAMP)
	$(PY) -m pytest -q

bench: $(STAMP)
	$(PY) -m benchmarks.run

# the peers the benchmarks compare against (large downloads; not needed for anything else)
bench-peers: $(STAMP)
	$(PY) -m pip install -q torch==2.13.0 jax autograd

# regenerate README.md's op table from the registry (a test checks they agree)
readme: $(STAMP)
	$(PY) -c "import tapegrad; from tapegrad._opdef import update_readme; update_readme('README.md')"

clean:
	rm -rf .venv .pytest_cache .hypothesis
