# cc-metric-bridge. `make run` starts the server on 127.0.0.1:8080 with the
# embedded default config; `make test` runs every test (race detector on)
# and short fuzz runs of every decoder.
GO       ?= go
BIN      := bin/cc-metric-bridge
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS  := -X main.version=$(VERSION) -X main.commit=$(shell git rev-parse --short HEAD 2>/dev/null || echo unknown) -X main.date=$(shell date -u +%Y-%m-%dT%H:%M:%SZ)
FUZZTIME ?= 3s
ARGS     ?= -loglevel info

# package:FuzzTarget pairs run by `make test` (short) and `make fuzz` (long).
FUZZ_TARGETS := \
	./core/chunk:FuzzRoundTrip \
	./core/chunk:FuzzDecode \
	./core/lineproto:FuzzDecode \
	./core/lineproto:FuzzFastPath \
	./native:FuzzQueryRequest \
	./native:FuzzWriteBody \
	./native/numfmt:FuzzAppendFixed \
	./auth:FuzzVerify \
	./compat/influx:FuzzWriteBody \
	./compat/promapi:FuzzQueryParams \
	./compat/promremote:FuzzDecodeV1 \
	./compat/promremote:FuzzDecodeV2 \
	./core/promlabels:FuzzRoundTrip \
	./core/persist:FuzzReplay \
	./core/persist:FuzzRestoreSnapshot

.PHONY: build run test unit fuzz-short fuzz bench crash lint clean

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/cc-metric-bridge

run: build
	./$(BIN) $(ARGS)

test: lint unit fuzz-short

unit:
	$(GO) test -race -count=1 -timeout 8m ./...
	# tests that measure the heap run without the race detector
	$(GO) test -count=1 -run 'TestMemoryCap' ./core/persist

fuzz-short:
	@for t in $(FUZZ_TARGETS); do \
		pkg=$${t%%:*}; fn=$${t##*:}; \
		echo "fuzz $$pkg $$fn ($(FUZZTIME))"; \
		out=$$($(GO) test -run '^$$' -fuzz "^$$fn$$" -fuzztime $(FUZZTIME) $$pkg 2>&1); rc=$$?; \
		if [ $$rc -ne 0 ] && echo "$$out" | grep -q "context deadline exceeded"; then \
			echo "$$out" | tail -3; \
			echo "retrying: Go's fuzzer timed out stopping a worker (not a finding)"; \
			out=$$($(GO) test -run '^$$' -fuzz "^$$fn$$" -fuzztime $(FUZZTIME) $$pkg 2>&1); rc=$$?; \
		fi; \
		if [ $$rc -ne 0 ]; then echo "$$out"; exit 1; fi; \
		echo "$$out" | tail -1; \
	done

fuzz:
	$(MAKE) fuzz-short FUZZTIME=2m

# kill -9 the real server 100 times while it ingests; nothing acknowledged may be lost.
crash:
	$(GO) test -count=1 -run TestCrashLosesNothing -timeout 30m ./cmd/cc-metric-bridge -crash-iterations 100 -v

bench:
	$(GO) test -run '^$$' -bench . -benchmem -benchtime 2s ./...

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
		if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

clean:
	rm -rf bin var
