# The README's two commands: `make demo` and `make test`. Both install missing
# Debian packages through installers/install-deps.sh, then build.
BUILD ?= build
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?= -DCMAKE_BUILD_TYPE=RelWithDebInfo

.PHONY: all deps configure build test demo bench format clean

all: build

deps:
	@./installers/install-deps.sh

configure: deps
	cmake -S . -B $(BUILD) $(CMAKE_FLAGS)

build: configure
	cmake --build $(BUILD) -j$(JOBS)

test: build
	ctest --test-dir $(BUILD) --output-on-failure -j$(JOBS) --timeout 600

demo: build
	./installers/demo.sh $(BUILD)

bench: build
	./tests/bench/run_all.sh $(BUILD)

format:
	find protocol common agent controller tests -name '*.h' -o -name '*.cpp' | xargs clang-format -i

clean:
	rm -rf $(BUILD) demo-out
