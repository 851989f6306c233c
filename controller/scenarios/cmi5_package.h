#pragma once

// The cmi5 course package (cmi5 specification, "Course Structure" and
// "Content Launch Mechanisms"; issue 15 item 5): the course of the
// scenarios (course.h) as a zip an LMS imports.
//
// Layout:
//   cmi5.xml            course structure, valid against the cmi5
//                       CourseStructure.xsd: one objective and one block per
//                       learning level in teaching order, one AU per lesson;
//                       a block names the level it requires in a
//                       <pso:prerequisites> element (cmi5 has no sequencing of
//                       its own, so the LMS shows it; the description says it too)
//   au/course-overview.html
//                       the first AU, at the course's top level: the learning
//                       path, the quiet cycles and the question mix
//                       (moveOn="NotApplicable"; the only AU of a course whose
//                       scenarios were all quiet)
//   au/<lesson>.html    one assignable unit per lesson: the lesson (situation,
//                       chart, forecast, decision, debrief) and its questions
//                       as a form, the keys and xAPI interaction definitions
//                       embedded as JSON
//   au/cmi5-au.js       the AU runtime (cmi5AuScript())
//
// An AU with questions has moveOn="CompletedAndPassed" and the course's
// masteryScore; one without questions has moveOn="Completed". Launched with
// the cmi5 launch parameters (endpoint, fetch, registration, activityId,
// actor) the runtime POSTs to the fetch URL for the auth token, reads the
// LMS.LaunchData state document, and sends, each with the LMS's registration
// and its contextTemplate: initialized; on submission one "answered" per
// question (the same activity ids and interaction definitions as the xapi
// export), then passed or failed against the masteryScore (the LMS's
// LaunchData value wins over the package's), completed; terminated. In
// Browse or Review launch mode it sends only initialized and terminated.

#include <string>
#include <utility>
#include <vector>

#include "controller/scenarios/course.h"
#include "controller/scenarios/exporter.h"

namespace pso::controller::scenarios {

struct Cmi5Options {
  /// Prefix of the course's ids (course, blocks, AUs, objectives) and of the
  /// question activities (as `psoctl scenarios grade --activity-base`).
  std::string activity_base = "https://pso-prime.example.org/xapi";
  CourseOptions course;
};

/// One file of a package: path inside the zip, content.
using PackageFile = std::pair<std::string, std::string>;

/// cmi5.xml of a course.
std::string cmi5CourseStructure(const Course& course, const Cmi5Options& options);
/// Every file of the package, cmi5.xml first.
std::vector<PackageFile> cmi5PackageFiles(const Course& course, const Cmi5Options& options);
/// The AU runtime, au/cmi5-au.js.
std::string_view cmi5AuScript();

/// "cmi5": the package as a zip (stored entries, zip_writer.h). write()
/// puts it in one file atomically (--out course.zip); over HTTP the zip is
/// the response body.
class Cmi5Exporter : public ScenarioExporter {
 public:
  explicit Cmi5Exporter(Cmi5Options options = {}) : options_(std::move(options)) {}
  std::string format() const override { return "cmi5"; }
  std::string contentType() const override { return "application/zip"; }
  /// Returns the number of scenarios read.
  [[nodiscard]] Result<std::size_t> writeTo(const std::vector<store::ScenarioRecord>& scenarios,
                                            std::ostream& out) const override;

 private:
  Cmi5Options options_;
};

}  // namespace pso::controller::scenarios
