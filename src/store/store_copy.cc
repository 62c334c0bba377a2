#include "store/store_copy.h"

#include <algorithm>
#include <charconv>

#include "core/status_macros.h"
#include "core/strings.h"
#include "store/store.h"

namespace pd {

const std::vector<StoreTable>& store_tables() {
  // Parents first: campaigns before what names a campaign, customers before
  // phones and attempts, dnc_sources before dnc.
  static const std::vector<StoreTable> kTables = {
      {"campaigns", {"id", "name", "state", "created_at", "updated_at"}, {"id"}},
      {"config", {"campaign_id", "key", "value"}, {"campaign_id", "key"}},
      {"customers",
       {"id", "campaign_id", "cust_id", "attributes", "line", "state", "next_phone", "next_at",
        "held"},
       {"id"}},
      {"phones", {"customer_id", "seq", "e164", "attempts", "zones", "region"},
       {"customer_id", "seq"}},
      {"attempts",
       {"id", "campaign_id", "customer_id", "phone_seq", "phone", "attempt_on_phone", "state",
        "outcome", "owner", "started_at", "answered_at", "ended_at", "contact_id", "agent_id",
        "disconnect_reason", "disposition", "callee_timezone", "rule"},
       {"id"}},
      {"rejects", {"campaign_id", "line", "reason"}, {"campaign_id", "line", "reason"}},
      {"reject_counts", {"campaign_id", "reason", "rows"}, {"campaign_id", "reason"}},
      {"checkpoints", {"stream", "shard", "sequence"}, {"stream", "shard"}},
      {"api_tokens", {"name", "sha256", "hint", "created_at"}, {"name"}},
      {"dnc_sources", {"id", "label"}, {"id"}},
      {"dnc", {"number", "source_id", "added_at", "expires_at"}, {"number"}},
      {"abandon_ledger", {"campaign_id", "day", "answered", "abandoned"}, {"campaign_id", "day"}},
      {"compliance_counts", {"campaign_id", "rule", "checked", "held"}, {"campaign_id", "rule"}},
      {"call_history",
       {"phone", "cust_id", "started_at", "abandoned_at"},
       {"phone", "started_at", "cust_id", "abandoned_at"}},
      {"settings", {"key", "value"}, {"key"}},
  };
  return kTables;
}

const StoreTable& store_meta_table() {
  static const StoreTable kMeta = {"meta", {"key", "value"}, {"key"}};
  return kMeta;
}

absl::Status check_store_table(const StoreTable& table) {
  auto same = [&](const StoreTable& t) {
    return t.name == table.name && t.columns == table.columns && t.key == table.key;
  };
  if (same(store_meta_table()) ||
      std::any_of(store_tables().begin(), store_tables().end(), same)) {
    return absl::OkStatus();
  }
  return absl::InvalidArgumentError(cat("'", table.name, "' is not a table a store copy moves"));
}

std::string quoted_columns(const std::vector<std::string_view>& columns) {
  std::string out;
  for (std::string_view c : columns) {
    if (!out.empty()) out += ", ";
    out += cat("\"", c, "\"");
  }
  return out;
}

absl::StatusOr<CopiedMeta> copied_meta(const std::vector<StoreRow>& meta) {
  CopiedMeta out;
  for (const StoreRow& row : meta) {
    if (row.size() != 2 || !row[0] || !row[1]) continue;
    const std::string& key = *row[0];
    const std::string& value = *row[1];
    if (key == "schema_version") continue;
    if (key != "last_lease_token") {
      out.facts.emplace_back(key, value);
      continue;
    }
    const char* end = value.data() + value.size();
    auto [at, ec] = std::from_chars(value.data(), end, out.last_lease_token);
    if (ec != std::errc() || at != end || out.last_lease_token < 0) {
      return absl::DataLossError(cat("the source store's last fencing token reads '",
                                     value.substr(0, 20), "', not a number"));
    }
  }
  return out;
}

int64_t CopyReport::total() const {
  int64_t n = 0;
  for (const auto& [table, count] : rows) n += count;
  return n;
}

namespace {

// Rows handed to the destination at a time: large enough that a
// PostgreSQL COPY or an SQLite statement loop runs at full speed, small
// enough that memory stays flat whatever the list's size.
constexpr size_t kChunkRows = 10'000;

absl::Status refuse_if_dialing(std::string_view name, std::string_view state) {
  if (state != to_string(CampaignState::kRunning) && state != to_string(CampaignState::kStopping)) {
    return absl::OkStatus();
  }
  return absl::FailedPreconditionError(
      cat("campaign '", name, "' is ", state,
          " in the source store: stop it first (`powerdialer stop`), or its dialer would go "
          "on writing to the old store after the copy"));
}

absl::Status check_copyable(Store& from, Store& to) {
  PD_ASSIGN_OR_RETURN(std::vector<Campaign> campaigns, from.list_campaigns());
  for (const Campaign& c : campaigns) {
    PD_RETURN_IF_ERROR(refuse_if_dialing(c.name, to_string(c.state)));
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

// Streams every table of `from` into `to` in chunks, then ends the copy.
// REQUIRES: both inside their batch.
absl::Status copy_tables(Store& from, Store& to, CopyReport& report,
                         const std::function<void(std::string_view table, int64_t rows)>& progress) {
  std::vector<StoreRow> meta;
  PD_RETURN_IF_ERROR(from.for_each_row(store_meta_table(), [&](const StoreRow& row) {
    meta.push_back(row);
    return absl::OkStatus();
  }));
  for (const StoreTable& table : store_tables()) {
    const bool campaigns = table.name == "campaigns";
    int64_t n = 0;
    std::vector<StoreRow> chunk;
    chunk.reserve(kChunkRows);
    auto add = [&](const StoreRow& row) -> absl::Status {
      // Checked again on the rows copied: a campaign started after
      // check_copyable() and before the source's batch began.
      if (campaigns) {
        PD_RETURN_IF_ERROR(refuse_if_dialing(row[1].value_or(""), row[2].value_or("")));
      }
      chunk.push_back(row);
      ++n;
      if (chunk.size() < kChunkRows) return absl::OkStatus();
      absl::Status s = to.insert_rows(table, chunk);
      chunk.clear();
      return s;
    };
    PD_RETURN_IF_ERROR(from.for_each_row(table, add));
    if (!chunk.empty()) PD_RETURN_IF_ERROR(to.insert_rows(table, chunk));
    report.rows.emplace_back(std::string(table.name), n);
    if (progress) progress(table.name, n);
  }
  return to.after_copy(meta);
}

}  // namespace

absl::StatusOr<CopyReport> copy_store(
    Store& from, Store& to,
    const std::function<void(std::string_view table, int64_t rows)>& progress) {
  PD_RETURN_IF_ERROR(check_copyable(from, to));
  // The source is only read, in one transaction, so every table comes from
  // the same moment; rolled back at the end.
  PD_RETURN_IF_ERROR(from.begin_batch());
  if (absl::Status s = to.begin_batch(); !s.ok()) {
    from.abort_batch();
    return s;
  }
  CopyReport report;
  absl::Status s = copy_tables(from, to, report, progress);
  from.abort_batch();
  if (!s.ok()) {
    to.abort_batch();
    return s;
  }
  PD_RETURN_IF_ERROR(to.commit_batch());
  return report;
}

}  // namespace pd
