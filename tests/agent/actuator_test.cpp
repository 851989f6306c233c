#include <gtest/gtest.h>
#include <signal.h>

#include <set>
#include <string>
#include <vector>

#include "agent/actuator.h"
#include "agent/exec_actuator.h"
#include "agent/guarded_actuator.h"
#include "agent/process_pool_actuator.h"
#include "agent/subprocess.h"
#include "agent_test_util.h"
#include "common/clock.h"

namespace pso::agent {
namespace {

using namespace std::chrono_literals;
using testing::processExists;
using testing::readFile;
using testing::TempDir;
using testing::waitUntil;

protocol::Directive scaleTo(int64_t replicas, const std::string& id = "d-1") {
  protocol::Directive directive;
  directive.id = id;
  directive.system = "web";
  directive.action = "scale";
  directive.replicas = replicas;
  return directive;
}

// A worker that records its pid and index, then sleeps until stopped.
std::vector<std::string> recordingWorker(const TempDir& dir) {
  return {"sh", "-c",
          "echo {index} {system} > " + dir.file("worker-{index}") + "; exec sleep 1000"};
}

pid_t readPid(const std::string& path) {
  std::string text = readFile(path);
  return text.empty() ? 0 : static_cast<pid_t>(std::stol(text));
}

// Polls the pool (reaping, escalation, restarts) until `done` or 10 s pass.
bool pollUntil(ProcessPoolActuator& pool, const std::function<bool()>& done) {
  return waitUntil(done, 10s, [&pool] {
    pool.poll();
    std::this_thread::sleep_for(5ms);
  });
}

TEST(ProcessPoolActuator, GrowsAndShrinksRealWorkers) {
  TempDir dir;
  ProcessPoolActuator pool("web", recordingWorker(dir), 5s, 1);
  ASSERT_TRUE(pool.start().ok());
  ASSERT_EQ(pool.currentReplicas(), 1);
  const pid_t first = pool.workerPids()[0];
  EXPECT_TRUE(processExists(first));

  ActuationResult grown = pool.apply(scaleTo(3));
  EXPECT_EQ(grown.status, ActuationStatus::kApplied) << grown.message;
  EXPECT_EQ(grown.replicas, 3);
  std::vector<pid_t> pids = pool.workerPids();
  ASSERT_EQ(pids.size(), 3u);
  EXPECT_EQ(pids[0], first);
  EXPECT_EQ(std::set<pid_t>(pids.begin(), pids.end()).size(), 3u);
  for (pid_t pid : pids) EXPECT_TRUE(processExists(pid)) << pid;
  // {index} and {system} reached each worker's command line.
  EXPECT_TRUE(waitUntil([&] { return readFile(dir.file("worker-1")) == "1 web\n"; }, 10s));
  EXPECT_TRUE(waitUntil([&] { return readFile(dir.file("worker-2")) == "2 web\n"; }, 10s));

  ActuationResult shrunk = pool.apply(scaleTo(1, "d-2"));
  EXPECT_EQ(shrunk.status, ActuationStatus::kApplied) << shrunk.message;
  EXPECT_EQ(shrunk.replicas, 1);
  EXPECT_EQ(pool.currentReplicas(), 1);
  EXPECT_EQ(pool.workerPids(), std::vector<pid_t>{first});
  // The highest indexes were stopped: SIGTERM ends sleep, poll() reaps them.
  EXPECT_TRUE(pollUntil(pool, [&] { return pool.stoppingPids().empty(); }));
  EXPECT_FALSE(processExists(pids[1]));
  EXPECT_FALSE(processExists(pids[2]));
  EXPECT_TRUE(processExists(first));

  pool.stop();
  EXPECT_FALSE(processExists(first));
  EXPECT_EQ(pool.currentReplicas(), 0);
}

TEST(ProcessPoolActuator, RestartsAWorkerThatDiedAndCountsIt) {
  TempDir dir;
  common::MetricsRegistry metrics;
  ProcessPoolActuator pool("web", recordingWorker(dir), 5s, 2, &metrics);
  ASSERT_TRUE(pool.start().ok());
  const pid_t victim = pool.workerPids()[1];
  const pid_t survivor = pool.workerPids()[0];
  ASSERT_EQ(::kill(victim, SIGKILL), 0);
  ASSERT_TRUE(pollUntil(pool, [&] {
    pid_t now = pool.workerPids()[1];
    return now != 0 && now != victim;
  }));
  EXPECT_TRUE(processExists(pool.workerPids()[1]));
  EXPECT_FALSE(processExists(victim));
  EXPECT_EQ(pool.workerPids()[0], survivor);
  EXPECT_EQ(pool.restartCount(), 1u);
  EXPECT_EQ(metrics.value("pso_agent_worker_restarts_total", {{"system", "web"}}), 1.0);
  EXPECT_EQ(pool.currentReplicas(), 2);
}

TEST(ProcessPoolActuator, KillsAWorkerThatIgnoresSigtermAfterTheGrace) {
  // An ignored signal stays ignored across exec, so this sleep shrugs off
  // SIGTERM; the ready file says the trap is in place.
  TempDir dir;
  const std::string ready = dir.file("ready");
  ProcessPoolActuator pool(
      "web", {"sh", "-c", "trap '' TERM; echo ready > " + ready + "; exec sleep 1000"}, 200ms, 1);
  ASSERT_TRUE(pool.start().ok());
  const pid_t stubborn = pool.workerPids()[0];
  ASSERT_TRUE(waitUntil([&] { return readFile(ready) == "ready\n"; }, 10s));
  ASSERT_EQ(pool.apply(scaleTo(0)).status, ActuationStatus::kApplied);
  EXPECT_EQ(pool.currentReplicas(), 0);
  EXPECT_TRUE(pollUntil(pool, [&] { return pool.stoppingPids().empty(); }));
  EXPECT_FALSE(processExists(stubborn));
}

TEST(ProcessPoolActuator, AWorkerThatCannotBeExecutedFailsTheDirectiveWithoutChange) {
  ProcessPoolActuator bad("web", {"/nonexistent/pso-worker"}, 1s, 0);
  ASSERT_TRUE(bad.start().ok());  // zero workers: nothing to execute yet
  ActuationResult result = bad.apply(scaleTo(2));
  EXPECT_EQ(result.status, ActuationStatus::kFailed);
  EXPECT_NE(result.message.find("/nonexistent/pso-worker"), std::string::npos) << result.message;
  EXPECT_EQ(bad.currentReplicas(), 0);
  EXPECT_EQ(bad.desiredReplicas(), 0);

  ProcessPoolActuator bad_start("web", {"/nonexistent/pso-worker"}, 1s, 1);
  Status status = bad_start.start();
  ASSERT_FALSE(status.ok());
  EXPECT_NE(status.error().message.find("cannot start worker 0"), std::string::npos);
}

TEST(ProcessPoolActuator, StopEndsEveryWorker) {
  TempDir dir;
  std::vector<pid_t> pids;
  {
    ProcessPoolActuator pool("web", recordingWorker(dir), 5s, 3);
    ASSERT_TRUE(pool.start().ok());
    pids = pool.workerPids();
    ASSERT_EQ(pids.size(), 3u);
  }  // destructor stops them
  for (pid_t pid : pids) EXPECT_FALSE(processExists(pid)) << pid;
}

TEST(ExecActuator, RunsTheCommandWithSubstitutions) {
  TempDir dir;
  const std::string out = dir.file("applied");
  ExecActuator exec("api", {"sh", "-c", "echo {replicas} {system} {cpu} {memory} > " + out}, {}, 5s,
                    -1);
  ASSERT_TRUE(exec.start().ok());
  EXPECT_EQ(exec.currentReplicas(), -1);
  protocol::Directive directive = scaleTo(4);
  directive.system = "api";
  ActuationResult result = exec.apply(directive);
  EXPECT_EQ(result.status, ActuationStatus::kApplied) << result.message;
  EXPECT_EQ(result.replicas, 4);
  EXPECT_EQ(exec.currentReplicas(), 4);
  EXPECT_EQ(readFile(out), "4 api\n");

  protocol::Directive limits;
  limits.id = "d-2";
  limits.system = "api";
  limits.action = "limits";
  limits.cpu = 1.5;
  limits.memory_bytes = 536870912;
  ASSERT_EQ(exec.apply(limits).status, ActuationStatus::kApplied);
  EXPECT_EQ(readFile(out), "4 api 1.5 536870912\n");
}

TEST(ExecActuator, StatusCommandReportsReplicas) {
  TempDir dir;
  const std::string state = dir.file("replicas");
  testing::writeFile(state, "2\n");
  ExecActuator exec("api", {"sh", "-c", "echo {replicas} > " + state}, {"cat", state}, 5s, -1);
  ASSERT_TRUE(exec.start().ok());
  EXPECT_EQ(exec.currentReplicas(), 2);
  ASSERT_EQ(exec.apply(scaleTo(5)).status, ActuationStatus::kApplied);
  EXPECT_EQ(exec.currentReplicas(), 5);
  testing::writeFile(state, "garbage\n");
  Status status = exec.refreshStatus();
  ASSERT_FALSE(status.ok());
  EXPECT_NE(status.error().message.find("'garbage'"), std::string::npos);
  EXPECT_EQ(exec.currentReplicas(), 5);  // keeps the last good value
}

TEST(ExecActuator, FailureReportsExitAndOutput) {
  ExecActuator exec("api", {"sh", "-c", "echo starting; echo 'quota exceeded' >&2; exit 3"}, {}, 5s,
                    1);
  ActuationResult result = exec.apply(scaleTo(2));
  EXPECT_EQ(result.status, ActuationStatus::kFailed);
  EXPECT_NE(result.message.find("exit 3: quota exceeded"), std::string::npos) << result.message;
  EXPECT_EQ(exec.currentReplicas(), 1);
}

TEST(ExecActuator, TimeoutKillsTheCommand) {
  TempDir dir;
  const std::string pid_file = dir.file("pid");
  ExecActuator exec("api", {"sh", "-c", "echo $$ > " + pid_file + "; exec sleep 30"}, {}, 1s, 1);
  ActuationResult result = exec.apply(scaleTo(2));
  EXPECT_EQ(result.status, ActuationStatus::kFailed);
  EXPECT_NE(result.message.find("timed out after 1000ms"), std::string::npos) << result.message;
  pid_t pid = readPid(pid_file);
  ASSERT_GT(pid, 0);
  EXPECT_FALSE(processExists(pid));  // killed and reaped
  EXPECT_EQ(exec.currentReplicas(), 1);
}

// Guards come from the registry, as the agent builds them.
SystemConfig execSystem(const std::string& marker) {
  SystemConfig system;
  system.name = "web";
  system.min_replicas = 1;
  system.max_replicas = 5;
  system.initial_replicas = 1;
  system.actuator.kind = "exec";
  system.actuator.command = {"sh", "-c", "echo {replicas} >> " + marker};
  return system;
}

TEST(GuardedActuator, OutOfBoundsIsRefusedNotClamped) {
  TempDir dir;
  const std::string marker = dir.file("runs");
  auto actuator = makeActuator(execSystem(marker));
  ASSERT_TRUE(actuator.ok()) << actuator.error().message;
  ActuationResult above = (*actuator)->apply(scaleTo(9));
  EXPECT_EQ(above.status, ActuationStatus::kRefused);
  EXPECT_EQ(above.message, "system web: 9 replicas is above max_replicas 5");
  ActuationResult below = (*actuator)->apply(scaleTo(0));
  EXPECT_EQ(below.status, ActuationStatus::kRefused);
  EXPECT_EQ(below.message, "system web: 0 replicas is below min_replicas 1");
  EXPECT_FALSE(std::filesystem::exists(marker));  // nothing ran
  EXPECT_EQ((*actuator)->currentReplicas(), 1);
  ActuationResult inside = (*actuator)->apply(scaleTo(5));
  EXPECT_EQ(inside.status, ActuationStatus::kApplied) << inside.message;
  EXPECT_EQ(readFile(marker), "5\n");
}

TEST(GuardedActuator, CooldownRefusesAChangeSoonAfterTheLast) {
  TempDir dir;
  const std::string marker = dir.file("runs");
  SystemConfig system = execSystem(marker);
  system.actuator.cooldown = std::chrono::hours(1);
  auto actuator = makeActuator(system);
  ASSERT_TRUE(actuator.ok());
  ASSERT_EQ((*actuator)->apply(scaleTo(2)).status, ActuationStatus::kApplied);
  ActuationResult again = (*actuator)->apply(scaleTo(3, "d-2"));
  EXPECT_EQ(again.status, ActuationStatus::kRefused);
  EXPECT_NE(again.message.find("cooldown"), std::string::npos) << again.message;
  EXPECT_EQ(readFile(marker), "2\n");
  EXPECT_EQ((*actuator)->currentReplicas(), 2);
  // Asking for what is already there is no change, so the cooldown lets it through.
  ActuationResult same = (*actuator)->apply(scaleTo(2, "d-4"));
  EXPECT_EQ(same.status, ActuationStatus::kApplied) << same.message;
  EXPECT_EQ(readFile(marker), "2\n2\n");

  // A short cooldown lets the next change through once it has passed.
  system.actuator.cooldown = std::chrono::milliseconds(100);
  auto quick = makeActuator(system);
  ASSERT_TRUE(quick.ok());
  ASSERT_EQ((*quick)->apply(scaleTo(2)).status, ActuationStatus::kApplied);
  EXPECT_TRUE(waitUntil(
      [&] { return (*quick)->apply(scaleTo(4, "d-3")).status == ActuationStatus::kApplied; }, 10s,
      [] { std::this_thread::sleep_for(20ms); }));
  EXPECT_EQ((*quick)->currentReplicas(), 4);
}

TEST(GuardedActuator, DryRunChangesNothing) {
  TempDir dir;
  const std::string marker = dir.file("runs");
  SystemConfig system = execSystem(marker);
  system.actuator.dry_run = true;
  auto actuator = makeActuator(system);
  ASSERT_TRUE(actuator.ok());
  ActuationResult result = (*actuator)->apply(scaleTo(3));
  EXPECT_EQ(result.status, ActuationStatus::kDryRun);
  EXPECT_EQ(result.message, "dry run: would scale web from 1 to 3 replicas");
  EXPECT_EQ(result.replicas, 1);
  EXPECT_FALSE(std::filesystem::exists(marker));
  // Still refused, not "dry_run", when out of bounds.
  EXPECT_EQ((*actuator)->apply(scaleTo(50)).status, ActuationStatus::kRefused);
}

TEST(GuardedActuator, DirectivePastItsDeadlineExpires) {
  TempDir dir;
  const std::string marker = dir.file("runs");
  auto actuator = makeActuator(execSystem(marker));
  ASSERT_TRUE(actuator.ok());
  protocol::Directive late = scaleTo(3);
  late.deadline_ms = common::wallMs() - 1000;
  ActuationResult result = (*actuator)->apply(late);
  EXPECT_EQ(result.status, ActuationStatus::kExpired);
  EXPECT_STREQ(actuationStatusName(result.status), "expired");
  EXPECT_FALSE(std::filesystem::exists(marker));
  protocol::Directive timely = scaleTo(3, "d-2");
  timely.deadline_ms = common::wallMs() + 60'000;
  EXPECT_EQ((*actuator)->apply(timely).status, ActuationStatus::kApplied);
}

TEST(GuardedActuator, ProcessPoolThroughTheRegistryStartsInitialWorkers) {
  SystemConfig system;
  system.name = "web";
  system.min_replicas = 1;
  system.max_replicas = 3;
  system.initial_replicas = 2;
  system.actuator.kind = "process-pool";
  system.actuator.command = {"sleep", "1000"};
  auto actuator = makeActuator(system);
  ASSERT_TRUE(actuator.ok()) << actuator.error().message;
  EXPECT_STREQ((*actuator)->kind(), "process-pool");
  ASSERT_TRUE((*actuator)->start().ok());
  EXPECT_EQ((*actuator)->currentReplicas(), 2);
  EXPECT_EQ((*actuator)->apply(scaleTo(4)).status, ActuationStatus::kRefused);
  EXPECT_EQ((*actuator)->currentReplicas(), 2);
  (*actuator)->stop();
  EXPECT_EQ((*actuator)->currentReplicas(), 0);
}

TEST(ActuatorRegistry, RefusesUnknownKindsAndBadSettings) {
  SystemConfig system;
  system.name = "db";
  system.actuator.command = {"true"};
  system.actuator.kind = "dokcer";
  auto unknown = makeActuator(system);
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.error().code, "invalid");
  EXPECT_NE(unknown.error().message.find("unknown actuator 'dokcer'"), std::string::npos);
  // Each kind names the setting it lacks.
  const std::pair<const char*, const char*> kLacking[] = {
      {"systemd", "needs 'unit'"},
      {"cgroup", "needs 'cgroup'"},
      {"docker", "needs 'image'"},
      {"kubernetes", "exactly one of deployment or statefulset"}};
  for (const auto& [kind, lacking] : kLacking) {
    system.actuator.kind = kind;
    auto actuator = makeActuator(system);
    ASSERT_FALSE(actuator.ok()) << kind;
    EXPECT_NE(actuator.error().message.find(lacking), std::string::npos)
        << actuator.error().message;
  }
  system.actuator.kind = "exec";
  system.min_replicas = 5;
  system.max_replicas = 2;
  auto inverted = makeActuator(system);
  ASSERT_FALSE(inverted.ok());
  EXPECT_NE(inverted.error().message.find("do not form a range"), std::string::npos);
  system.min_replicas = 1;
  system.max_replicas = 2;
  system.actuator.command.clear();
  auto no_command = makeActuator(system);
  ASSERT_FALSE(no_command.ok());
  EXPECT_NE(no_command.error().message.find("needs 'command'"), std::string::npos);
  EXPECT_EQ(supportedActuators(), (std::vector<std::string>{"process-pool", "exec", "systemd",
                                                            "cgroup", "docker", "kubernetes"}));
}

TEST(Subprocess, SubstitutesOnlyKnownPlaceholders) {
  auto args = substituteArgs({"--port={index}0", "{unknown}", "{system}-{index}", "{"},
                             {{"index", "7"}, {"system", "web"}});
  EXPECT_EQ(args, (std::vector<std::string>{"--port=70", "{unknown}", "web-7", "{"}));
}

}  // namespace
}  // namespace pso::agent
