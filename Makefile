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

.PHONY: all build test bench lint package run soak clean deploy

all: lint test

## build: the handler executable for Azure (linux/amd64, static) into bin/handler
build:
	CGO_ENABLED=0 GOOS=linux GOARCH=amd64 $(GO) build $(GOFLAGS_BUILD) -o bin/handler ./functions

$(INFRA_TOOLS): infra/tools/package-lock.json
	npm ci --prefix infra/tools --ignore-scripts --no-audit --no-fund --loglevel=error
	touch $@

## test: every test, with a private Azurite started and stopped around it
test: $(INFRA_TOOLS)
	$(WITH_AZURITE) $(GO) test -race -count=1 -timeout 20m ./...

## bench: every benchmark (figures are ratios against a baseline measured in the same run)
bench:
	$(WITH_AZURITE) $(GO) test -run '^$$' -bench . -benchmem -count=1 -timeout 60m ./...

## soak: the order push's fault soak (10,000 pushes, 20 % duplicates, ~10 % SAP faults; minutes, not in test)
soak:
	D365SAP_SOAK=1 $(WITH_AZURITE) $(GO) test -run '^TestSoak$$' -count=1 -timeout 30m -v ./functions/orderpush/

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
