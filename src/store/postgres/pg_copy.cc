// PgStore's side of moving a store (store/store_copy.h).
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <set>

#include "absl/container/flat_hash_map.h"
#include "core/status_macros.h"
#include "core/strings.h"
#include "store/postgres/pg_store.h"

namespace pd {
namespace {

using pg::p;
using pg::Result;

// Rows a copy reads per round trip from its cursor.
constexpr int kFetchRows = 10'000;

// SQLite keeps the last fencing token in meta; PostgreSQL in the sequence
// lease_tokens. Read as meta, the sequence is one more row, so a copy
// either way carries it (after_copy continues after it).
constexpr const char* kMetaWithLeaseToken =
    "(SELECT key, value FROM meta WHERE key <> 'last_lease_token' UNION ALL "
    "SELECT 'last_lease_token', (CASE WHEN is_called THEN last_value ELSE 0 END)::text "
    "FROM lease_tokens) meta";

// Every identity column (campaigns, customers, attempts, dnc_sources ids)
// continues after the largest id copied, so new rows never take a copied id.
constexpr const char* kContinueIdentities = R"sql(
DO $$
DECLARE
  c record;
  top bigint;
BEGIN
  FOR c IN SELECT table_name, column_name FROM information_schema.columns
           WHERE table_schema = current_schema() AND is_identity = 'YES' LOOP
    EXECUTE format('SELECT max(%I) FROM %I', c.column_name, c.table_name) INTO top;
    IF top IS NOT NULL THEN
      PERFORM setval(pg_get_serial_sequence(format('%I', c.table_name), c.column_name), top);
    END IF;
  END LOOP;
END $$;
)sql";

}  // namespace

absl::Status PgStore::for_each_row(const StoreTable& table,
                                   const std::function<absl::Status(const StoreRow&)>& fn) {
  PD_RETURN_IF_ERROR(check_store_table(table));
  // Text keys are ordered bytewise (COLLATE "C", as SQLite's BINARY), not
  // by the database's locale, and NULLs first (as SQLite), so both stores
  // list a table's rows in the same order.
  PD_ASSIGN_OR_RETURN(Result types,
                      db_.query("SELECT column_name::text FROM information_schema.columns "
                                "WHERE table_schema = current_schema() AND table_name = $1 "
                                "AND data_type = 'text'",
                                {p(table.name)}));
  std::set<std::string, std::less<>> text_columns;
  for (int i = 0; i < types.rows(); ++i) text_columns.insert(types.str(i, 0));
  std::string order;
  for (std::string_view k : table.key) {
    if (!order.empty()) order += ", ";
    order += cat("\"", k, "\"", text_columns.count(k) > 0 ? " COLLATE \"C\"" : "", " NULLS FIRST");
  }
  const bool meta = table.name == store_meta_table().name;
  const std::string from = meta ? std::string(kMetaWithLeaseToken) : cat("\"", table.name, "\"");

  // A cursor lives in a transaction (a savepoint inside a batch).
  pg::Transaction txn(db_);
  PD_RETURN_IF_ERROR(txn.begin());
  if (in_batch_ && !meta) {
    // The source of a copy (copy_store reads it inside a batch): writers
    // wait until the copy ends, so the tables read later agree with those
    // read before.
    PD_RETURN_IF_ERROR(db_.exec(cat("LOCK TABLE \"", table.name, "\" IN SHARE MODE")));
  }
  PD_RETURN_IF_ERROR(
      db_.exec(cat("DECLARE pd_copy_rows NO SCROLL CURSOR FOR SELECT ",
                   quoted_columns(table.columns), " FROM ", from, " ORDER BY ", order)));
  const std::string fetch = cat("FETCH FORWARD ", kFetchRows, " FROM pd_copy_rows");
  StoreRow row(table.columns.size());
  while (true) {
    PD_ASSIGN_OR_RETURN(Result r, db_.query_dynamic(fetch, {}));
    for (int i = 0; i < r.rows(); ++i) {
      for (size_t c = 0; c < row.size(); ++c) {
        const int col = static_cast<int>(c);
        if (r.is_null(i, col)) {
          row[c].reset();
        } else {
          row[c] = r.str(i, col);
        }
      }
      // On an error the transaction rolls back, closing the cursor.
      PD_RETURN_IF_ERROR(fn(row));
    }
    if (r.rows() < kFetchRows) break;
  }
  PD_RETURN_IF_ERROR(db_.exec("CLOSE pd_copy_rows"));
  return txn.commit();
}

absl::Status PgStore::insert_rows(const StoreTable& table, const std::vector<StoreRow>& rows) {
  PD_RETURN_IF_ERROR(check_store_table(table));
  if (!in_batch_) return absl::FailedPreconditionError("insert_rows outside a batch");
  // Checked before the COPY starts: a COPY cannot be left half sent.
  for (const StoreRow& row : rows) {
    if (row.size() != table.columns.size()) {
      return absl::InvalidArgumentError(cat("a row of table '", table.name, "' has ", row.size(),
                                            " values for ", table.columns.size(), " columns"));
    }
  }
  if (table.name == "customers") {
    // Rows go to their campaign's partition, made here as a list load
    // would make it (pg_store.cc, kSchema).
    const size_t col =
        static_cast<size_t>(std::find(table.columns.begin(), table.columns.end(), "campaign_id") -
                            table.columns.begin());
    std::set<std::string> campaigns;
    for (const StoreRow& row : rows) {
      if (col < row.size() && row[col]) campaigns.insert(*row[col]);
    }
    for (const std::string& campaign : campaigns) {
      PD_RETURN_IF_ERROR(
          db_.query("SELECT pd_list_partitions($1::bigint)", {p(campaign)}).status());
    }
  }
  // A phone's row in PostgreSQL also names its customer's campaign (the
  // partition key), which SQLite's does not: it is looked up among the
  // customers, copied before the phones. Rows come in customer id order,
  // so one range read per chunk finds them all.
  const bool phones = table.name == "phones";
  absl::flat_hash_map<std::string, std::string> campaign_of;
  size_t customer_col = 0;
  if (phones && !rows.empty()) {
    customer_col =
        static_cast<size_t>(std::find(table.columns.begin(), table.columns.end(), "customer_id") -
                            table.columns.begin());
    int64_t low = INT64_MAX;
    int64_t high = INT64_MIN;
    for (const StoreRow& row : rows) {
      const int64_t id = customer_col < row.size() && row[customer_col]
                             ? std::strtoll(row[customer_col]->c_str(), nullptr, 10)
                             : 0;
      low = std::min(low, id);
      high = std::max(high, id);
    }
    PD_ASSIGN_OR_RETURN(Result r, db_.query("SELECT id::text, campaign_id::text FROM customers "
                                            "WHERE id BETWEEN $1 AND $2",
                                            {p(low), p(high)}));
    for (int i = 0; i < r.rows(); ++i) {
      campaign_of.emplace(absl::string_view(r.text(i, 0).data(), r.text(i, 0).size()),
                          absl::string_view(r.text(i, 1).data(), r.text(i, 1).size()));
    }
  }
  // after_copy() recounts campaign_counts: the count triggers' work
  // would be thrown away (kCountTriggers).
  PD_RETURN_IF_ERROR(db_.exec("SET LOCAL powerdialer.counted_by_writer = 'on'"));
  // COPY's text format parses each value as its column's type (BIGINT,
  // TEXT), as it does for a list load.
  absl::Status s = db_.copy_begin(cat("COPY \"", table.name, "\"(", quoted_columns(table.columns),
                                      phones ? ", campaign_id" : "", ") FROM STDIN"));
  StoreRow with_campaign;
  for (size_t i = 0; s.ok() && i < rows.size(); ++i) {
    if (!phones) {
      s = db_.copy_row(rows[i]);
      continue;
    }
    const std::optional<std::string>& customer =
        customer_col < rows[i].size() ? rows[i][customer_col] : std::nullopt;
    const auto it = customer
                        ? campaign_of.find(absl::string_view(customer->data(), customer->size()))
                        : campaign_of.end();
    if (it == campaign_of.end()) {
      s = absl::FailedPreconditionError(
          cat("a phone of customer ", customer.value_or("NULL"), ", whom the copy does not have"));
      break;
    }
    with_campaign = rows[i];
    with_campaign.emplace_back(it->second);
    s = db_.copy_row(with_campaign);
  }
  absl::Status end = db_.copy_end();
  if (s.ok()) s = end;
  if (!s.ok()) {
    return absl::Status(s.code(), cat("copying into table '", table.name, "': ", s.message()));
  }
  return absl::OkStatus();
}

absl::Status PgStore::after_copy(const std::vector<StoreRow>& meta) {
  PD_ASSIGN_OR_RETURN(CopiedMeta copied, copied_meta(meta));
  if (copied.last_lease_token > 0) {
    // Tokens are never reused: continue after the larger of the two.
    PD_RETURN_IF_ERROR(
        db_.query("SELECT setval('lease_tokens', GREATEST($1::bigint, "
                  "(SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM lease_tokens)))",
                  {p(copied.last_lease_token)})
            .status());
  }
  for (const auto& [key, value] : copied.facts) {
    PD_RETURN_IF_ERROR(db_.query("INSERT INTO meta(key, value) VALUES($1, $2) "
                                 "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                                 {p(key), p(value)})
                           .status());
    if (key == "instance_id") instance_id_ = value;
  }
  PD_RETURN_IF_ERROR(db_.exec(kContinueIdentities));
  // Cached policies describe the rows before the copy.
  policies_.clear();
  return recount_campaigns();
}

}  // namespace pd
