#pragma once

// Starting and running child processes for the actuators: one implementation of
// fork/exec, exec-failure reporting, timeouts and output capture.

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/result.h"

namespace pso::agent {

struct SpawnOptions {
  /// Put the child in a process group of its own, so signals sent to the group
  /// (-pid) reach anything it starts, and a terminal's Ctrl-C does not.
  bool new_process_group = true;
  /// Ask the kernel to send SIGTERM to the child when the agent dies, so a
  /// crashed agent does not leave orphaned workers.
  bool die_with_parent = true;
  /// When >= 0 the child's stdout and stderr go to this descriptor; otherwise
  /// they are the agent's. stdin is always /dev/null.
  int output_fd = -1;
};

/// Starts `argv` (argv[0] searched in PATH when it has no slash). Returns once
/// the program is running; a program that cannot be executed is an Error (code
/// "spawn") naming it and the reason, with no child left behind.
[[nodiscard]] Result<pid_t> spawnProcess(const std::vector<std::string>& argv,
                                         const SpawnOptions& options = {});

/// How a command run by runCommand() ended.
struct CommandOutcome {
  bool timed_out = false;  ///< killed (with its process group) at the timeout
  int exit_code = -1;      ///< exit status when it exited normally, else -1
  int term_signal = 0;     ///< signal that ended it, 0 when it exited
  std::string output;      ///< stdout and stderr, at most the requested bytes
  int64_t duration_ms = 0;

  bool succeeded() const { return !timed_out && exit_code == 0; }
  /// One line for logs and directive results: "exit 3: <last output line>",
  /// "killed by signal 9", "timed out after 200ms".
  std::string describe(std::chrono::milliseconds timeout) const;
};

/// Runs `argv` to completion or until `timeout`, when its whole process group
/// is killed with SIGKILL and reaped. Captures up to `max_output` bytes of its
/// output. An Error only when it could not be started at all.
[[nodiscard]] Result<CommandOutcome> runCommand(const std::vector<std::string>& argv,
                                                std::chrono::milliseconds timeout,
                                                std::size_t max_output = 64 * 1024);

/// Replaces every "{name}" in each argument by its value; other braces are
/// left as they are.
std::vector<std::string> substituteArgs(
    const std::vector<std::string>& argv,
    const std::vector<std::pair<std::string, std::string>>& values);

/// Sends `sig` to the process group led by `pid`, or to `pid` alone when it
/// leads none. Returns false when no such process exists any more.
bool signalProcessGroup(pid_t pid, int sig);

}  // namespace pso::agent
