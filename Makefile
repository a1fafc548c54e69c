# Lanyard — the two commands a newcomer needs:
#   make run    the whole platform on this machine (local Postgres, Redis, Mailpit)
#   make test   every test of the repository
SHELL := /bin/bash
.DEFAULT_GOAL := help
GO        ?= go
BIN       := bin/lanyard
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
REVISION  ?= $(shell git rev-parse HEAD 2>/dev/null)
LDFLAGS   := -s -w -X github.com/lanyard-id/lanyard/internal/buildinfo.Version=$(VERSION) -X github.com/lanyard-id/lanyard/internal/buildinfo.Revision=$(REVISION)
GOTESTFLAGS ?=

.PHONY: help run build web services test test-go test-js deps-js bench bench-projects faults vet fmt clean

help:
	@echo "make run     build and start Lanyard (API :4433, dashboard :4000) with local services"
	@echo "make test    run every test (Go, then the JavaScript packages)"
	@echo "make bench   run the benchmarks"
	@echo "make build   build $(BIN)"

build: web
	$(GO) build -tags nomsgpack -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/lanyard

services:
	@deploy/local/services.sh

run: build services
	@echo "Starting Lanyard (Ctrl-C to stop)..."
	LANYARD_MODE=$${LANYARD_MODE:-dev} ./$(BIN) serve

deps-js:
	@if [ -f sdk/js/package.json ] && command -v npm >/dev/null; then cd sdk/js && npm ci --no-audit --no-fund --loglevel=error; fi

# The dashboard's React app (sdk/js/dashboard), built into dashboard/web/dist
# and embedded by the Go build. Without npm the binary serves a page saying
# the app is not built.
web: deps-js
	@if ! command -v npm >/dev/null; then echo "web: npm is not installed; the dashboard app is not built" >&2; \
	elif [ -f sdk/js/package.json ]; then cd sdk/js && npm run --silent build -w @lanyard/dashboard; fi

# The release binary is built last: it fails when it grows past 25 MB.
test: services deps-js web test-go test-js build-static

test-go:
	$(GO) vet ./...
	$(GO) test -count=1 -timeout 20m $(GOTESTFLAGS) ./...

test-js:
	@if [ -f sdk/js/package.json ]; then cd sdk/js && npm test --if-present; fi

bench: services
	@command -v wrk >/dev/null || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && apt-get install -y -qq wrk >/dev/null; } || \
		echo "wrk is not installed (Debian: apt-get install wrk): HTTP benchmarks use the in-process Go client and whoami's comparison is skipped"
	$(GO) test -run '^$$' -bench Provision -benchtime 200x ./tenant/
	$(GO) test -run '^$$' -bench MigrateTenants -benchtime 1x -timeout 60m ./tenant/
	$(GO) test -run '^$$' -bench GetIdentity -benchtime 3s ./identity/
	$(GO) test -run '^$$' -bench Import100k -benchtime 1x ./identity/
	$(GO) test -run '^$$' -bench Whoami -benchtime 1x ./identity/session/
	$(GO) test -run '^$$' -bench PasswordLogin -benchtime 600x ./flows/
	@# The same with Lanyard on one core and Postgres/Redis free to use the
	@# others, as when the database runs on its own machine.
	@if command -v taskset >/dev/null && [ "$$(nproc)" -ge 2 ]; then \
		$(GO) test -c -o bin/flows.test ./flows/ && \
		taskset -c 0 bin/flows.test -test.run '^$$' -test.bench PasswordLogin -test.benchtime 300x -test.cpu 1; fi
	$(GO) test -run '^$$' -bench . -benchtime 50x ./identity/hash/
	$(GO) test -run '^$$' -bench . -benchtime 300x ./worker/courier/
	$(GO) test -run '^$$' -bench RegistrationMailPaced100 -benchtime 300x ./flows/verification/
	$(GO) test -run '^$$' -bench RecoveryEnumerationTiming -benchtime 200x ./flows/recovery/
	$(GO) test -run '^$$' -bench ActionRun -benchtime 20000x ./flows/hook/
	$(GO) test -run '^$$' -bench RegistrationWithAction -benchtime 300x ./flows/hook/
	$(GO) test -run '^$$' -bench AsyncWebhookDelivery -benchtime 2000x ./flows/hook/
	$(GO) test -run '^$$' -bench PlatformLists -benchtime 200x ./dashboard/
	$(GO) test -run '^$$' -bench PlatformIdentityList -benchtime 200x ./dashboard/

# The mail fault test alone (it also runs in make test): 200 sign-ups while
# the queue's Redis and a worker process are killed.
faults: services
	$(GO) test -count=1 -run TestNoVerificationMailLostUnderFaults -v ./flows/verification/

# The whoami and login figures with 2,000 projects provisioned and the load
# spread over 200 of them.
bench-projects: services
	LANYARD_BENCH_PROJECTS=2000 $(GO) test -run '^$$' -bench Whoami -benchtime 30000x -timeout 60m ./identity/session/
	LANYARD_BENCH_PROJECTS=2000 $(GO) test -run '^$$' -bench PasswordLogin -benchtime 600x -timeout 60m ./flows/

vet:
	$(GO) vet ./...

fmt:
	gofmt -w $$(git ls-files '*.go')

clean:
	rm -rf bin

-include deploy/deploy.mk
