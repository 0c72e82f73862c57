# The two commands of the README, and the build they share.
BUILD ?= build
JOBS ?= 2

.PHONY: build run check deps bench asan fuzz clean

deps:
	@./scripts/install-deps.sh

$(BUILD)/build.ninja:
	@cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null

build: deps $(BUILD)/build.ninja
	@cmake --build $(BUILD) -j$(JOBS)

run: build
	@./scripts/run.sh

check: build
	@cd $(BUILD) && ctest -j$(JOBS) --output-on-failure --timeout 900

asan: deps
	@cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DTERN_SANITIZE=ON >/dev/null
	@cmake --build build-asan -j$(JOBS)
	@cd build-asan && ctest -j$(JOBS) --output-on-failure --timeout 1800

fuzz: deps
	@cmake -S . -B build-fuzz -G Ninja -DCMAKE_CXX_COMPILER=clang++ -DTERN_FUZZ=ON >/dev/null
	@cmake --build build-fuzz -j$(JOBS) --target fuzz_smtp_proto fuzz_pop3_proto fuzz_imap_proto fuzz_imap_message fuzz_queue_file fuzz_dkim fuzz_spf_dmarc fuzz_spam_content

bench: build
	@./scripts/install-bench-deps.sh
	@./bench/compare
	@./bench/http

clean:
	rm -rf $(BUILD) build-asan build-fuzz
