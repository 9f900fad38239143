# One build of both parts. Every target CI uses is here; see README.md.
SHELL := /bin/bash
.DEFAULT_GOAL := build

ROOT     := $(abspath .)
VENV     := $(ROOT)/.venv
PY       := $(VENV)/bin/python
BIN      := $(ROOT)/bin
CORE     := $(BIN)/porthole-core
BENCH_PEER := $(BIN)/porthole-bench
TEST_GO_LOG := $(BIN)/test-go.log
GOFLAGS_BUILD := -trimpath

.PHONY: build setup venv core python proto web check-generated lint lint-tools lint-py lint-go lint-web test test-go test-py fuzz run bench soak faults clean

## setup: install system packages and start dockerd when missing (idempotent, needs root)
setup:
	@bash scripts/setup.sh

## venv: the Python environment with the pinned dependencies
venv: $(VENV)/.installed
$(VENV)/.installed: python/pyproject.toml python/requirements.lock
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip==24.3.1
	$(VENV)/bin/pip install -q -r python/requirements.lock
	$(VENV)/bin/pip install -q --no-deps -e python
	touch $@

## core: the Go sidecar
core: $(CORE)
$(CORE): $(shell find core-go -name '*.go' -o -name go.mod -o -name go.sum 2>/dev/null)
	cd core-go && go build $(GOFLAGS_BUILD) -o $(CORE) ./cmd/porthole-core

python: venv

## build: both parts
build: core python

## proto: regenerate the committed gRPC stubs (Go and Python) from proto/
proto: venv
	bash scripts/gen-proto.sh

## web: rebundle the browser page (committed) from web/ with the pinned npm packages
web:
	cd web && npm ci --no-audit --no-fund --loglevel=error && npm run --silent build

## check-generated: fail when regenerating stubs or the bundle changes anything
check-generated: proto web
	git diff --exit-code -- core-go/gen python/src/porthole/rpc python/src/porthole/server/static
	@test -z "$$(git status --porcelain -- core-go/gen python/src/porthole/rpc python/src/porthole/server/static)" || { git status --porcelain; echo "generated files are stale: run make proto web and commit"; exit 1; }

## lint: ruff (lint + format check) and mypy on python/src and tests, gofmt, go vet and staticcheck on
## core-go, eslint on web/ (every tool pinned: python/requirements-lint.lock, core-go/tools/go.mod, web/package.json)
lint: lint-py lint-go lint-web

# Nothing is left out of `make lint` (generated stubs are excluded in ruff.toml and below).
LINT_PY_EXCLUDE :=

# python/src/porthole/rpc is generated (make proto): ruff.toml excludes it, and so does this list.
LINT_MYPY_FILES = $(shell find python/src/porthole tests -name '*.py' -not -path 'python/src/porthole/rpc/*' \
	$(foreach d,$(LINT_PY_EXCLUDE),-not -path '$(d)/*') | sort)

## lint-tools: the pinned Python linters in .venv
lint-tools: $(VENV)/.lint-installed
$(VENV)/.lint-installed: $(VENV)/.installed python/requirements-lint.lock
	$(VENV)/bin/pip install -q -r python/requirements.lock -r python/requirements-lint.lock
	touch $@

lint-py: lint-tools
	$(VENV)/bin/ruff check $(foreach d,$(LINT_PY_EXCLUDE),--extend-exclude $(d)) python/src tests
	$(VENV)/bin/ruff format --check $(foreach d,$(LINT_PY_EXCLUDE),--extend-exclude $(d)) python/src tests
	$(VENV)/bin/mypy --config-file mypy.ini $(LINT_MYPY_FILES)

# gofmt, go vet, then staticcheck from its own module file, so that its dependencies never move the sidecar's.
# With the build's flags (-trimpath), so that vet, staticcheck and `make core` share the compiled packages in
# the Go build cache: on a cold cache (a new CI machine) the dependencies are compiled once, not twice.
LINT_GOFLAGS = GOFLAGS="$(GOFLAGS_BUILD) $$GOFLAGS"
lint-go:
	@unformatted=$$(cd core-go && gofmt -l .); test -z "$$unformatted" || { echo "gofmt needed: $$unformatted"; exit 1; }
	cd core-go && $(LINT_GOFLAGS) go vet ./... && $(LINT_GOFLAGS) go tool -modfile=tools/go.mod staticcheck ./...

web/node_modules/.package-lock.json: web/package.json web/package-lock.json
	cd web && npm ci --no-audit --no-fund --loglevel=error

lint-web: web/node_modules/.package-lock.json
	cd web && npx --no-install eslint --max-warnings=0 .

## test: every test (Go with -race, pytest on real Docker, aiortc, Chromium). The Go tests run beside
## pytest (their output is kept in a file and printed when pytest is done), pytest in TEST_WORKERS workers;
## the target fails when either fails.
TEST_WORKERS ?= 2
test: setup build
	@rm -f $(TEST_GO_LOG); \
	{ $(MAKE) --no-print-directory test-go >$(TEST_GO_LOG) 2>&1; echo "exit $$?" >>$(TEST_GO_LOG); } & \
	go_job=$$!; \
	echo "make test: the Go tests run beside pytest; their output follows pytest's ($(TEST_GO_LOG))"; \
	$(MAKE) --no-print-directory test-py PYTEST_WORKERS=$(TEST_WORKERS); py=$$?; \
	wait $$go_job; \
	echo "---- make test-go (ran beside pytest):"; cat $(TEST_GO_LOG); \
	go=$$(tail -n 1 $(TEST_GO_LOG) | sed -n 's/^exit //p'); \
	echo "make test: pytest exit $$py, go test exit $$go"; \
	test "$$py" = 0 && test "$$go" = 0

test-go:
	cd core-go && go test -race -count=1 ./...

## fuzz: every Go fuzz target (SDP, ICE candidates, ICE server URLs, terminal, input and clipboard channel
## messages) for FUZZTIME each, one after the other, in a private network namespace
FUZZTIME ?= 10s
fuzz:
	bash scripts/in-netns.sh bash scripts/fuzz.sh $(FUZZTIME)

## test-py: pytest; PYTEST_ARGS picks files or -k (default: testpaths = tests in pytest.ini);
## PYTEST_WORKERS=N runs N pytest-xdist workers, each in a network namespace of its own (scripts/test-py.sh)
PYTEST_WORKERS ?= 1
test-py: build $(BENCH_PEER)
	PORTHOLE_CORE=$(CORE) PORTHOLE_BENCH_PEER=$(BENCH_PEER) PY=$(PY) bash scripts/in-netns.sh bash scripts/test-py.sh $(PYTEST_WORKERS) $(PYTEST_ARGS)

## run: build and start server + agent + sidecar + a demo target, print where to open it
run: setup build
	PORTHOLE_CORE=$(CORE) $(PY) -m porthole demo

## bench: speed figures next to their references (see docs/benchmarks.md); QUICK=1 for a short run,
## BENCH_ARGS='--sections keystroke,throughput' for some sections
$(BENCH_PEER): $(shell find core-go -name '*.go' -o -name go.mod -o -name go.sum 2>/dev/null)
	cd core-go && go build $(GOFLAGS_BUILD) -o $(BENCH_PEER) ./cmd/porthole-bench

bench: setup build $(BENCH_PEER)
	PORTHOLE_CORE=$(CORE) PORTHOLE_BENCH_PEER=$(BENCH_PEER) bash scripts/in-netns.sh $(PY) -m porthole.bench $(if $(QUICK),--quick) $(BENCH_ARGS)

## soak: terminal sessions opened, typed in, closed and dropped for SOAK_MINUTES (default 30) on one
## real agent; samples RSS, threads, descriptors and leftover execs into docs/reliability.md (not in CI;
## tests/soak runs a short version). SOAK_ARGS='--parallel 8' for more.
SOAK_MINUTES ?= 30
soak: setup build $(BENCH_PEER)
	PORTHOLE_CORE=$(CORE) PORTHOLE_BENCH_PEER=$(BENCH_PEER) bash scripts/in-netns.sh $(PY) -m porthole.bench.soak --minutes $(SOAK_MINUTES) $(SOAK_ARGS)

## faults: issue 11's faults made for real (link cuts, ICE restart, tab reload, porthole-core SIGKILL,
## 10 % loss + 200 ms, server restart, agent SIGKILL, grace expiry), FAULTS_RUNS (default 3) runs each;
## figures into docs/reliability.md (~10 min).
FAULTS_RUNS ?= 3
faults: setup build $(BENCH_PEER)
	PORTHOLE_CORE=$(CORE) PORTHOLE_BENCH_PEER=$(BENCH_PEER) bash scripts/in-netns.sh $(PY) -m porthole.bench.faults --runs $(FAULTS_RUNS) $(FAULTS_ARGS)

clean:
	rm -rf $(BIN) $(VENV) web/node_modules
