#include "controller/cli/store_argument.h"

#include <filesystem>

namespace pso::cli {

Result<std::unique_ptr<controller::store::Store>> openExistingStore(const std::string& db) {
  if (!controller::store::isPostgresqlUri(db)) {
    std::error_code ec;
    if (!std::filesystem::is_regular_file(db, ec)) {
      return makeError("not_found", "--db: no database at " + db);
    }
  }
  auto opened = controller::store::Store::open(db);
  if (!opened) return makeError(opened.error().code, "--db " + db + ": " + opened.error().message);
  return opened;
}

}  // namespace pso::cli
