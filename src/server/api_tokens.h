// Bearer tokens for the HTTP API: generation, hashing and verification.
// A token is "pd_" + 32 random bytes in base64url; the store keeps only its
// SHA-256, so a copy of the database gives no way in. Verification hashes
// the presented token and compares it with every stored hash in constant
// time.
//
// Thread-safety: the free functions are pure (new_api_token reads the
// system's random source); TokenVerifier is thread-safe.
#pragma once

#include <chrono>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "store/store.h"

namespace pd {

// A fresh random token (kInternal when the random source fails).
absl::StatusOr<std::string> new_api_token();
// Lower-case hex SHA-256 of `token`.
std::string api_token_hash(std::string_view token);
// Equal length and bytes, in time that depends only on the lengths.
bool constant_time_equal(std::string_view a, std::string_view b);
// Creates a token named `name` in `store` and returns it (the only time it
// is ever shown). kAlreadyExists when the name is taken; kInvalidArgument
// for a bad name (1-64 letters, digits, '-', '_', '.').
absl::StatusOr<std::string> create_api_token(Store& store, std::string_view name, WallTime now);

// Checks presented tokens against the stored hashes. The hashes are cached
// and re-read from the store at most every `refresh` (so a token created or
// revoked by another process counts within that time), and at once (at most
// every `miss_refresh`) when a token is not found.
class TokenVerifier {
 public:
  using Loader = std::function<absl::StatusOr<std::vector<ApiToken>>()>;
  explicit TokenVerifier(Loader loader,
                         std::chrono::milliseconds refresh = std::chrono::milliseconds(1000),
                         std::chrono::milliseconds miss_refresh = std::chrono::milliseconds(200));

  // The `Authorization` header's value ("Bearer <token>"): true when it
  // names a current token.
  bool verify_header(std::string_view authorization);
  bool verify(std::string_view token);
  // How many tokens the store held at the last read.
  size_t token_count();

 private:
  using Steady = std::chrono::steady_clock;
  bool matches(const std::string& hash) const;  // REQUIRES: mu_ held
  void reload(Steady::time_point now);          // REQUIRES: mu_ held

  Loader loader_;
  std::chrono::milliseconds refresh_, miss_refresh_;
  std::mutex mu_;
  std::vector<std::string> hashes_;  // guarded by mu_
  Steady::time_point loaded_at_{};   // guarded by mu_
  bool loaded_ = false;              // guarded by mu_
};

}  // namespace pd
