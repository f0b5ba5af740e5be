# previewd — the two commands a new user needs are `make run` and `make test`.
SHELL := /bin/bash
export PATH := /usr/local/go/bin:$(PATH)
GO ?= go

# Integration tests launch real containers; keep them one package at a time
# on a 2-core machine.
TEST_FLAGS ?= -race -timeout 30m -p 2

.PHONY: all build deps images compose-images run test vet fmt-check bench clean kube-build kube-up kube-down

all: build

## build: compile previewd, the dev runner and the command-line client into bin/
build:
	$(GO) build -o bin/ ./cmd/previewd ./cmd/previewdev ./cmd/previewctl

## images: build the runtime images (skips those whose inputs did not change)
images:
	bash images/build.sh

## compose-images: the images of docker-compose.yml built offline on debian:bookworm-slim:
## previewd (built here with cgo, which endpoint discovery's parser needs, against
## this bookworm's glibc, and copied in), PostgreSQL and Prometheus
compose-images: images
	mkdir -p images/.build/previewd
	CGO_ENABLED=1 $(GO) build -trimpath -o images/.build/previewd/previewd ./cmd/previewd
	cp images/previewd/Dockerfile images/.build/previewd/
	DOCKER_BUILDKIT=0 docker build -q -t previewd/previewd:latest images/.build/previewd
	DOCKER_BUILDKIT=0 docker build -q -t previewd/postgres:latest deploy/postgres
	DOCKER_BUILDKIT=0 docker build -q -t previewd/prometheus:latest deploy/prometheus

## run: images, a local PostgreSQL in .data/ (unless DATABASE_URL is set), previewd
run: images build
	bin/previewdev

## deps: install what the tests need and is missing (Debian packages; says what it installs)
deps:
	bash .ci/deps

## kube-build: build the single-node Kubernetes test cluster once per machine
## (cached in /var/cache/previewd/kube; first time ~40 min on 2 cores, then instant)
kube-build:
	bash deploy/kube-test-cluster/build.sh >/dev/null

## kube-up: start the test cluster under a temporary directory (root, Docker);
## the last line printed is `export KUBECONFIG=<path>`
kube-up:
	KUBE_OWNER_PID=$(KUBE_OWNER_PID) bash deploy/kube-test-cluster/up.sh

## kube-down: stop the test cluster and restore the host
kube-down:
	KUBE_DIR=$(KUBE_DIR) bash deploy/kube-test-cluster/down.sh

## test: every test, including integration tests against Docker and a throwaway PostgreSQL;
## ends with every skipped test and why, and a count (the raw events: test-artifacts/go-test.json)
test: deps images fmt-check vet
	@mkdir -p test-artifacts
	set -o pipefail; $(GO) test $(TEST_FLAGS) -json ./... | tee test-artifacts/go-test.json | $(GO) run .ci/testsummary/main.go

vet:
	$(GO) vet ./...

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

## bench: time to first answer (naive Docker, subprocess, previewd cold and warm),
## launch phases (FastAPI; Django's tutorial app against FastAPI, warm and cold), proxy overhead, log latency and ingest, endpoint discovery's speed and
## its memory on the worst inputs (each prints its figures)
BENCH_N ?= 30
bench: images
	$(GO) run ./cmd/previewbench -n $(BENCH_N)
	$(GO) test ./server -run '^$$' -bench LaunchFastAPI -benchtime 10x -timeout 20m
	$(GO) test ./server -run '^$$' -bench LaunchDjango -benchtime 10x -timeout 40m
	$(GO) test ./server -run '^$$' -bench Proxy -benchtime 2000x -timeout 20m
	$(GO) test ./server -run '^$$' -bench LogFirstLine -benchtime 200x -timeout 20m
	$(GO) test ./server -run '^$$' -bench LogIngest -benchtime 5x -timeout 20m
	$(GO) test ./sandbox/endpoints -run '^$$' -bench Extract200Files -benchtime 50x
	$(GO) test ./sandbox/endpoints -run '^$$' -bench ExtractWorstCase -benchtime 3x

clean:
	rm -rf bin images/.build
