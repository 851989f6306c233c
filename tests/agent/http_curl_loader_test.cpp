// Loading libcurl at run time for https:// requests: the process's copy is
// loaded once, and a library that is missing or is not libcurl is refused
// naming what was tried.

#include "agent/http/curl_loader.h"

#include <gtest/gtest.h>

#include <string>

namespace pso::agent::http {
namespace {

TEST(CurlLoader, AMissingLibraryIsUnsupportedNamingEachOneTried) {
  Result<CurlApi> api = loadCurlLibrary({"libpso-no-curl-a.so.4", "libpso-no-curl-b.so.4"});
  ASSERT_FALSE(api.ok());
  EXPECT_EQ(api.error().code, "unsupported");
  EXPECT_NE(api.error().message.find("libpso-no-curl-a.so.4"), std::string::npos)
      << api.error().message;
  EXPECT_NE(api.error().message.find("libpso-no-curl-b.so.4"), std::string::npos);
  EXPECT_NE(api.error().message.find("install libcurl4"), std::string::npos);
}

TEST(CurlLoader, ALibraryThatIsNotLibcurlNamesTheMissingFunction) {
  Result<CurlApi> api = loadCurlLibrary({"libc.so.6"});
  ASSERT_FALSE(api.ok());
  EXPECT_EQ(api.error().code, "unsupported");
  EXPECT_NE(api.error().message.find("lacks a needed function (curl_global_init)"),
            std::string::npos)
      << api.error().message;
}

// libcurl4 is a build dependency (psoctl links it), so it is installed here.
TEST(CurlLoader, TheProcessCopyIsLoadedOnceWithEveryFunction) {
  Result<const CurlApi*> first = processCurl();
  ASSERT_TRUE(first.ok()) << first.error().message;
  Result<const CurlApi*> second = processCurl();
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(*first, *second);
  const CurlApi& api = **first;
  EXPECT_NE(api.easy_init, nullptr);
  EXPECT_NE(api.slist_free_all, nullptr);
  CURL* handle = api.easy_init();
  ASSERT_NE(handle, nullptr);
  {
    CurlHeaderList headers(api);
    headers.add("Accept: application/json");
    headers.add("X-Test: 1");
    ASSERT_NE(headers.get(), nullptr);
    EXPECT_STREQ(headers.get()->data, "Accept: application/json");
    ASSERT_NE(headers.get()->next, nullptr);
    EXPECT_STREQ(headers.get()->next->data, "X-Test: 1");
  }
  api.easy_cleanup(handle);
}

}  // namespace
}  // namespace pso::agent::http
