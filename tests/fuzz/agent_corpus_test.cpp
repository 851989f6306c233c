// Runs every seed of the agent's fuzz corpora (tests/fuzz/corpus/
// prometheus_text, proc_text, sampler_files, http_response, http_url,
// http_request) through
// the same checks as the libFuzzer harnesses, so every build exercises them
// without libFuzzer.

#include <gtest/gtest.h>

#include <functional>
#include <string>

#include "agent/proc_text.h"
#include "agent/prometheus_text.h"
#include "tests/fuzz/agent_fuzz_targets.h"
#include "tests/fuzz/http_fuzz_targets.h"
#include "tests/support/fuzz_corpus.h"

namespace pso::agent::fuzz {
namespace {

int runCorpus(const std::string& name, const std::function<bool(std::string_view)>& check) {
  const auto seeds = pso::testing::readFuzzCorpus(PSO_SOURCE_DIR, name);
  EXPECT_TRUE(seeds.has_value()) << "no tests/fuzz/corpus/" << name;
  if (!seeds) return 0;
  for (const auto& seed : *seeds) EXPECT_TRUE(check(seed.bytes)) << seed.name;
  return static_cast<int>(seeds->size());
}

TEST(AgentFuzzCorpus, EveryPrometheusTextSeedKeepsTheParserContract) {
  EXPECT_GE(runCorpus("prometheus_text", checkPrometheusText), 8);
}

TEST(AgentFuzzCorpus, EveryProcTextSeedKeepsTheParserContract) {
  EXPECT_GE(runCorpus("proc_text", checkProcText), 6);
}

TEST(AgentFuzzCorpus, EverySamplerFilesSeedKeepsTheSamplerContract) {
  EXPECT_GE(runCorpus("sampler_files", checkSamplerFiles), 4);
}

TEST(AgentFuzzCorpus, EveryHttpResponseSeedKeepsTheParserContract) {
  EXPECT_GE(runCorpus("http_response", checkHttpResponse), 30);
}

TEST(AgentFuzzCorpus, EveryHttpUrlSeedKeepsTheParserContract) {
  EXPECT_GE(runCorpus("http_url", checkHttpUrl), 8);
}

TEST(AgentFuzzCorpus, EveryHttpRequestSeedKeepsTheParserContract) {
  EXPECT_GE(runCorpus("http_request", checkHttpRequest), 12);
}

// What the seeds guard, asserted directly: malformed content is refused with
// the place named, and a non-finite number is refused rather than sampled
// (the protocol would refuse the whole batch carrying it).
TEST(AgentFuzzCorpus, MalformedAndNonFiniteContentIsRefusedNamingWhere) {
  auto labels = selectMetric("up{job=\"web\" 1\n", "up", {}, "http://x/metrics");
  ASSERT_FALSE(labels.ok());
  EXPECT_EQ(labels.error().code, "malformed");
  EXPECT_EQ(labels.error().message.rfind("http://x/metrics:1: expected", 0), 0u)
      << labels.error().message;

  auto nan = parsePressure("/proc/pressure/cpu", "some avg10=nan avg60=0 avg300=0 total=0\n");
  ASSERT_FALSE(nan.ok());
  EXPECT_EQ(nan.error().message.rfind("/proc/pressure/cpu:1: expected", 0), 0u)
      << nan.error().message;
  EXPECT_FALSE(parsePressure("p", "some avg10=inf\n").ok());

  EXPECT_TRUE(
      checkSamplerFiles(std::string("usage_usec 1\0max 1\0"
                                    "1\0max\0\0\0"
                                    "some avg10=nan avg60=0 avg300=0 total=0\n",
                                    67)));
}

}  // namespace
}  // namespace pso::agent::fuzz
