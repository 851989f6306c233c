#include "tests/controller/store/store_fixture.h"

#include <algorithm>
#include <string>
#include <vector>

namespace pso::controller::store {
namespace {

class DirectiveStoreTest : public StoreTest {};

TEST_P(DirectiveStoreTest, DirectiveLifecycle) {
  ASSERT_TRUE(store_->upsertAgent(hello("edge-01", 2), 1000).ok());
  ASSERT_TRUE(store_->insertDirective(directive("d-1", "engine", 5, 2000)).ok());
  ASSERT_TRUE(store_->insertDirective(directive("d-2", "engine", 6, 3000)).ok());

  auto again = store_->insertDirective(directive("d-1", "engine", 5, 2000));
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code, "exists");

  auto pending = store_->pendingDirectives();
  ASSERT_TRUE(pending.ok());
  ASSERT_EQ(pending->size(), 2u);
  EXPECT_EQ((*pending)[0].id, "d-1");

  ASSERT_TRUE(store_->markDirectiveSent("d-1", 2100).ok());
  auto d1 = store_->directive("d-1");
  ASSERT_TRUE(d1.ok() && d1->has_value());
  EXPECT_EQ((*d1)->status, "sent");
  EXPECT_EQ((*d1)->sent_ms, 2100);
  pending = store_->pendingDirectives();
  ASSERT_TRUE(pending.ok());
  ASSERT_EQ(pending->size(), 1u);
  EXPECT_EQ((*pending)[0].id, "d-2");

  protocol::DirectiveResult result = appliedResult("d-1", 5, 2500);

  protocol::DirectiveResult forged = result;
  forged.agent_id = "edge-99";
  auto refused = store_->recordDirectiveResult(forged);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, "forbidden");

  ASSERT_TRUE(store_->recordDirectiveResult(result).ok());
  d1 = store_->directive("d-1");
  ASSERT_TRUE(d1.ok() && d1->has_value());
  EXPECT_EQ((*d1)->status, "applied");
  EXPECT_EQ((*d1)->result_replicas, 5);
  EXPECT_EQ((*d1)->result_message, "scaled to 5");
  EXPECT_EQ((*d1)->result_ms, 2500);
  auto web = store_->system("web");
  ASSERT_TRUE(web.ok() && web->has_value());
  EXPECT_EQ((*web)->replicas, 5);

  // A late "sent" mark does not undo the result.
  ASSERT_TRUE(store_->markDirectiveSent("d-1", 2600).ok());
  d1 = store_->directive("d-1");
  ASSERT_TRUE(d1.ok() && d1->has_value());
  EXPECT_EQ((*d1)->status, "applied");

  result.directive_id = "d-404";
  auto unknown = store_->recordDirectiveResult(result);
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.error().code, "not_found");

  ASSERT_TRUE(store_->setDirectiveStatus("d-2", "expired", "deadline passed", 9000).ok());
  auto d2 = store_->directive("d-2");
  ASSERT_TRUE(d2.ok() && d2->has_value());
  EXPECT_EQ((*d2)->status, "expired");
  EXPECT_EQ((*d2)->result_message, "deadline passed");
  EXPECT_EQ((*d2)->result_ms, 9000);

  auto bad_status = store_->setDirectiveStatus("d-2", "exploded", "", 9000);
  ASSERT_FALSE(bad_status.ok());
  EXPECT_EQ(bad_status.error().code, "invalid");
  auto missing = store_->markDirectiveSent("d-404", 1);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, "not_found");

  auto listed = store_->directives(10, "web");
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->size(), 2u);
  EXPECT_EQ((*listed)[0].id, "d-2");
  auto limited = store_->directives(1);
  ASSERT_TRUE(limited.ok());
  ASSERT_EQ(limited->size(), 1u);
  auto other = store_->directives(10, "api");
  ASSERT_TRUE(other.ok());
  EXPECT_TRUE(other->empty());
}

TEST_P(DirectiveStoreTest, OperatorHoldsAreActiveUntilTheyExpire) {
  ASSERT_TRUE(store_->insertDirective(directive("op-1", "operator", 5, 1000, 10000)).ok());
  ASSERT_TRUE(store_->insertDirective(directive("eng-1", "engine", 9, 3000, 50000)).ok());

  auto hold = store_->activeHold("web", 5000);
  ASSERT_TRUE(hold.ok() && hold->has_value());
  EXPECT_EQ((*hold)->id, "op-1");
  EXPECT_EQ((*hold)->replicas, 5);

  auto expired = store_->activeHold("web", 10000);
  ASSERT_TRUE(expired.ok());
  EXPECT_FALSE(expired->has_value());

  // The latest operator directive wins; a refused one holds nothing.
  ASSERT_TRUE(store_->insertDirective(directive("op-2", "operator", 7, 2000, 20000)).ok());
  hold = store_->activeHold("web", 5000);
  ASSERT_TRUE(hold.ok() && hold->has_value());
  EXPECT_EQ((*hold)->id, "op-2");
  ASSERT_TRUE(store_->setDirectiveStatus("op-2", "refused", "above max_replicas", 2100).ok());
  hold = store_->activeHold("web", 5000);
  ASSERT_TRUE(hold.ok() && hold->has_value());
  EXPECT_EQ((*hold)->id, "op-1");

  auto other = store_->activeHold("api", 5000);
  ASSERT_TRUE(other.ok());
  EXPECT_FALSE(other->has_value());
}

TEST_P(DirectiveStoreTest, HoldsOfAFleetMatchTheHoldOfEachSystem) {
  auto api_hold = directive("op-api", "operator", 3, 1000, 9000);
  api_hold.system = "api";
  ASSERT_TRUE(store_->insertDirective(directive("op-1", "operator", 5, 1000, 10000)).ok());
  ASSERT_TRUE(store_->insertDirective(directive("op-2", "operator", 7, 2000, 20000)).ok());
  ASSERT_TRUE(store_->insertDirective(api_hold).ok());
  ASSERT_TRUE(store_->insertDirective(directive("eng-1", "engine", 9, 3000, 50000)).ok());

  for (int64_t now : {5000, 9500, 15000, 25000}) {
    auto holds = store_->activeHolds({"web", "api", "db"}, now);
    ASSERT_TRUE(holds.ok()) << holds.error().message;
    for (const std::string system : {"web", "api", "db"}) {
      auto one = store_->activeHold(system, now);
      ASSERT_TRUE(one.ok());
      ASSERT_EQ(holds->contains(system), one->has_value()) << system << " at " << now;
      if (one->has_value()) {
        EXPECT_EQ(holds->at(system).id, (*one)->id) << system << " at " << now;
      }
    }
  }
  auto at_9500 = store_->activeHolds({"web", "api"}, 9500);
  ASSERT_TRUE(at_9500.ok());
  EXPECT_EQ(at_9500->at("web").id, "op-2");
  EXPECT_FALSE(at_9500->contains("api")) << "api's hold ended at 9 s";
}

TEST_P(DirectiveStoreTest, AHoldOrAReleaseIsNotInForceBeforeItWasMade) {
  // A replay of a past window asks about times before the directives were made.
  ASSERT_TRUE(store_->insertDirective(directive("op-1", "operator", 5, 4000, 20000)).ok());
  auto release = directive("op-2", "operator", -1, 8000);
  release.action = "release";
  ASSERT_TRUE(store_->insertDirective(release).ok());
  const std::vector<std::pair<int64_t, bool>> expected = {
      {3999, false}, {4000, true}, {7999, true}, {8000, false}, {15000, false}};
  for (const auto& [now, held] : expected) {
    auto one = store_->activeHold("web", now);
    ASSERT_TRUE(one.ok()) << one.error().message;
    EXPECT_EQ(one->has_value(), held) << "at " << now;
    auto many = store_->activeHolds({"web"}, now);
    ASSERT_TRUE(many.ok()) << many.error().message;
    EXPECT_EQ(many->contains("web"), held) << "at " << now;
  }
}

TEST_P(DirectiveStoreTest, ADirectiveRefusedInAFleetsInsertKeepsNoOtherOut) {
  ASSERT_TRUE(store_->insertDirective(directive("d-1", "engine", 5, 1000)).ok());
  auto unknown = directive("d-3", "engine", 4, 1000);
  unknown.status = "bogus";
  auto statuses = store_->insertDirectives({directive("d-1", "engine", 6, 2000),
                                            directive("d-2", "engine", 6, 2000), unknown,
                                            directive("d-4", "engine", 7, 2000)});
  ASSERT_TRUE(statuses.ok()) << statuses.error().message;
  ASSERT_EQ(statuses->size(), 4u);
  ASSERT_FALSE((*statuses)[0].ok());
  EXPECT_EQ((*statuses)[0].error().code, "exists");
  EXPECT_TRUE((*statuses)[1].ok());
  ASSERT_FALSE((*statuses)[2].ok());
  EXPECT_EQ((*statuses)[2].error().code, "invalid");
  EXPECT_TRUE((*statuses)[3].ok());

  auto d1 = store_->directive("d-1");
  ASSERT_TRUE(d1.ok() && d1->has_value());
  EXPECT_EQ((*d1)->replicas, 5) << "the stored directive is not replaced";
  for (const char* id : {"d-2", "d-4"}) {
    auto stored = store_->directive(id);
    ASSERT_TRUE(stored.ok() && stored->has_value()) << id;
  }
  auto d3 = store_->directive("d-3");
  ASSERT_TRUE(d3.ok());
  EXPECT_FALSE(d3->has_value());
}

TEST_P(DirectiveStoreTest, RetentionKeepsDirectivesAwaitingTheirAgentAndHoldsInForce) {
  ASSERT_TRUE(store_->upsertAgent(hello("edge-01", 2), 1000).ok());
  // All created before the cutoff (10,000); now is 100,000.
  ASSERT_TRUE(store_->insertDirective(directive("done", "engine", 5, 1000)).ok());
  ASSERT_TRUE(store_->recordDirectiveResult(appliedResult("done", 5, 1500)).ok());
  ASSERT_TRUE(store_->insertDirective(directive("waiting", "engine", 6, 2000)).ok());
  ASSERT_TRUE(store_->insertDirective(directive("sent", "engine", 6, 2500)).ok());
  ASSERT_TRUE(store_->markDirectiveSent("sent", 2600).ok());
  ASSERT_TRUE(store_->insertDirective(directive("holding", "operator", 4, 3000, 200000)).ok());
  ASSERT_TRUE(store_->recordDirectiveResult(appliedResult("holding", 4, 3100)).ok());
  ASSERT_TRUE(store_->insertDirective(directive("held", "operator", 4, 4000, 50000)).ok());
  ASSERT_TRUE(store_->recordDirectiveResult(appliedResult("held", 4, 4100)).ok());
  // After the cutoff.
  ASSERT_TRUE(store_->insertDirective(directive("recent", "engine", 7, 20000)).ok());
  ASSERT_TRUE(store_->recordDirectiveResult(appliedResult("recent", 7, 20100)).ok());

  auto pruned = store_->pruneDirectives(10000, 100000);
  ASSERT_TRUE(pruned.ok()) << pruned.error().message;
  EXPECT_EQ(*pruned, 2);  // done, and the hold that ended at 50,000
  std::vector<std::string> left;
  auto all = store_->directives(0);
  ASSERT_TRUE(all.ok());
  for (const auto& d : *all) left.push_back(d.id);
  std::sort(left.begin(), left.end());
  EXPECT_EQ(left, (std::vector<std::string>{"holding", "recent", "sent", "waiting"}));
  auto hold = store_->activeHold("web", 100000);
  ASSERT_TRUE(hold.ok() && hold->has_value());
  EXPECT_EQ((*hold)->id, "holding");
}

PSO_STORE_TEST_ON_EVERY_BACKEND(DirectiveStoreTest);

}  // namespace
}  // namespace pso::controller::store
