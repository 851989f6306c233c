#include "controller/scenarios/course.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <set>
#include <sstream>

#include "controller/engine/wording.h"
#include "controller/scenarios/lesson_directory.h"
#include "controller/scenarios/scenario.h"
#include "controller/scenarios/scenario_text.h"

namespace pso::controller::scenarios {
namespace {

using engine::CoordinationKind;
using engine::GuardrailKind;

bool hasEvent(const Lesson& lesson, const char* event) {
  return std::find(lesson.events.begin(), lesson.events.end(), event) != lesson.events.end();
}

std::string lessonKind(const Lesson& lesson) {
  bool pool = false, dependency = false, hold = false, guardrail = false, up = false, down = false;
  for (const auto& sys : lesson.systems) {
    if (!sys.decision) continue;
    const LessonDecision& d = *sys.decision;
    for (const auto& c : d.coordination) {
      pool |= c.kind == CoordinationKind::kPool;
      dependency |= c.kind == CoordinationKind::kDependency;
    }
    for (const auto& g : d.guardrails) {
      hold |= g.kind == GuardrailKind::kOperatorHold;
      guardrail |= g.kind != GuardrailKind::kOperatorHold && g.kind != GuardrailKind::kForecastOnly;
    }
    up |= d.desired > d.current;
    down |= d.desired < d.current;
  }
  if (pool) return "pool_share";
  if (dependency) return "dependency";
  if (hold) return "operator_hold";
  if (hasEvent(lesson, kEventBottleneckPrevented)) return "bottleneck_prevented";
  if (guardrail) return "guardrail";
  if (up) return "scale_up";
  if (down) return "scale_down";
  return "steady";
}

std::string changeBucket(int64_t delta) {
  if (delta == 0) return "=";
  const std::string sign = delta > 0 ? "+" : "-";
  const int64_t size = std::llabs(delta);
  return sign + (size == 1 ? "1" : size <= 3 ? "2-3" : "4+");
}

// Lessons with the same signature teach the same thing: the system names and
// the exact numbers are left out, the facts that shaped the decision kept.
std::string signature(const Lesson& lesson, const std::string& kind) {
  std::vector<std::string> systems;
  for (const auto& sys : lesson.systems) {
    // A system that kept its count untouched and saw no bottleneck is the
    // background of the lesson, not what it teaches.
    const bool background = sys.decision && sys.decision->desired == sys.decision->current &&
                            sys.decision->guardrails.empty() &&
                            sys.decision->coordination.empty() &&
                            !(sys.forecast && sys.forecast->bottleneck);
    if (background) continue;
    std::ostringstream s;
    if (sys.decision) {
      const LessonDecision& d = *sys.decision;
      s << changeBucket(d.desired - d.current) << ' ' << d.rule_code;
      for (const auto& g : d.guardrails) s << " g:" << engine::guardrailCode(g.kind);
      for (const auto& c : d.coordination) s << " c:" << engine::coordinationCode(c.kind);
    }
    if (sys.reactive) {
      s << " hpa:" << (sys.reactive->differs ? "differs" : "agrees");
      if (sys.reactive->facts) s << ':' << engine::reactiveReasonCode(sys.reactive->facts->reason);
    }
    if (sys.forecast && sys.forecast->bottleneck)
      s << " bottleneck:" << sys.forecast->bottleneck->kind;
    if (sys.debrief) {
      s << " overload:" << sys.debrief->overload;
      if (sys.debrief->bottleneck_avoided) s << " avoided:" << *sys.debrief->bottleneck_avoided;
    }
    systems.push_back(s.str());
  }
  std::sort(systems.begin(), systems.end());
  std::ostringstream out;
  out << lesson.level << '|' << kind << '|' << join(lesson.events, ",") << '|'
      << join(systems, ";");
  if (lesson.debrief) {
    out << "|wrong:" << !lesson.debrief->went_wrong.empty()
        << "|lucky:" << !lesson.debrief->got_lucky.empty();
  }
  return out.str();
}

// What makes a lesson worth teaching first: rarer events, a debrief with
// something that went wrong or was luck, effects that changed the count, an
// HPA rule that would have done otherwise, questions to practise on.
double lessonScore(const Lesson& lesson) {
  double score = 0.0;
  if (hasEvent(lesson, kEventBottleneckPrevented)) score += 4.0;
  if (hasEvent(lesson, kEventCoordinationOptimized)) score += 3.0;
  if (hasEvent(lesson, kEventWorkflowEnhanced)) score += 2.0;
  if (hasEvent(lesson, kEventScalingExecuted)) score += 1.0;
  if (lesson.debrief) {
    score += 1.0;
    if (!lesson.debrief->went_wrong.empty()) score += 1.5;
    if (!lesson.debrief->got_lucky.empty()) score += 1.0;
  }
  std::size_t effects = 0;
  bool differs = false;
  std::size_t acting = 0;
  for (const auto& sys : lesson.systems) {
    if (sys.decision) {
      effects += sys.decision->guardrails.size() + sys.decision->coordination.size();
      if (sys.decision->desired != sys.decision->current) ++acting;
    }
    differs |= sys.reactive && sys.reactive->differs;
  }
  score += 0.5 * static_cast<double>(std::min<std::size_t>(effects, 3));
  if (differs) score += 1.0;
  if (acting > 1) score += 0.25 * static_cast<double>(std::min<std::size_t>(acting - 1, 4));
  score += 0.25 * static_cast<double>(std::min<std::size_t>(lesson.questions.size(), 4));
  return score;
}

void addQuiet(QuietSummary& quiet, const Lesson& lesson, int64_t& first_ms, int64_t& last_ms) {
  if (quiet.cycles == 0 || lesson.ts_ms < first_ms) {
    first_ms = lesson.ts_ms;
    quiet.from = lesson.time;
  }
  if (quiet.cycles == 0 || lesson.ts_ms >= last_ms) {
    last_ms = lesson.ts_ms;
    quiet.to = lesson.time;
  }
  ++quiet.cycles;
  for (const auto& sys : lesson.systems) {
    if (std::find(quiet.systems.begin(), quiet.systems.end(), sys.name) == quiet.systems.end()) {
      quiet.systems.push_back(sys.name);
    }
    if (std::isfinite(sys.demand)) {
      quiet.min_demand =
          std::isfinite(quiet.min_demand) ? std::min(quiet.min_demand, sys.demand) : sys.demand;
      quiet.max_demand =
          std::isfinite(quiet.max_demand) ? std::max(quiet.max_demand, sys.demand) : sys.demand;
    }
    if (sys.current) {
      auto [it, fresh] = quiet.replicas.try_emplace(sys.name, *sys.current, *sys.current);
      if (!fresh) {
        it->second.first = std::min(it->second.first, *sys.current);
        it->second.second = std::max(it->second.second, *sys.current);
      }
    }
  }
  // Named unchanged: its counts are those of the scenario that describes it.
  for (const auto& [name, since] : lesson.unchanged) {
    if (std::find(quiet.systems.begin(), quiet.systems.end(), name) == quiet.systems.end()) {
      quiet.systems.push_back(name);
    }
  }
}

// Lessons of one level, best of each kind first: kinds in turn (the kind
// with the best lesson first), each kind's lessons by score.
std::vector<CourseLesson> orderLevel(std::vector<CourseLesson> lessons, std::size_t limit,
                                     std::size_t& not_selected) {
  std::map<std::string, std::vector<CourseLesson>> by_kind;
  for (auto& l : lessons) by_kind[l.kind].push_back(std::move(l));
  std::vector<std::vector<CourseLesson>*> kinds;
  for (auto& [kind, list] : by_kind) {
    std::stable_sort(list.begin(), list.end(), [](const CourseLesson& a, const CourseLesson& b) {
      return a.score > b.score;
    });
    kinds.push_back(&list);
  }
  std::stable_sort(kinds.begin(), kinds.end(), [](const auto* a, const auto* b) {
    return a->front().score > b->front().score;
  });
  std::vector<CourseLesson> out;
  std::size_t total = 0;
  for (const auto* list : kinds) total += list->size();
  for (std::size_t round = 0; out.size() < std::min(limit, total); ++round) {
    for (auto* list : kinds) {
      if (round < list->size() && out.size() < limit) out.push_back(std::move((*list)[round]));
    }
  }
  not_selected += total - out.size();
  return out;
}

// The most questions of one topic the course keeps: the largest cap with
// every topic at most `share` of what is kept. Each pass keeps min(count,
// cap) per topic and recomputes the cap from the new total; the total only
// falls, so this ends. When no mix is within the share (too few topics), the
// last cap above zero: as even a mix as the topics allow, and `within` false.
struct TopicCap {
  std::size_t cap = 0;  ///< 0: no questions
  bool within = true;
};

TopicCap topicCap(const std::map<std::string, std::size_t>& counts, double share) {
  std::size_t total = 0;
  for (const auto& [topic, n] : counts) total += n;
  std::size_t last = total;
  while (total > 0) {
    const auto cap =
        static_cast<std::size_t>(std::floor(share * static_cast<double>(total) + 1e-9));
    if (cap == 0) return {std::max<std::size_t>(last, 1), false};
    std::size_t kept = 0;
    for (const auto& [topic, n] : counts) kept += std::min(n, cap);
    if (kept == total) return {cap, true};
    total = kept;
    last = cap;
  }
  return {};
}

void balanceQuestions(Course& course, double share) {
  struct Ref {
    CourseLesson* lesson;
    std::size_t question;
    std::size_t order;
  };
  std::map<std::string, std::vector<Ref>> by_topic;
  std::size_t order = 0;
  for (auto& level : course.levels) {
    for (auto& l : level.lessons) {
      for (std::size_t q = 0; q < l.lesson.questions.size(); ++q) {
        by_topic[l.lesson.questions[q].topic].push_back({&l, q, order++});
      }
    }
  }
  std::map<std::string, std::size_t> counts;
  for (const auto& [topic, refs] : by_topic) counts[topic] = refs.size();
  const TopicCap cap = topicCap(counts, share);
  course.question_mix_within_share = cap.within;

  std::set<std::pair<const CourseLesson*, std::size_t>> kept;
  for (auto& [topic, refs] : by_topic) {
    // The questions of the best lessons stay; course order breaks ties.
    std::stable_sort(refs.begin(), refs.end(), [](const Ref& a, const Ref& b) {
      return a.lesson->score != b.lesson->score ? a.lesson->score > b.lesson->score
                                                : a.order < b.order;
    });
    const std::size_t keep = std::min(cap.cap, refs.size());
    for (std::size_t i = 0; i < keep; ++i) kept.insert({refs[i].lesson, refs[i].question});
    course.questions_by_kind[topic] = keep;
  }
  for (auto& level : course.levels) {
    for (auto& l : level.lessons) {
      std::vector<LessonQuestion> questions;
      for (std::size_t q = 0; q < l.lesson.questions.size(); ++q) {
        if (kept.count({&l, q}) > 0) questions.push_back(std::move(l.lesson.questions[q]));
      }
      l.questions_dropped = l.lesson.questions.size() - questions.size();
      l.lesson.questions = std::move(questions);
    }
  }
}

}  // namespace

std::size_t Course::lessonCount() const {
  std::size_t n = 0;
  for (const auto& level : levels) n += level.lessons.size();
  return n;
}

std::size_t Course::questionCount() const {
  std::size_t n = 0;
  for (const auto& level : levels) {
    for (const auto& l : level.lessons) n += l.lesson.questions.size();
  }
  return n;
}

Result<Course> buildCourse(const std::vector<store::ScenarioRecord>& scenarios,
                           const CourseOptions& options) {
  Course course;
  course.title = options.title;
  course.mastery_score = options.mastery_score;
  course.scenarios = scenarios.size();

  // Near-duplicates share a signature: one entry per signature, the best
  // lesson kept, the others named.
  std::map<std::string, std::vector<CourseLesson>> by_signature;
  std::vector<std::string> signatures;  // first-seen order, for a stable course
  int64_t first_ms = 0, last_ms = 0;
  Status read = forEachLesson(scenarios, [&](const Lesson& lesson) -> Status {
    if (lesson.quiet) {
      addQuiet(course.quiet, lesson, first_ms, last_ms);
      return {};
    }
    CourseLesson entry;
    entry.lesson = lesson;
    entry.kind = lessonKind(lesson);
    entry.score = lessonScore(lesson);
    const std::string key = signature(lesson, entry.kind);
    auto& group = by_signature[key];
    if (group.empty()) signatures.push_back(key);
    group.push_back(std::move(entry));
    return {};
  });
  if (!read.ok()) return read.error();

  std::map<std::string, std::vector<CourseLesson>> by_level;
  for (const auto& key : signatures) {
    auto& group = by_signature[key];
    auto best = std::max_element(
        group.begin(), group.end(),
        [](const CourseLesson& a, const CourseLesson& b) { return a.score < b.score; });
    CourseLesson chosen = std::move(*best);
    for (const auto& other : group) {
      if (&other != &*best) chosen.merged.push_back(other.lesson.id);
    }
    course.merged += chosen.merged.size();
    by_level[chosen.lesson.level].push_back(std::move(chosen));
  }

  for (const auto& level : curriculumOrder(by_level)) {
    CourseLevel entry;
    entry.level = level;
    entry.title = levelTitle(level);
    if (!course.levels.empty()) entry.prerequisites = {course.levels.back().level};
    entry.lessons =
        orderLevel(std::move(by_level[level]), options.max_lessons_per_level, course.not_selected);
    course.levels.push_back(std::move(entry));
  }
  balanceQuestions(course, options.max_question_kind_share);
  return course;
}

std::string kindTitle(const std::string& kind) {
  static const std::map<std::string, std::string> kTitles = {
      {"pool_share", "Sharing a pool"},
      {"dependency", "A rise passed down a dependency"},
      {"operator_hold", "An operator's hold"},
      {"bottleneck_prevented", "A bottleneck prevented"},
      {"guardrail", "A guardrail changed the plan"},
      {"scale_up", "Scaling up"},
      {"scale_down", "Scaling down"},
      {"steady", "Keeping the count"},
  };
  auto it = kTitles.find(kind);
  return it == kTitles.end() ? kind : it->second;
}

std::string levelGoal(const std::string& level) {
  if (level == kLevelFoundation) {
    return "One system, one action: read the demand, the forecast and its interval, and size "
           "the replicas for the planned demand.";
  }
  if (level == kLevelAdvancedOptimization) {
    return "Where planning on the forecast's interval beats the reactive HPA rule, and what the "
           "guardrails change.";
  }
  if (level == kLevelSystemIntegration) {
    return "Systems that call each other: a rise passed down a dependency before it arrives.";
  }
  if (level == kLevelEnterpriseCoordination) {
    return "Many systems, shared capacity and priorities: how a pool is divided when demand "
           "exceeds it.";
  }
  return "Scenarios of level " + level + ".";
}

std::string quietSentence(const QuietSummary& quiet) {
  if (quiet.cycles == 0) return "Every cycle read changed something: there were no quiet cycles.";
  std::ostringstream out;
  out << quiet.cycles << (quiet.cycles == 1 ? " quiet cycle" : " quiet cycles") << " (from "
      << quiet.from << " to " << quiet.to << ") changed nothing and are not lessons of their own: ";
  if (std::isfinite(quiet.min_demand)) {
    out << "demand stayed between " << formatNumber(quiet.min_demand) << " and "
        << formatNumber(quiet.max_demand) << ", ";
  }
  std::vector<std::string> held;
  for (const auto& [system, range] : quiet.replicas) {
    held.push_back(system + " " +
                   (range.first == range.second ? engine::formatReplicas(range.first)
                                                : std::to_string(range.first) + " to " +
                                                      std::to_string(range.second) + " replicas"));
  }
  out << (held.empty() ? "and the counts held."
                       : "and the counts held (" + join(held, ", ") + ").");
  out << " Keeping the count is a decision too: the forecast's planned demand fitted the ready "
         "capacity at the target.";
  return out.str();
}

}  // namespace pso::controller::scenarios
