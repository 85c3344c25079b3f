# d365sap: one Go executable (handler) serving every function; see README.md.
SHELL := /bin/bash
GO ?= go
GOFLAGS_BUILD = -tags lambda.norpc -trimpath -ldflags='-s -w -X main.version=$(VERSION) -X main.build=$(BUILD)'
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
BUILD ?= $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
WITH_AZURITE := infra/local/with-azurite
# The Bicep syntax checker's pinned npm packages (tree-sitter, tree-sitter-bicep; prebuilt bindings ship inside
# the packages, so --ignore-scripts builds and downloads nothing). Reinstalled when the lockfile changes.
INFRA_TOOLS := infra/tools/node_modules/.package-lock.json

.PHONY: all build test hostile bench fuzz lint package run soak clean deploy

all: lint test

## build: the handler executable for Azure (linux/amd64, static) into bin/handler
build:
	CGO_ENABLED=0 GOOS=linux GOARCH=amd64 $(GO) build $(GOFLAGS_BUILD) -o bin/handler ./functions

$(INFRA_TOOLS): infra/tools/package-lock.json
	npm ci --prefix infra/tools --ignore-scripts --no-audit --no-fund --loglevel=error
	touch $@

# Runs a go test command with the hostile suite's summary going to a file of its own, then prints the summary: go
# test shows what a passing package prints only with -v, and the count by class belongs in every run's output.
HOSTILE_REPORTED = report=$$(mktemp); \
	echo "$(1)"; D365SAP_HOSTILE_REPORT=$$report $(1); rc=$$?; \
	if [ -s "$$report" ]; then cat "$$report"; else echo "hostile: no summary (the suite did not run to its end)"; fi; \
	rm -f "$$report"; exit $$rc

## test: every test, with a private Azurite started and stopped around it; ends with the hostile suite's summary
test: $(INFRA_TOOLS)
	@$(call HOSTILE_REPORTED,$(WITH_AZURITE) $(GO) test -race -count=1 -timeout 20m ./...)

## hostile: the hostile-input suite alone (infra/local/hostile), then its count by class and its result
hostile:
	@$(call HOSTILE_REPORTED,$(WITH_AZURITE) $(GO) test -race -count=1 -timeout 5m -run '^TestHostile$$' ./infra/local/hostile/)

## bench: every benchmark (figures are ratios against a baseline measured in the same run)
bench:
	$(WITH_AZURITE) $(GO) test -run '^$$' -bench . -benchmem -count=1 -timeout 120m ./...

## fuzz: every fuzz target for FUZZTIME each (default 20s), one after another; prints each one's execs/s and
## fails if any finds a crash (the input is kept in the package's testdata/fuzz/<Target>/; make test replays it)
FUZZTIME ?= 20s
# Go spends up to 60 s minimizing each new interesting input, uncounted; with the kit's 19 KB samples as seeds that
# stalled short runs (17 execs in 15 s). A few seconds keeps the time on fuzzing; crashes are still minimized.
FUZZMINIMIZETIME ?= 3s
# Reads Go's last "fuzz: elapsed: 1m5s, execs: 123 (456/sec), ..." line into the run's average: its own per-line
# rate covers only the moments since the line before, which for the last line is next to nothing.
FUZZ_STATS := function secs(d, t, u) { t = 0; while (match(d, /^[0-9.]+[hms]/)) { u = substr(d, RLENGTH, 1); \
	t += substr(d, 1, RLENGTH - 1) * (u == "h" ? 3600 : u == "m" ? 60 : 1); d = substr(d, RLENGTH + 1) } return t } \
	{ e = secs($$3); n = $$5; sub(/,$$/, "", n); \
	printf "%-30s %-26s %10d execs in %4ds = %7.0f execs/s\n", t, p, n, e, n / (e > 0 ? e : 1) }
fuzz:
	@failed=""; \
	targets=$$(grep -rHo --include='*_test.go' '^func Fuzz[A-Za-z0-9_]*' functions shared infra | sed 's|^\(.*\)/[^/]*:func |./\1 |' | sort -u); \
	echo "fuzz: $$(echo "$$targets" | wc -l) targets, $(FUZZTIME) each"; \
	while read -r pkg target; do \
	  out=$$($(GO) test -run '^$$' -fuzz "^$$target\$$" -fuzztime $(FUZZTIME) -fuzzminimizetime $(FUZZMINIMIZETIME) "$$pkg" 2>&1); rc=$$?; \
	  stats=$$(echo "$$out" | grep '^fuzz: elapsed:' | tail -1); \
	  if [ $$rc -ne 0 ]; then \
	    failed="$$failed $$target"; printf '%-30s %-26s FAILED\n' "$$target" "$$pkg"; echo "$$out" | grep -v '^fuzz: elapsed:' | tail -15; \
	  elif [ -z "$$stats" ]; then \
	    printf '%-30s %-26s skipped: %s\n' "$$target" "$$pkg" "$$(echo "$$out" | grep -m1 -o 'skipping.*' || echo 'no fuzzing ran')"; \
	  else \
	    echo "$$stats" | awk -v t="$$target" -v p="$$pkg" '$(FUZZ_STATS)'; \
	  fi; \
	done <<< "$$targets"; \
	if [ -n "$$failed" ]; then echo "fuzz: crashes found by:$$failed"; exit 1; fi

## soak: the inventory sync's kill soak (100,000 products, 20 SIGKILLs), then the order push's fault soak
## (10,000 pushes, 20 % duplicates, ~10 % SAP faults), the status soak (2,000 orders) and the invoice soak (2,000
## billing documents); tens of minutes, not in test
soak:
	D365SAP_SOAK=1 $(WITH_AZURITE) $(GO) test -run '^TestKillSoak$$' -count=1 -timeout 80m -v ./functions/inventorysync/
	D365SAP_SOAK=1 $(WITH_AZURITE) $(GO) test -run '^TestSoak$$' -count=1 -timeout 30m -v ./functions/orderpush/
	D365SAP_SOAK=1 $(WITH_AZURITE) $(GO) test -run '^TestStatusSoak$$' -count=1 -timeout 60m -v ./functions/statusupdates/
	D365SAP_SOAK=1 $(WITH_AZURITE) $(GO) test -run '^TestInvoiceSoak$$' -count=1 -timeout 60m -v ./functions/statusupdates/

## lint: formatting and vet
lint:
	@out=$$(gofmt -l functions shared infra); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

## package: dist/ laid out as the Functions host expects, and dist.zip (keeps the run bit)
package: build
	$(GO) run ./infra/local/pack/cmd/pack -src . -handler bin/handler -dist dist -zip dist.zip

## deploy: resource group, Bicep deployment and package upload (RESOURCE_GROUP=... LOCATION=...; see infra/README.md)
deploy: package
	infra/deploy.sh

## run: Azurite, the simulators and the app under func start or the local host stand-in
run: package
	infra/local/run

clean:
	rm -rf bin dist dist.zip
