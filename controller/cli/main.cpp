#include "controller/cli/psoctl.h"

int main(int argc, char** argv) {
  return pso::cli::runPsoctl(argc, argv);
}
