#pragma once

// What a test that drives Debian's chromium with playwright-core needs
// (tests/tools/node): the tools' paths come from the test's CMake
// definitions PSO_NODE_BIN, PSO_CHROMIUM_BIN and PSO_NODE_TOOLS_DIR.

#include <gtest/gtest.h>

#include <filesystem>

namespace pso::testing {

/// Whether a tool CMake found (an empty path: not found) is there.
inline bool toolPresent(const char* path) {
  return path[0] != '\0' && std::filesystem::exists(path);
}

}  // namespace pso::testing

/// Skips the test where node or chromium is missing (installers/install-deps.sh
/// installs both, so `make test` runs it); fails it where the node modules are.
#define PSO_REQUIRE_BROWSER()                                                                \
  do {                                                                                       \
    if (!::pso::testing::toolPresent(PSO_NODE_BIN)) GTEST_SKIP() << "node is not installed"; \
    if (!::pso::testing::toolPresent(PSO_CHROMIUM_BIN)) {                                    \
      GTEST_SKIP() << "chromium is not installed (installers/install-deps.sh installs it)";  \
    }                                                                                        \
    ASSERT_TRUE(std::filesystem::exists(std::filesystem::path(PSO_NODE_TOOLS_DIR) /          \
                                        "node_modules" / "playwright-core"))                 \
        << "run npm ci --prefix tests/tools/node (installers/install-deps.sh does)";         \
  } while (0)
