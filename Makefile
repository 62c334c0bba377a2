# Thin wrapper over CMake. Every target installs missing Debian packages
# first (scripts/install-deps is idempotent and quick when nothing is missing).
BUILD      ?= build
BUILD_TYPE ?= Release
JOBS       ?= 2
CMAKE_ARGS ?=

.PHONY: all deps build test demo asan fuzz bench format clean

all: build

deps:
	@scripts/install-deps

$(BUILD)/CMakeCache.txt: | deps
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) $(CMAKE_ARGS)

build: deps $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j$(JOBS)

# Every test: unit tests, then end-to-end tests that drive the real binary.
test: build
	cd $(BUILD) && ctest --output-on-failure -j$(JOBS)

# A first campaign on the built-in simulated contact centre.
demo: build
	$(BUILD)/powerdialer demo

# Unit tests under AddressSanitizer + UndefinedBehaviorSanitizer.
asan:
	@$(MAKE) --no-print-directory build BUILD=build-asan BUILD_TYPE=Debug \
	  CMAKE_ARGS="-DPOWERDIALER_SANITIZE=ON"
	cd build-asan && ctest --output-on-failure -j$(JOBS) -L unit

# The fuzz targets (fuzz/), longer than the ctest `fuzz` runs them, for bug
# hunting: FUZZ_SECONDS per target; FUZZ_TARGETS picks some (default: all).
FUZZ_SECONDS ?= 300
FUZZ_TARGETS ?=
fuzz: deps
	scripts/fuzz --build-dir $(BUILD)/fuzz --seconds $(FUZZ_SECONDS) $(FUZZ_TARGETS)

bench: build
	$(BUILD)/bench/powerdialer_bench

format:
	clang-format -i $$(git ls-files 'src/*.cc' 'src/*.h' 'tests/*.cc' 'bench/*.cc')

clean:
	rm -rf build build-asan
