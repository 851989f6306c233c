#include "common/threads.h"

#include <gtest/gtest.h>
#include <pthread.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <string>
#include <thread>

namespace pso::common {
namespace {

std::string threadName() {
  char name[16] = {};
  EXPECT_EQ(::pthread_getname_np(::pthread_self(), name, sizeof name), 0);
  return name;
}

int threadNice(pid_t tid) {
  errno = 0;
  const int nice = ::getpriority(PRIO_PROCESS, static_cast<id_t>(tid));
  EXPECT_EQ(errno, 0);
  return nice;
}

TEST(Threads, ANameIsCutToTheKernelsFifteenBytes) {
  std::string short_name, long_name;
  std::thread([&] {
    nameThisThread("pso-writer");
    short_name = threadName();
    nameThisThread("pso-a-name-longer-than-fifteen");
    long_name = threadName();
  }).join();
  EXPECT_EQ(short_name, "pso-writer");
  EXPECT_EQ(long_name, "pso-a-name-long");
}

TEST(Threads, APriorityIsLoweredForTheCallingThreadAlone) {
  const auto main_tid = static_cast<pid_t>(::syscall(SYS_gettid));
  const int main_before = threadNice(main_tid);
  int lowered = -100;
  bool done = false;
  std::thread([&] {
    done = lowerThisThreadsPriority(10);
    // Asking for a higher priority than the thread has leaves it as low.
    done = done && lowerThisThreadsPriority(5);
    lowered = threadNice(static_cast<pid_t>(::syscall(SYS_gettid)));
  }).join();
  EXPECT_TRUE(done);
  EXPECT_EQ(lowered, std::max(main_before, 10));
  EXPECT_EQ(threadNice(main_tid), main_before);
}

}  // namespace
}  // namespace pso::common
