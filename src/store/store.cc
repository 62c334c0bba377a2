#include "store/store.h"

#include <fmt/format.h>

#include "core/config_keys.h"
#include "core/strings.h"
#include "store/sqlite/sqlite_store.h"

namespace pd {

double AbandonRates::rate_today() const {
  return answered_today > 0 ? static_cast<double>(abandoned_today) / answered_today : 0;
}

double AbandonRates::rate_30d() const {
  return answered_30d > 0 ? static_cast<double>(abandoned_30d) / answered_30d : 0;
}

absl::Status lost_lease_error(CampaignId id, std::string_view owner, int64_t token) {
  return absl::AbortedError(cat("dialer ", owner, " lost campaign ", id,
                                "'s lease (fencing token ", token,
                                "): another dialer took the campaign over, so this write was "
                                "refused"));
}

std::string format_abandon_rate(double rate) { return fmt::format("{:.1f}%", rate * 100); }

std::string AbandonRates::pause_reason() const {
  return cat("30-day abandon rate ", format_abandon_rate(rate_30d()), " reached max-abandon-rate ",
             format_rate(max_rate));
}

absl::StatusOr<std::unique_ptr<Store>> open_store(const std::string& url, bool create) {
  // Only SQLite files so far; a postgresql:// URL will select the other
  // implementation.
  auto store = SqliteStore::open(url, create);
  if (!store.ok()) return store.status();
  return std::unique_ptr<Store>(std::move(*store));
}

std::string display_store_url(std::string_view url) {
  // scheme://user:password@host...: everything between the first ':' after
  // the scheme's "//" and the last '@' of the authority is the password.
  const size_t scheme = url.find("://");
  if (scheme == std::string_view::npos) return std::string(url);
  const size_t start = scheme + 3;
  const size_t end = url.find_first_of("/?#", start);
  const std::string_view authority = url.substr(start, end == std::string_view::npos
                                                           ? std::string_view::npos
                                                           : end - start);
  const size_t at = authority.rfind('@');
  if (at == std::string_view::npos) return std::string(url);
  const size_t colon = authority.substr(0, at).find(':');
  if (colon == std::string_view::npos) return std::string(url);
  return cat(url.substr(0, start + colon + 1), "****", url.substr(start + at));
}

}  // namespace pd
