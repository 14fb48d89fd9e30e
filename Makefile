# Set-up and everyday commands. `make demo` and `make test` work on a fresh machine
# with Python 3.12+ (pyenv is fine): they install uv into .tools/ and the project's
# locked dependencies into .venv/.

export UV_PYTHON_DOWNLOADS := never
UV := .tools/bin/uv
RUN := $(UV) run --frozen
# The demo runs without a phone: two-factor sign-in is not required (anyone may still enrol).
# It serves at http://127.0.0.1:$(PORT)/ (`make demo PORT=8001` when 8000 is taken), and
# the links in its mail point there (SITE_URL).
PORT ?= 8000
DEMO_ENV := DEBUG=1 REQUIRE_2FA=0 DEMO_PORT=$(PORT) SITE_URL=http://127.0.0.1:$(PORT)

.PHONY: install demo demo-data test schema bench bench-imports load faults faults-quick lint check-imports clean

$(UV):
	python3 -m venv .tools
	.tools/bin/pip install --quiet --disable-pip-version-check uv

install: $(UV)
	$(UV) sync --frozen

# Migrates, loads the demo and runs the web server, a Celery worker and beat on
# SQLite and the filesystem broker; once the server answers, the last lines printed are
# its address and the demo users' passwords. Ctrl-C stops them all.
demo: demo-data
	$(DEMO_ENV) $(RUN) honcho start --procfile Procfile.demo

demo-data: install
	$(DEMO_ENV) $(RUN) python manage.py migrate --no-input
	$(DEMO_ENV) $(RUN) python manage.py load_demo

test: install
	$(RUN) pytest $(PYTEST_ARGS)

# A growth run: builds data sets of 10,000, 100,000 and 1,000,000 cases on the local
# PostgreSQL (databases tracker_bench_N, made anew; BENCH_ARGS="--reuse" measures them
# again) and measures each against Redis databases 14 and 12, then prints every figure
# at each size and its growth; see docs/benchmarks.md. `make bench BENCH_SIZES=` builds
# and measures one data set (--cases, database tracker_bench). Not part of `make test`.
BENCH_SIZES ?= 10000,100000,1000000
bench: install
	$(RUN) python -m bench $(if $(BENCH_SIZES),--sizes $(BENCH_SIZES)) $(BENCH_ARGS)

# Breaks the real processes (worker children SIGKILLed, Redis and PostgreSQL restarted,
# the SMTP server refusing or down) while digests go out, on PostgreSQL, Redis and SMTP
# servers of its own; prints what was sent, lost and duplicated (docs/reliability.md).
# Run as root or as a user who may start PostgreSQL. Not part of `make test`.
faults: install
	$(RUN) python -m faults $(FAULTS_ARGS)

faults-quick: install
	$(RUN) python -m faults --quick

# Imports a file of 100,000 new cases (IMPORT_BENCH_ARGS="--xlsx" for XLSX) into a
# database of its own (tracker_bench_imports, made anew): rows a second and peak memory.
bench-imports: install
	$(RUN) python -m bench.imports $(IMPORT_BENCH_ARGS)

# 50 users for 5 minutes against gunicorn (4 workers, production settings) on a copy of
# the bench's data (tracker_load, made from tracker_bench_100000 when missing), Redis databases
# 13 and 3; see docs/reliability.md. Steps: LOAD_ARGS="--steps 10,25,50,75 --run-time 60s".
load: install
	$(RUN) python -m bench.load $(LOAD_ARGS)

lint: check-imports
	$(RUN) ruff check .
	$(RUN) ruff format --check .

# The import contracts of pyproject.toml: imports flow one way (docs/architecture.md).
check-imports: install
	$(RUN) lint-imports

clean:
	rm -rf .venv .tools var

# The API's OpenAPI schema, committed as docs/openapi.yaml; a test fails when the code
# and the committed file disagree (tests/api/test_schema.py).
schema: install
	DEBUG=1 $(RUN) python manage.py spectacular --validate --fail-on-warn --file docs/openapi.yaml
