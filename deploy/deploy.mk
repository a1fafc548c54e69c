# Deployment targets for Lanyard. Included from the top-level Makefile
# (`include deploy/deploy.mk`), or used alone: `make -f deploy/deploy.mk TARGET`.
# Run from the repository root.
#
#   build-static  static binary with the Dockerfile's flags -> bin/lanyard-static (fails over 25 MB)
#   image         docker build when a Docker engine answers, else the offline Dockerfile lint
#   lint-deploy   offline checks of deploy/: Dockerfile lint, compose file, Helm chart
#   deploy-tools  build the pinned helm binary into the tools cache (lint-deploy does it on demand)

DEPLOY_GO         ?= go
DEPLOY_VERSION    ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
DEPLOY_LDFLAGS    := -s -w -X github.com/lanyard-id/lanyard/internal/buildinfo.Version=$(DEPLOY_VERSION)
# gin's MessagePack codec is not used; leaving it out saves about 6 MB.
DEPLOY_GOTAGS     := nomsgpack
DEPLOY_STATIC_BIN ?= bin/lanyard-static
# 25 MB, with 1 MB = 1048576 bytes.
DEPLOY_MAX_BYTES  ?= 26214400
DEPLOY_IMAGE      ?= lanyard:$(DEPLOY_VERSION)

.PHONY: build-static image lint-deploy deploy-tools

build-static:
	@mkdir -p $(dir $(DEPLOY_STATIC_BIN))
	CGO_ENABLED=0 $(DEPLOY_GO) build -trimpath -buildvcs=false -tags=$(DEPLOY_GOTAGS) \
		-ldflags='$(DEPLOY_LDFLAGS)' -o $(DEPLOY_STATIC_BIN) ./cmd/lanyard
	@size=$$(wc -c < $(DEPLOY_STATIC_BIN) | tr -d ' '); \
	mb=$$(awk "BEGIN { printf \"%.2f\", $$size / 1048576 }"); \
	echo "$(DEPLOY_STATIC_BIN): $$size bytes ($$mb MB)"; \
	if [ "$$size" -gt $(DEPLOY_MAX_BYTES) ]; then \
		echo "$(DEPLOY_STATIC_BIN) is larger than $(DEPLOY_MAX_BYTES) bytes" >&2; exit 1; \
	fi

image:
	@if docker info >/dev/null 2>&1; then \
		echo "docker build -f deploy/Dockerfile -t $(DEPLOY_IMAGE) ."; \
		docker build -f deploy/Dockerfile --build-arg VERSION=$(DEPLOY_VERSION) -t $(DEPLOY_IMAGE) . ; \
	else \
		echo "image: no Docker engine is available (docker info failed); running the offline Dockerfile lint instead"; \
		$(DEPLOY_GO) test -count=1 -run 'TestDockerfile' ./deploy/ ; \
	fi

lint-deploy:
	$(DEPLOY_GO) test -count=1 ./deploy/

# The tests find helm through LANYARD_HELM, or build it once (a few minutes)
# into $LANYARD_TOOLS_DIR, default ~/.cache/lanyard-tools: outside the
# repository, kept across clones on the same machine.
deploy-tools:
	$(DEPLOY_GO) test -count=1 -run 'TestHelmTool' -v ./deploy/
