#include "store/store.h"

#include <fmt/format.h>

#include "core/config_keys.h"
#include "core/strings.h"
#include "store/postgres/pg_store.h"
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

bool is_server_url(std::string_view url) { return PgStore::is_url(url); }

std::string store_display_name(std::string_view url) {
  return is_server_url(url) ? pg::mask_password(url) : std::string(url);
}

absl::StatusOr<std::unique_ptr<Store>> open_store(const std::string& url, bool create) {
  if (PgStore::is_url(url)) {
    auto pg = PgStore::open(url, create);
    if (!pg.ok()) return pg.status();
    return std::unique_ptr<Store>(std::move(*pg));
  }
  auto store = SqliteStore::open(url, create);
  if (!store.ok()) return store.status();
  return std::unique_ptr<Store>(std::move(*store));
}

}  // namespace pd
