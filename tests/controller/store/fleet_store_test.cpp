#include "tests/controller/store/store_fixture.h"

#include <string>
#include <vector>

namespace pso::controller::store {
namespace {

class FleetStoreTest : public StoreTest {};

TEST_P(FleetStoreTest, UpsertAgentStoresAgentAndSystems) {
  ASSERT_TRUE(store_->upsertAgent(hello("edge-01", 3), 1000).ok());
  auto agent = store_->agent("edge-01");
  ASSERT_TRUE(agent.ok());
  ASSERT_TRUE(agent->has_value());
  EXPECT_EQ((*agent)->version, "1.2.3");
  EXPECT_TRUE((*agent)->connected);
  EXPECT_EQ((*agent)->first_seen_ms, 1000);
  EXPECT_NE((*agent)->host_facts_json.find("\"hostname\":\"edge-01\""), std::string::npos);

  auto systems = store_->systems();
  ASSERT_TRUE(systems.ok());
  ASSERT_EQ(systems->size(), 1u);
  const auto& web = systems->front();
  EXPECT_EQ(web.name, "web");
  EXPECT_EQ(web.agent_id, "edge-01");
  EXPECT_EQ(web.replicas, 3);
  EXPECT_EQ(web.info.actuator, "process-pool");
  EXPECT_EQ(web.info.max_replicas, 20);
  EXPECT_DOUBLE_EQ(web.info.capacity_per_replica, 120);
  EXPECT_EQ(web.info.warmup_ms, 30000);
  EXPECT_EQ(web.info.depends_on, (std::vector<std::string>{"api", "db"}));

  // A second hello keeps first_seen and the stored seq, updates the rest.
  ASSERT_TRUE(store_->ingestTelemetry(batch("edge-01", 1, {1000}, {5}), kNowMs).ok());
  ASSERT_TRUE(store_->setAgentConnected("edge-01", false, 2000).ok());
  ASSERT_TRUE(store_->upsertAgent(hello("edge-01", 4), 3000).ok());
  agent = store_->agent("edge-01");
  ASSERT_TRUE(agent.ok() && agent->has_value());
  EXPECT_EQ((*agent)->first_seen_ms, 1000);
  EXPECT_EQ((*agent)->last_seen_ms, 3000);
  EXPECT_EQ((*agent)->last_seq, 1u);
  EXPECT_TRUE((*agent)->connected);
  auto one = store_->system("web");
  ASSERT_TRUE(one.ok() && one->has_value());
  EXPECT_EQ((*one)->replicas, 4);

  auto missing = store_->setAgentConnected("nobody", true, 1);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, "not_found");
}

TEST_P(FleetStoreTest, ASystemBelongsToTheFirstAgentThatDeclaredIt) {
  auto first = store_->upsertAgent(hello("edge-01", 3), 1000);
  ASSERT_TRUE(first.ok()) << first.error().message;
  EXPECT_TRUE(first->empty());

  // edge-02 declares web too, with other bounds, and api, which is free.
  protocol::Hello second = hello("edge-02", 9);
  second.systems.front().max_replicas = 99;
  second.systems.push_back(second.systems.front());
  second.systems.back().name = "api";
  auto conflicts = store_->upsertAgent(second, 2000);
  ASSERT_TRUE(conflicts.ok()) << conflicts.error().message;
  EXPECT_EQ(*conflicts, (std::vector<SystemConflict>{{"web", "edge-01"}}));

  auto web = store_->system("web");
  ASSERT_TRUE(web.ok() && web->has_value());
  EXPECT_EQ((*web)->agent_id, "edge-01");
  EXPECT_EQ((*web)->info.max_replicas, 20);
  EXPECT_EQ((*web)->replicas, 3);
  EXPECT_EQ((*web)->updated_ms, 1000);
  auto api = store_->system("api");
  ASSERT_TRUE(api.ok() && api->has_value());
  EXPECT_EQ((*api)->agent_id, "edge-02");

  // The conflicts are kept with the agent, across a restart.
  reopen();
  auto agents = store_->agents();
  ASSERT_TRUE(agents.ok());
  ASSERT_EQ(agents->size(), 2u);
  EXPECT_TRUE((*agents)[0].conflicts.empty());
  EXPECT_EQ((*agents)[1].conflicts, (std::vector<SystemConflict>{{"web", "edge-01"}}));

  // The owner still updates its system; each hello replaces the conflicts.
  ASSERT_TRUE(store_->upsertAgent(hello("edge-01", 5), 3000).ok());
  web = store_->system("web");
  ASSERT_TRUE(web.ok() && web->has_value());
  EXPECT_EQ((*web)->replicas, 5);
  second.systems.erase(second.systems.begin());
  auto cleared = store_->upsertAgent(second, 4000);
  ASSERT_TRUE(cleared.ok());
  EXPECT_TRUE(cleared->empty());
  auto agent = store_->agent("edge-02");
  ASSERT_TRUE(agent.ok() && agent->has_value());
  EXPECT_TRUE((*agent)->conflicts.empty());
}

TEST_P(FleetStoreTest, HealthKeepsTheLatestResultPerCheck) {
  protocol::Health h;
  h.agent_id = "edge-01";
  h.checks = {{"web", "http:/healthz", "ok", 3.5, "", 1000},
              {"web", "tcp:5432", "failing", 0, "connection refused", 1000},
              {"api", "http:/ready", "ok", 1, "", 1000}};
  ASSERT_TRUE(store_->recordHealth(h).ok());
  h.checks = {{"web", "http:/healthz", "failing", 2000, "timeout", 2000}};
  ASSERT_TRUE(store_->recordHealth(h).ok());

  auto web = store_->health("web");
  ASSERT_TRUE(web.ok());
  ASSERT_EQ(web->size(), 2u);
  EXPECT_EQ((*web)[0].check, "http:/healthz");
  EXPECT_EQ((*web)[0].status, "failing");
  EXPECT_EQ((*web)[0].error, "timeout");
  EXPECT_EQ((*web)[0].ts_ms, 2000);
  EXPECT_EQ((*web)[1].error, "connection refused");
  auto all = store_->allHealth();
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 3u);
  EXPECT_EQ((*all)[0].system, "api");
}

PSO_STORE_TEST_ON_EVERY_BACKEND(FleetStoreTest);

}  // namespace
}  // namespace pso::controller::store
