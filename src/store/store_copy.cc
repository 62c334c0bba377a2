#include "store/store_copy.h"

#include "core/status_macros.h"
#include "core/strings.h"
#include "store/store.h"

namespace pd {

const std::vector<StoreTable>& store_tables() {
  // Parents first: campaigns before what names a campaign, customers before
  // phones and attempts, dnc_sources before dnc.
  static const std::vector<StoreTable> kTables = {
      {"campaigns", {"id", "name", "state", "created_at", "updated_at"}},
      {"config", {"campaign_id", "key", "value"}},
      {"customers",
       {"id", "campaign_id", "cust_id", "attributes", "line", "state", "next_phone", "next_at",
        "held"}},
      {"phones", {"customer_id", "seq", "e164", "attempts", "zones", "region"}},
      {"attempts",
       {"id", "campaign_id", "customer_id", "phone_seq", "phone", "attempt_on_phone", "state",
        "outcome", "owner", "started_at", "answered_at", "ended_at", "contact_id", "agent_id",
        "disconnect_reason", "disposition", "callee_timezone", "rule"}},
      {"rejects", {"campaign_id", "line", "reason"}},
      {"reject_counts", {"campaign_id", "reason", "rows"}},
      {"checkpoints", {"stream", "shard", "sequence"}},
      {"api_tokens", {"name", "sha256", "hint", "created_at"}},
      {"dnc_sources", {"id", "label"}},
      {"dnc", {"number", "source_id", "added_at", "expires_at"}},
      {"abandon_ledger", {"campaign_id", "day", "answered", "abandoned"}},
      {"compliance_counts", {"campaign_id", "rule", "checked", "held"}},
      {"call_history", {"phone", "cust_id", "started_at", "abandoned_at"}},
      {"settings", {"key", "value"}},
  };
  return kTables;
}

const StoreTable& store_meta_table() {
  static const StoreTable kMeta = {"meta", {"key", "value"}};
  return kMeta;
}

int64_t CopyReport::total() const {
  int64_t n = 0;
  for (const auto& [table, rows] : rows) n += rows;
  return n;
}

namespace {

// Rows handed to the destination at a time: large enough that a
// PostgreSQL COPY or an SQLite statement loop runs at full speed, small
// enough that memory stays flat whatever the list's size.
constexpr size_t kChunkRows = 10'000;

absl::Status check_copyable(Store& from, Store& to) {
  PD_ASSIGN_OR_RETURN(std::vector<Campaign> campaigns, from.list_campaigns());
  for (const Campaign& c : campaigns) {
    if (c.state == CampaignState::kRunning || c.state == CampaignState::kStopping) {
      return absl::FailedPreconditionError(
          cat("campaign '", c.name, "' is ", to_string(c.state),
              " in the source store: stop it first (`powerdialer stop`), or its dialer would go "
              "on writing to the old store after the copy"));
    }
  }
  // A copy never merges: the ids it keeps would collide.
  for (const StoreTable& table : store_tables()) {
    bool any = false;
    // for_each_row stops at the callback's first error: one row is enough.
    absl::Status s = to.for_each_row(table, [&](const StoreRow&) {
      any = true;
      return absl::CancelledError("stop");
    });
    if (!any && !s.ok()) return s;
    if (any) {
      return absl::FailedPreconditionError(
          cat("the destination store already holds rows in table '", table.name,
              "': migrate copies into an empty store only (a new SQLite file, or a PostgreSQL "
              "database where `powerdialer init` has not created a campaign)"));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<CopyReport> copy_store(
    Store& from, Store& to,
    const std::function<void(std::string_view table, int64_t rows)>& progress) {
  PD_RETURN_IF_ERROR(check_copyable(from, to));
  std::vector<StoreRow> meta;
  PD_RETURN_IF_ERROR(from.for_each_row(store_meta_table(), [&](const StoreRow& row) {
    meta.push_back(row);
    return absl::OkStatus();
  }));

  CopyReport report;
  PD_RETURN_IF_ERROR(to.begin_batch());
  auto copy = [&]() -> absl::Status {
    for (const StoreTable& table : store_tables()) {
      int64_t n = 0;
      std::vector<StoreRow> chunk;
      chunk.reserve(kChunkRows);
      PD_RETURN_IF_ERROR(from.for_each_row(table, [&](const StoreRow& row) -> absl::Status {
        chunk.push_back(row);
        ++n;
        if (chunk.size() < kChunkRows) return absl::OkStatus();
        absl::Status s = to.insert_rows(table, chunk);
        chunk.clear();
        return s;
      }));
      if (!chunk.empty()) PD_RETURN_IF_ERROR(to.insert_rows(table, chunk));
      report.rows.emplace_back(std::string(table.name), n);
      if (progress) progress(table.name, n);
    }
    PD_RETURN_IF_ERROR(to.after_copy(meta));
    return to.commit_batch();
  };
  if (absl::Status s = copy(); !s.ok()) {
    to.abort_batch();
    return s;
  }
  return report;
}

}  // namespace pd
