#include "controller/service/dashboard/dashboard_handler.h"

#include <string>
#include <utility>

#include "controller/service/api/query.h"
#include "controller/service/api/response.h"
#include "controller/service/dashboard/dashboard_assets.h"

namespace pso::controller::service {

namespace {

constexpr std::string_view kPage = "index.html";

const DashboardAsset* findAsset(std::string_view name) {
  for (const auto& asset : dashboardAssets()) {
    if (asset.name == name) return &asset;
  }
  return nullptr;
}

HttpResponse assetResponse(const DashboardAsset& asset, std::string_view content_type,
                           std::string cache_control) {
  HttpResponse response{200, std::string(content_type), std::string(asset.body), {}};
  response.headers.emplace_back("Cache-Control", std::move(cache_control));
  response.headers.emplace_back("Content-Security-Policy",
                                std::string(kDashboardContentSecurityPolicy));
  // A browser must not guess another type than the one named (a script
  // served as text must not run), nor tell other sites which page linked them.
  response.headers.emplace_back("X-Content-Type-Options", "nosniff");
  response.headers.emplace_back("Referrer-Policy", "no-referrer");
  return response;
}

}  // namespace

std::optional<std::string_view> dashboardContentType(std::string_view name) {
  static constexpr std::pair<std::string_view, std::string_view> kTypes[] = {
      {".html", "text/html; charset=utf-8"},
      {".css", "text/css; charset=utf-8"},
      {".js", "text/javascript; charset=utf-8"},
      {".svg", "image/svg+xml"},
  };
  for (const auto& [extension, type] : kTypes) {
    if (name.size() > extension.size() && name.ends_with(extension)) return type;
  }
  return std::nullopt;
}

HttpResponse serveDashboardPage(const ApiRequest&) {
  const DashboardAsset* page = findAsset(kPage);
  if (page == nullptr) return errorResponse(404, "this controller was built without a dashboard");
  return assetResponse(*page, *dashboardContentType(kPage), "no-cache");
}

HttpResponse serveDashboardAsset(const ApiRequest& request) {
  const std::string& name = request.segment("asset");
  const DashboardAsset* asset = name == kPage ? nullptr : findAsset(name);
  const auto type = dashboardContentType(name);
  if (asset == nullptr || !type) return errorResponse(404, "no such dashboard asset: " + name);
  const bool versioned = param(request.query, "v") == dashboardAssetVersion();
  return assetResponse(*asset, *type,
                       versioned ? "public, max-age=31536000, immutable" : "no-cache");
}

}  // namespace pso::controller::service
