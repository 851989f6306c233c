#pragma once

// The PostgreSQL server of a test run: the throw-away cluster CTest's
// pg_cluster fixture starts (tests/tools/pg-cluster.sh, tests/CMakeLists.txt)
// and whose DSN it writes to the file PSO_TEST_PG_DSN_FILE names; or, run by
// hand, the server PSO_TEST_PG_DSN names. Tests create a database of their
// own on it (PgTestDatabase). Without a server, what needs one fails with a
// message saying how to get one; it is never skipped.

#include <libpq-fe.h>

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <string>

#include <unistd.h>

namespace pso::testing {

class PgTestServer {
 public:
  /// The DSN of the test server (its maintenance database), or an empty
  /// string with `error` set.
  static std::string dsn(std::string& error) {
    if (const char* direct = std::getenv("PSO_TEST_PG_DSN"); direct != nullptr && *direct) {
      return direct;
    }
    const char* file = std::getenv("PSO_TEST_PG_DSN_FILE");
    if (file == nullptr || *file == '\0') {
      error =
          "no PostgreSQL server for this test: run it with ctest (its pg_cluster fixture starts "
          "one with tests/tools/pg-cluster.sh), or set PSO_TEST_PG_DSN";
      return std::string();
    }
    std::ifstream in(file);
    std::string line;
    if (!in || !std::getline(in, line) || line.empty()) {
      error = std::string("no PostgreSQL server for this test: ") + file +
              " holds no DSN (did tests/tools/pg-cluster.sh start fail? see the pg_cluster_start "
              "test's output)";
      return std::string();
    }
    return line;
  }

  /// Runs one SQL command on the maintenance database; false with `error`.
  static bool command(const std::string& sql, std::string& error) {
    const std::string server = dsn(error);
    if (server.empty()) return false;
    PGconn* conn = PQconnectdb(server.c_str());
    bool ok = PQstatus(conn) == CONNECTION_OK;
    if (!ok) {
      error = "cannot reach the test PostgreSQL server (" + server + "): " + PQerrorMessage(conn);
    } else {
      PGresult* result = PQexec(conn, sql.c_str());
      ok = PQresultStatus(result) == PGRES_COMMAND_OK;
      if (!ok) error = sql + ": " + PQerrorMessage(conn);
      PQclear(result);
    }
    PQfinish(conn);
    return ok;
  }
};

/// A database of its own on the test server, dropped with this object.
class PgTestDatabase {
 public:
  /// Creates "pso_test_<pid>_<n>_<name>"; ok() tells whether it was.
  explicit PgTestDatabase(const std::string& name) {
    static std::atomic<int> counter{0};
    name_ = "pso_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter++) + "_" + name;
    const std::string server = PgTestServer::dsn(error_);
    if (server.empty() || !PgTestServer::command("CREATE DATABASE " + name_, error_)) return;
    dsn_ = server + " dbname=" + name_;
  }
  ~PgTestDatabase() {
    if (dsn_.empty()) return;
    std::string ignored;
    (void)PgTestServer::command("DROP DATABASE IF EXISTS " + name_ + " WITH (FORCE)", ignored);
  }
  PgTestDatabase(const PgTestDatabase&) = delete;
  PgTestDatabase& operator=(const PgTestDatabase&) = delete;

  bool ok() const { return !dsn_.empty(); }
  /// Why it could not be created.
  const std::string& error() const { return error_; }
  /// The libpq connection string of this database.
  const std::string& dsn() const { return dsn_; }

 private:
  std::string name_;
  std::string dsn_;
  std::string error_;
};

}  // namespace pso::testing
