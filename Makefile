# The README's two commands: `make demo` and `make test`. Both install missing
# Debian packages through installers/install-deps.sh, then build.
#
# Also:
#   make test-sanitize  the whole suite built with AddressSanitizer and
#                       UndefinedBehaviorSanitizer (build-asan/); any report fails it
#   make test-repeat    the suite 20 times in a row, then under faketime at
#                       00:30, 06:30, 12:30 and 18:30 UTC (tests/tools/test-repeat.sh)
#   make bench          every benchmark under tests/bench, printing its figures
#   make package        the Debian packages pso-agent, pso-controller, psoctl (and
#                       their -dbgsym) in build-package/ (docs/install.md)
BUILD ?= build
ASAN_BUILD ?= build-asan
JOBS ?= $(shell nproc)
# Developer and CI builds treat warnings as errors (PSO_WERROR is off for plain
# and packagers' builds). They carry line tables only (-g1): backtraces and
# sanitizer reports name function, file and line, and the build compiles
# 30-45% faster per file than with -g (docs/design-notes.md "Build time");
# a debugging session that needs local variables sets CMAKE_FLAGS itself.
# Both CI builds compile in unity batches (PSO_UNITY, CMakeLists.txt): on a
# shared two-core machine, cold and without ccache, this build took 1,062 s
# instead of 1,619 s file by file (docs/design-notes.md "Build time").
CMAKE_FLAGS ?= -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O2 -g1 -DNDEBUG" \
               -DPSO_WERROR=ON -DPSO_UNITY=ON
# The sanitizer build skips the benchmarks (figures from an instrumented binary
# mean nothing) and optimises lightly: -O1 keeps ASan's reports exact and the
# suite fast enough for CI. Its reports need file and line, not local
# variables, so it carries line tables only (-g1, 30-45% less compile time per
# file than -g, docs/design-notes.md "Build time"). Warnings are not errors there: GCC 12's flow
# analysis under -fsanitize reports false maybe-uninitialized warnings inside
# libstdc++ (std::regex's std::function); the normal build keeps -Werror.
# In unity batches (PSO_UNITY) it built cold in 1,007 s on the shared two-core
# machine; file by file it had taken about 27 minutes on a quieter one
# (docs/design-notes.md "Build time").
ASAN_FLAGS ?= -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG="-O1 -g1" \
              -DPSO_SANITIZE=address,undefined -DPSO_BUILD_BENCH=OFF -DPSO_WERROR=OFF -DPSO_UNITY=ON
# A compiler cache, where one is installed, makes rebuilds after a checkout cheap.
# The build precompiles headers (PSO_PCH, cmake/PsoPch.cmake); ccache caches
# such compiles only with these two sloppiness settings.
CCACHE_LAUNCHER = -DCMAKE_CXX_COMPILER_LAUNCHER='env;CCACHE_SLOPPINESS=pch_defines,time_macros;ccache'
LAUNCHER := $(if $(shell command -v ccache 2>/dev/null),$(CCACHE_LAUNCHER),)
# Fatal sanitizer reports with stacks; leaks count as failures.
SANITIZER_ENV = ASAN_OPTIONS=abort_on_error=1:detect_leaks=1:strict_string_checks=1:detect_stack_use_after_return=1 \
                UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
# Packages are built as Debian builds its own: optimised with debug info, which
# CPack strips into the -dbgsym packages; warnings do not stop a packager. They
# compile file by file (PSO_UNITY off), as a packager's plain cmake would.
PKG_BUILD ?= build-package
PKG_FLAGS ?= -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_INSTALL_PREFIX=/usr -DPSO_BUILD_TESTS=OFF
CTEST_FLAGS ?= --output-on-failure -j$(JOBS) --timeout 600

.PHONY: all deps configure build test test-sanitize test-repeat demo bench package format clean

all: build

deps:
	@./installers/install-deps.sh

configure: deps
	cmake -S . -B $(BUILD) $(CMAKE_FLAGS) $(LAUNCHER)

build: configure
	cmake --build $(BUILD) -j$(JOBS)

test: build
	ctest --test-dir $(BUILD) $(CTEST_FLAGS)

test-sanitize: deps
	cmake -S . -B $(ASAN_BUILD) $(ASAN_FLAGS) $(LAUNCHER)
	cmake --build $(ASAN_BUILD) -j$(JOBS)
	$(SANITIZER_ENV) ctest --test-dir $(ASAN_BUILD) $(CTEST_FLAGS)

test-repeat: build
	./tests/tools/test-repeat.sh $(BUILD)

demo: build
	./installers/demo.sh $(BUILD)

bench: build
	./tests/bench/run_all.sh $(BUILD)

package: deps
	cmake -S . -B $(PKG_BUILD) $(PKG_FLAGS) $(LAUNCHER)
	cmake --build $(PKG_BUILD) -j$(JOBS)
	cd $(PKG_BUILD) && cpack -G DEB
	@ls -1 $(PKG_BUILD)/*.deb

format:
	find protocol common agent controller tests -name '*.h' -o -name '*.cpp' | xargs clang-format -i

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(PKG_BUILD) demo-out
