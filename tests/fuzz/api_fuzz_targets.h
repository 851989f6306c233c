#pragma once

// The check behind the fuzz harness of the controller's HTTP API input: a
// request target through the API's router (its path splitting and
// %-decoding, its query parser), the query parameters every resource reads
// (limit, since/until, positive numbers) and the metric-family filter of
// /metrics. Shared by the libFuzzer executable (built with PSO_FUZZ) and by
// api_fuzz_corpus_test, which runs every seed through it in each build.

#include <string_view>

namespace pso::controller::fuzz {

/// `input` as the target of a GET (path and query, as a client sends it)
/// answered by a router with /metrics (a registry holding a few families)
/// and /q/{name} (limit, since/until and "ratio" read as the API reads
/// them). Holds when nothing throws; the status is 200, 400, 404 or 405; an
/// error is a JSON object whose "error" is one line; and a /metrics answer
/// holds no line that the whole page (without its name filter) does not.
bool checkApiRequest(std::string_view input);

}  // namespace pso::controller::fuzz
