#pragma once

// The web dashboard's files as built into the controller: generated at build
// time from controller/service/dashboard/assets/ by embed_assets.cmake, so
// serving them never touches the file system.

#include <span>
#include <string_view>

namespace pso::controller::service {

/// One file of the dashboard.
struct DashboardAsset {
  std::string_view name;  ///< file name, e.g. "app.js"; unique
  std::string_view body;  ///< its bytes; static storage, never empty
};

/// Every asset, "index.html" (the page) among them, in a fixed order.
std::span<const DashboardAsset> dashboardAssets();

/// A short hash of every asset but the page, already written into the page's
/// asset URLs ("/ui/app.js?v=<version>"); it changes whenever an asset does.
std::string_view dashboardAssetVersion();

}  // namespace pso::controller::service
