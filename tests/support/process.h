#pragma once

// Real child processes for integration tests: spawn a binary with its output
// in files, signal it, wait for it with a deadline, and run commands to
// completion capturing stdout.

#include <chrono>
#include <functional>
#include <string>
#include <vector>

namespace pso::testing {

class ChildProcess {
 public:
  /// Starts argv[0] (a path) with stdout and stderr appended to the given files.
  ChildProcess(std::vector<std::string> argv, const std::string& stdout_path,
               const std::string& stderr_path);
  ~ChildProcess();  ///< SIGKILLs and reaps a child still running
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  int pid() const { return pid_; }
  bool running();
  void signal(int sig);
  /// Waits up to `timeout` for exit; returns the exit status (or -signal), or
  /// nullopt-like INT_MIN on timeout.
  int wait(std::chrono::milliseconds timeout);

 private:
  int pid_ = -1;
  bool reaped_ = false;
  int status_ = 0;
};

struct CommandOutput {
  int exit_code = -1;
  std::string out;
  std::string err;
};

/// `text` split at newlines, without them (a last line without one counts).
std::vector<std::string> linesOf(const std::string& text);

/// Runs a command to completion (bounded by `timeout`), capturing stdout and
/// stderr. `env` entries "K=V" are added to the environment.
CommandOutput runCommand(const std::vector<std::string>& argv,
                         const std::vector<std::string>& env = {},
                         std::chrono::milliseconds timeout = std::chrono::seconds(30));

/// Runs a command to completion as runCommand() does, with `input` as its
/// whole stdin: the command reads end of input after the last byte.
CommandOutput runCommandWithInput(const std::vector<std::string>& argv, const std::string& input,
                                  std::chrono::milliseconds timeout = std::chrono::seconds(30));

/// PIDs of the live (not zombie) children of `pid`.
std::vector<int> childPids(int pid);

/// Polls `condition` every 50 ms until it holds or `timeout` passes.
bool waitFor(const std::function<bool()>& condition, std::chrono::milliseconds timeout);

/// A loopback TCP port with nothing listening: one the kernel picked, bound,
/// then closed. For a config that needs a fixed port, or a peer that refuses.
int unusedLoopbackPort();

/// Reads a whole file ("" when missing).
std::string readFile(const std::string& path);

/// A fresh temporary directory, removed by the destructor.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

}  // namespace pso::testing
