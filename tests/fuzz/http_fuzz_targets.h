#pragma once

// The checks behind the fuzz harnesses of the agent's built-in HTTP client
// (agent/http/), shared by the libFuzzer executables (built with PSO_FUZZ)
// and by agent_corpus_test, which runs every seed through them in each
// build. Each returns true when the parser kept its contract on `input`.

#include <string_view>

namespace pso::agent::fuzz {

/// ResponseParser over a response. The first line of `input` holds options
/// ("HEAD" for the answer to a HEAD request, "max_body=N", "max_head=N"); the
/// rest is the bytes the server sent before closing. The bytes are fed at
/// once, one at a time and in uneven pieces: the three outcomes must be
/// identical, a refusal must be one line with a known code, and a success
/// must be consistent with its framing and limits.
bool checkHttpResponse(std::string_view input);

/// parsePlainUrl() over `input` as a URL: a refusal is one "URL ...: why"
/// line; an accepted URL has a host, a port, a target starting with '/', no
/// byte that could break a request line, and parses again to the same parts.
bool checkHttpUrl(std::string_view input);

/// parseRequestHead() (the metrics listener's request parser) over a
/// request. The first line of `input` holds options ("max_head=N",
/// "max_headers=N"); the rest is the bytes a client sent. A refusal must be
/// one line with code malformed or too_large; an incomplete head must be
/// within the limit and hold no empty line; a complete head must be within
/// the limit, have a token method, a path starting with '/' without spaces or
/// control bytes, HTTP/1.0 or 1.1, lower-case token header names and values
/// without CR, LF or NUL, and parse to the same head from its own bytes,
/// while every shorter prefix of them is incomplete.
bool checkHttpRequest(std::string_view input);

}  // namespace pso::agent::fuzz
