#include "common/threads.h"

#include <pthread.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <string>

namespace pso::common {

void nameThisThread(std::string_view name) {
  // The kernel keeps 15 bytes and a terminating zero; a longer name is refused
  // whole, so it is cut here.
  const std::string cut(name.substr(0, 15));
  ::pthread_setname_np(::pthread_self(), cut.c_str());
}

bool lowerThisThreadsPriority(int nice) {
  // On Linux a nice value belongs to a thread: PRIO_PROCESS with a thread id
  // sets that thread's alone (setpriority(2), "BUGS").
  const auto tid = static_cast<id_t>(::syscall(SYS_gettid));
  errno = 0;
  const int current = ::getpriority(PRIO_PROCESS, tid);
  if (errno != 0) return false;
  if (current >= nice) return true;
  return ::setpriority(PRIO_PROCESS, tid, nice) == 0;
}

}  // namespace pso::common
