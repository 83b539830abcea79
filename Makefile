# Nubo — `make help` lists the targets.
GO        ?= go
BIN       ?= bin/nubo
# PostgreSQL store tests run when this is set (scripts/install-deps.sh prints it).
export TEST_POSTGRES_URL

.DEFAULT_GOAL := help
.PHONY: help build test conformance conformance-guests cli check bench

help: ## list the targets
	@awk 'BEGIN { FS = ":.*## " } /^[a-zA-Z0-9_-]+:.*## / { printf "  %-19s %s\n", $$1, $$2 }' $(MAKEFILE_LIST)

build: ## build bin/nubo
	$(GO) build -o $(BIN) ./cmd/nubo

test: ## go vet, gofmt check, go test ./... (TEST_POSTGRES_URL adds the PostgreSQL store tests)
	$(GO) vet ./...
	$(GO) vet -tags cli ./test/cli/
	@files=$$(find . -name '*.go' -not -path './.git/*' -not -path '*/testdata/*' -exec gofmt -l {} +); \
	if [ -n "$$files" ]; then echo "gofmt needed on:"; echo "$$files"; exit 1; fi
	$(GO) test ./...

conformance: build ## Tempest: every test in test/tempest/pass.txt must pass (needs ../shared)
	NUBO_BIN=$(abspath $(BIN)) bash test/tempest/run.sh

conformance-guests: build ## Tempest with SSH into real QEMU guests: test/tempest/pass-guests.txt against nubo up --compute-driver qemu in a private netns (root)
	NUBO_BIN=$(abspath $(BIN)) bash test/tempest/run-guests.sh

cli: build ## drive the real openstack CLI against nubo up (test/cli, -tags cli)
	NUBO_BIN=$(abspath $(BIN)) $(GO) test -tags cli -count=1 -v ./test/cli/

check: test conformance conformance-guests cli e2e-netns e2e-qemu e2e ## everything CI runs: test + conformance + conformance-guests + cli + e2e-netns + e2e-qemu + e2e

bench: build ## benchmark bin/nubo (cmd/nubo-bench starts its own nubo up); BENCH_ARGS adds flags
	$(GO) run ./cmd/nubo-bench --nubo $(abspath $(BIN)) $(BENCH_ARGS)

.PHONY: e2e-netns
e2e-netns: ## host networking drivers against the real kernel in private netns (root; nftables, busybox-static)
	$(GO) test -tags netns -count=1 ./internal/driver/netdev/... ./internal/driver/firewall/... ./internal/driver/dhcp/... ./internal/agent/netagent/

.PHONY: e2e-qemu
e2e-qemu: ## real QEMU guests (root; apt: qemu-system-x86 qemu-utils kmod cpio busybox-static dosfstools mtools syslinux syslinux-common): build the test guest, go test -tags qemu ./internal/driver/...
	bash scripts/build-test-guest.sh >/dev/null || { apt-get update >/dev/null && bash scripts/build-test-guest.sh >/dev/null; }
	$(GO) test -tags qemu -count=1 ./internal/driver/... ./internal/agent/

.PHONY: e2e
e2e: ## the whole cloud with real host agents: QEMU guests on bridges, VXLAN, routers, DHCP, metadata in private netns (root)
	bash scripts/build-test-guest.sh >/dev/null || { apt-get update >/dev/null && bash scripts/build-test-guest.sh >/dev/null; }
	$(GO) test -tags e2e -count=1 -v ./test/e2e/

.PHONY: bench-e2e
bench-e2e: ## boot figures: create→ACTIVE, create→TCP through a floating IP vs the bare-QEMU floor; guests per host (root)
	bash scripts/build-test-guest.sh >/dev/null
	$(GO) test -tags e2e -count=1 -run '^$$' -bench BootToTCP -benchtime 3x ./test/e2e/
	$(GO) test -tags e2e -count=1 -run '^$$' -bench Density -benchtime 1x ./test/e2e/
	$(GO) test -tags e2e -count=1 -run '^$$' -bench VolumeAttach -benchtime 5x ./test/e2e/
	$(GO) test -count=1 -run '^$$' -bench . -benchtime 3x ./internal/volume/
