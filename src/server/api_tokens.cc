#include "server/api_tokens.h"

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <array>

#include "core/status_macros.h"
#include "core/strings.h"
#include "engine/campaign_control.h"

namespace pd {
namespace {

std::string base64url(const unsigned char* data, size_t n) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (size_t i = 0; i < n; ++i) {
    acc = (acc << 8) | data[i];
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out += kAlphabet[(acc >> bits) & 0x3f];
    }
  }
  if (bits > 0) out += kAlphabet[(acc << (6 - bits)) & 0x3f];
  return out;
}

}  // namespace

absl::StatusOr<std::string> new_api_token() {
  std::array<unsigned char, 32> bytes{};
  if (RAND_bytes(bytes.data(), static_cast<int>(bytes.size())) != 1) {
    return absl::InternalError("the system's random source failed; no token was made");
  }
  return "pd_" + base64url(bytes.data(), bytes.size());
}

std::string api_token_hash(std::string_view token) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(token.data(), token.size(), digest, &len, EVP_sha256(), nullptr);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(len * 2);
  for (unsigned int i = 0; i < len; ++i) {
    out += kHex[digest[i] >> 4];
    out += kHex[digest[i] & 0xf];
  }
  return out;
}

bool constant_time_equal(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  unsigned char diff = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  }
  return diff == 0;
}

absl::StatusOr<std::string> create_api_token(Store& store, std::string_view name, WallTime now) {
  if (auto s = check_campaign_name(name); !s.ok()) {
    return absl::InvalidArgumentError(
        cat("invalid token name '", name, "': use 1-64 letters, digits, '-', '_' or '.'"));
  }
  PD_ASSIGN_OR_RETURN(std::string token, new_api_token());
  ApiToken t;
  t.name = std::string(name);
  t.sha256_hex = api_token_hash(token);
  t.hint = token.substr(token.size() - 4);
  t.created_at = now;
  PD_RETURN_IF_ERROR(store.add_api_token(t));
  return token;
}

TokenVerifier::TokenVerifier(Loader loader, std::chrono::milliseconds refresh,
                             std::chrono::milliseconds miss_refresh)
    : loader_(std::move(loader)), refresh_(refresh), miss_refresh_(miss_refresh) {}

bool TokenVerifier::verify_header(std::string_view authorization) {
  authorization = trim(authorization);
  constexpr std::string_view kScheme = "bearer ";
  if (authorization.size() <= kScheme.size()) return false;
  for (size_t i = 0; i < kScheme.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(authorization[i])) != kScheme[i]) return false;
  }
  return verify(trim(authorization.substr(kScheme.size())));
}

bool TokenVerifier::matches(const std::string& hash) const {
  bool found = false;
  // Every stored hash is compared, so timing does not say which matched.
  for (const std::string& h : hashes_) found |= constant_time_equal(h, hash);
  return found;
}

void TokenVerifier::reload(Steady::time_point now) {
  auto tokens = loader_();
  loaded_at_ = now;
  if (!tokens.ok()) return;  // keep the last good set; the store may be busy
  std::vector<std::string> hashes;
  hashes.reserve(tokens->size());
  for (const ApiToken& t : *tokens) hashes.push_back(t.sha256_hex);
  hashes_ = std::move(hashes);
  loaded_ = true;
}

bool TokenVerifier::verify(std::string_view token) {
  if (token.empty() || token.size() > 256) return false;
  const std::string hash = api_token_hash(token);
  std::lock_guard<std::mutex> lock(mu_);
  const auto now = Steady::now();
  if (!loaded_ || now - loaded_at_ >= refresh_) reload(now);
  if (matches(hash)) return true;
  if (now - loaded_at_ >= miss_refresh_) {
    reload(now);
    return matches(hash);
  }
  return false;
}

size_t TokenVerifier::token_count() {
  std::lock_guard<std::mutex> lock(mu_);
  const auto now = Steady::now();
  if (!loaded_ || now - loaded_at_ >= refresh_) reload(now);
  return hashes_.size();
}

}  // namespace pd
