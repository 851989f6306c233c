#include "agent/subprocess.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "common/clock.h"

extern char** environ;

namespace pso::agent {
namespace {

// Closes a descriptor when it goes out of scope.
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() { reset(); }
  void reset(int fd = -1) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
  }
  int get() const { return fd_; }

 private:
  int fd_ = -1;
};

// glibc 2.36's <sys/pidfd.h> lacks C linkage for C++, so the syscall is made
// directly. -1 (ENOSYS on kernels before 5.3) makes runCommand poll instead.
int openPidFd(pid_t pid) {
  return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
}

bool isExecutableFile(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(path.c_str(), X_OK) == 0;
}

// PATH is searched in the parent: after fork() in a threaded process the child
// may only call async-signal-safe functions, which excludes execvp's allocation.
Result<std::string> resolveProgram(const std::string& program) {
  if (program.empty()) return makeError("spawn", "empty command");
  if (program.find('/') != std::string::npos) return program;
  const char* path_env = std::getenv("PATH");
  std::string_view path = path_env != nullptr ? path_env : "/usr/local/bin:/usr/bin:/bin";
  while (true) {
    std::size_t colon = path.find(':');
    std::string dir(path.substr(0, colon));
    std::string candidate = (dir.empty() ? "." : dir) + "/" + program;
    if (isExecutableFile(candidate)) return candidate;
    if (colon == std::string_view::npos) break;
    path = path.substr(colon + 1);
  }
  return makeError("spawn", "cannot start '" + program + "': not found in PATH");
}

std::string lastLine(std::string_view text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' ')) {
    text.remove_suffix(1);
  }
  std::size_t newline = text.rfind('\n');
  if (newline != std::string_view::npos) text = text.substr(newline + 1);
  constexpr std::size_t kMax = 200;
  return std::string(text.substr(0, kMax));
}

}  // namespace

Result<pid_t> spawnProcess(const std::vector<std::string>& argv, const SpawnOptions& options) {
  if (argv.empty()) return makeError("spawn", "empty command");
  Result<std::string> program = resolveProgram(argv[0]);
  if (!program) return program.error();

  std::vector<char*> args;
  args.reserve(argv.size() + 1);
  for (const std::string& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
  args.push_back(nullptr);

  int error_pipe[2];
  if (::pipe2(error_pipe, O_CLOEXEC) != 0) {
    return makeError("spawn",
                     std::string("cannot start '") + argv[0] + "': pipe: " + std::strerror(errno));
  }
  Fd error_read(error_pipe[0]);
  Fd error_write(error_pipe[1]);
  Fd dev_null(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  const pid_t parent = ::getpid();
  const char* path = program->c_str();

  pid_t pid = ::fork();
  if (pid < 0) {
    return makeError("spawn",
                     std::string("cannot start '") + argv[0] + "': fork: " + std::strerror(errno));
  }
  if (pid == 0) {
    // Child: async-signal-safe calls only, up to execve.
    if (options.new_process_group) ::setpgid(0, 0);
    if (options.die_with_parent) {
      ::prctl(PR_SET_PDEATHSIG, SIGTERM);
      if (::getppid() != parent) ::_exit(127);
    }
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    struct sigaction default_action {};
    default_action.sa_handler = SIG_DFL;
    for (int sig : {SIGTERM, SIGINT, SIGHUP, SIGPIPE, SIGCHLD}) {
      ::sigaction(sig, &default_action, nullptr);
    }
    if (dev_null.get() >= 0) ::dup2(dev_null.get(), STDIN_FILENO);
    if (options.output_fd >= 0) {
      ::dup2(options.output_fd, STDOUT_FILENO);
      ::dup2(options.output_fd, STDERR_FILENO);
    }
    ::execve(path, args.data(), environ);
    int err = errno;
    ssize_t ignored = ::write(error_pipe[1], &err, sizeof err);
    (void)ignored;
    ::_exit(127);
  }

  // The write end closes at exec (CLOEXEC): EOF means the program is running,
  // an int means execve failed with that errno.
  error_write.reset();
  int child_errno = 0;
  ssize_t n;
  do {
    n = ::read(error_read.get(), &child_errno, sizeof child_errno);
  } while (n < 0 && errno == EINTR);
  if (n == static_cast<ssize_t>(sizeof child_errno)) {
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    return makeError("spawn", "cannot start '" + *program + "': " + std::strerror(child_errno));
  }
  return pid;
}

std::string CommandOutcome::describe(std::chrono::milliseconds timeout) const {
  std::string text;
  if (timed_out) {
    text = "timed out after " + std::to_string(timeout.count()) + "ms, killed";
  } else if (term_signal != 0) {
    text = "killed by signal " + std::to_string(term_signal);
  } else {
    text = "exit " + std::to_string(exit_code);
  }
  std::string line = lastLine(output);
  if (!line.empty()) text += ": " + line;
  return text;
}

Result<CommandOutcome> runCommand(const std::vector<std::string>& argv,
                                  std::chrono::milliseconds timeout, std::size_t max_output) {
  int out_pipe[2];
  if (::pipe2(out_pipe, O_CLOEXEC) != 0) {
    return makeError("spawn", std::string("cannot run command: pipe: ") + std::strerror(errno));
  }
  Fd out_read(out_pipe[0]);
  Fd out_write(out_pipe[1]);
  ::fcntl(out_read.get(), F_SETFL, ::fcntl(out_read.get(), F_GETFL) | O_NONBLOCK);

  const int64_t started = common::steadyMs();
  SpawnOptions options;
  options.output_fd = out_write.get();
  Result<pid_t> spawned = spawnProcess(argv, options);
  out_write.reset();
  if (!spawned) return spawned.error();
  const pid_t pid = *spawned;

  // A pidfd turns "child exited" into a readable descriptor, so one poll()
  // waits for output, exit and the timeout together.
  Fd exit_fd(openPidFd(pid));
  CommandOutcome outcome;
  char chunk[4096];
  bool output_open = true;
  // Bounded per call so a grandchild that keeps writing cannot hold us here.
  auto drain = [&]() {
    for (int reads = 0; output_open && reads < 64; ++reads) {
      ssize_t n = ::read(out_read.get(), chunk, sizeof chunk);
      if (n > 0) {
        std::size_t room = max_output - std::min(max_output, outcome.output.size());
        outcome.output.append(chunk, std::min<std::size_t>(room, static_cast<std::size_t>(n)));
        continue;
      }
      if (n == 0) output_open = false;
      if (n < 0 && errno == EINTR) continue;
      break;
    }
  };

  const int64_t deadline = started + timeout.count();
  int status = 0;
  bool exited = false;
  while (!exited) {
    int64_t remaining = deadline - common::steadyMs();
    if (remaining <= 0) {
      signalProcessGroup(pid, SIGKILL);
      while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
      }
      outcome.timed_out = true;
      break;
    }
    pollfd fds[2];
    nfds_t count = 0;
    if (output_open) fds[count++] = {out_read.get(), POLLIN, 0};
    if (exit_fd.get() >= 0) fds[count++] = {exit_fd.get(), POLLIN, 0};
    // Without a pidfd (old kernels) exit is checked every few milliseconds.
    int wait_ms = exit_fd.get() >= 0 ? static_cast<int>(std::min<int64_t>(remaining, 1000))
                                     : static_cast<int>(std::min<int64_t>(remaining, 10));
    ::poll(fds, count, wait_ms);
    drain();
    pid_t done = ::waitpid(pid, &status, WNOHANG);
    if (done == pid) exited = true;
  }
  drain();
  outcome.duration_ms = common::steadyMs() - started;
  if (!outcome.timed_out) {
    if (WIFEXITED(status)) outcome.exit_code = WEXITSTATUS(status);
    if (WIFSIGNALED(status)) outcome.term_signal = WTERMSIG(status);
  }
  return outcome;
}

std::vector<std::string> substituteArgs(
    const std::vector<std::string>& argv,
    const std::vector<std::pair<std::string, std::string>>& values) {
  std::vector<std::string> result;
  result.reserve(argv.size());
  for (const std::string& arg : argv) {
    std::string out;
    std::size_t pos = 0;
    while (pos < arg.size()) {
      std::size_t open = arg.find('{', pos);
      if (open == std::string::npos) break;
      std::size_t close = arg.find('}', open + 1);
      if (close == std::string::npos) break;
      std::string_view name(arg.data() + open + 1, close - open - 1);
      auto match = std::find_if(values.begin(), values.end(),
                                [&name](const auto& value) { return value.first == name; });
      out.append(arg, pos, open - pos);
      if (match != values.end()) {
        out += match->second;
      } else {
        out.append(arg, open, close - open + 1);
      }
      pos = close + 1;
    }
    out.append(arg, std::min(pos, arg.size()), std::string::npos);
    result.push_back(std::move(out));
  }
  return result;
}

bool signalProcessGroup(pid_t pid, int sig) {
  if (pid <= 0) return false;
  if (::kill(-pid, sig) == 0) return true;
  return ::kill(pid, sig) == 0;
}

}  // namespace pso::agent
