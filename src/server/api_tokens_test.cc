#include "server/api_tokens.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <set>

#include "core/strings.h"
#include "store/sqlite/sqlite_store.h"

namespace pd {
namespace {

TEST(ApiTokens, HashIsLowerHexSha256) {
  // FIPS 180-2 test vector.
  EXPECT_EQ(api_token_hash("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(api_token_hash("").size(), 64u);
}

TEST(ApiTokens, NewTokensAreRandomBase64Url) {
  std::set<std::string> seen;
  for (int i = 0; i < 100; ++i) {
    auto t = new_api_token();
    ASSERT_TRUE(t.ok()) << t.status();
    ASSERT_EQ(t->size(), 3u + 43u);  // "pd_" + 32 bytes in unpadded base64url
    EXPECT_EQ(t->substr(0, 3), "pd_");
    for (char c : t->substr(3)) {
      EXPECT_TRUE(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_') << *t;
    }
    seen.insert(*t);
  }
  EXPECT_EQ(seen.size(), 100u);
}

TEST(ApiTokens, ConstantTimeEqual) {
  EXPECT_TRUE(constant_time_equal("", ""));
  EXPECT_TRUE(constant_time_equal("abc", "abc"));
  EXPECT_FALSE(constant_time_equal("abc", "abd"));
  EXPECT_FALSE(constant_time_equal("abc", "ab"));
  EXPECT_FALSE(constant_time_equal(std::string_view("a\0b", 3), std::string_view("a\0c", 3)));
}

class TokenStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           cat("pd-tokens-", ::getpid(), "-", reinterpret_cast<uintptr_t>(this));
    std::filesystem::create_directories(dir_);
    auto s = SqliteStore::open((dir_ / "t.db").string(), true);
    ASSERT_TRUE(s.ok()) << s.status();
    store_ = std::move(*s);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::filesystem::path dir_;
  std::unique_ptr<SqliteStore> store_;
};

TEST_F(TokenStoreTest, CreateStoresOnlyTheHashAndAHint) {
  auto token = create_api_token(*store_, "ops", WallTime{Millis{42}});
  ASSERT_TRUE(token.ok()) << token.status();
  auto all = store_->api_tokens();
  ASSERT_EQ(all->size(), 1u);
  EXPECT_EQ((*all)[0].name, "ops");
  EXPECT_EQ((*all)[0].sha256_hex, api_token_hash(*token));
  EXPECT_EQ((*all)[0].hint, token->substr(token->size() - 4));
  EXPECT_EQ((*all)[0].created_at, WallTime{Millis{42}});
  EXPECT_TRUE(absl::IsAlreadyExists(create_api_token(*store_, "ops", WallTime{}).status()));
  EXPECT_TRUE(absl::IsInvalidArgument(create_api_token(*store_, "no spaces", WallTime{}).status()));
}

TEST_F(TokenStoreTest, VerifierAcceptsCurrentTokensOnly) {
  auto token = create_api_token(*store_, "ops", WallTime{});
  ASSERT_TRUE(token.ok());
  int loads = 0;
  TokenVerifier v(
      [&] {
        ++loads;
        return store_->api_tokens();
      },
      std::chrono::milliseconds(0), std::chrono::milliseconds(0));
  EXPECT_TRUE(v.verify(*token));
  EXPECT_TRUE(v.verify_header("Bearer " + *token));
  EXPECT_TRUE(v.verify_header("bearer  " + *token + " "));
  EXPECT_FALSE(v.verify_header(*token));  // no scheme
  EXPECT_FALSE(v.verify_header("Basic " + *token));
  EXPECT_FALSE(v.verify_header("Bearer "));
  EXPECT_FALSE(v.verify_header(""));
  EXPECT_FALSE(v.verify(*token + "x"));
  EXPECT_FALSE(v.verify(api_token_hash(*token)));  // the hash is not the token
  EXPECT_EQ(v.token_count(), 1u);
  EXPECT_GT(loads, 0);
  ASSERT_TRUE(store_->revoke_api_token("ops").ok());
  EXPECT_FALSE(v.verify(*token));
  EXPECT_EQ(v.token_count(), 0u);
}

TEST_F(TokenStoreTest, VerifierCachesBetweenRefreshes) {
  auto token = create_api_token(*store_, "ops", WallTime{});
  int loads = 0;
  TokenVerifier v(
      [&] {
        ++loads;
        return store_->api_tokens();
      },
      std::chrono::hours(1), std::chrono::hours(1));
  for (int i = 0; i < 10; ++i) EXPECT_TRUE(v.verify(*token));
  EXPECT_FALSE(v.verify("pd_unknown"));
  EXPECT_EQ(loads, 1);
}

}  // namespace
}  // namespace pd
