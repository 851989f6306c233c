#include "controller/cli/failure.h"

#include <iostream>

namespace pso::cli {

int fail(const std::string& reason) {
  std::cerr << "psoctl: " << reason << '\n';
  return 1;
}

}  // namespace pso::cli
