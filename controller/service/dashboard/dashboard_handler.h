#pragma once

// GET / and GET /ui/{asset}: the web dashboard (docs/dashboard.md). The page
// and its script, style sheet and icon are built into the binary; they hold
// no fleet data (the script reads the JSON API with the caller's token), so
// their routes need no role.

#include <optional>
#include <string_view>

#include "controller/service/api/router.h"

namespace pso::controller::service {

/// The Content-Security-Policy of every dashboard response: nothing but this
/// controller may provide scripts, styles, images or connections, no inline
/// script or style runs, and no other site may frame the page.
inline constexpr std::string_view kDashboardContentSecurityPolicy =
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'";

/// The Content-Type for an asset's file name, from its extension; nullopt
/// for an extension the dashboard does not serve.
std::optional<std::string_view> dashboardContentType(std::string_view name);

/// The page (index.html) with `Cache-Control: no-cache`, so a browser always
/// asks for the page and learns the current asset version from it.
HttpResponse serveDashboardPage(const ApiRequest& request);

/// The asset named by the "asset" path segment; 404 for an unknown name and
/// for the page itself (served at "/" only). Cached for a year, immutable,
/// when the request's "v" matches dashboardAssetVersion() (the URL then names
/// these exact bytes); otherwise `no-cache`.
HttpResponse serveDashboardAsset(const ApiRequest& request);

}  // namespace pso::controller::service
