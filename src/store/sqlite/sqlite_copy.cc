// SqliteStore's side of moving a store (store/store_copy.h).
#include "core/status_macros.h"
#include "core/strings.h"
#include "store/sqlite/sqlite_store.h"

namespace pd {

absl::Status SqliteStore::for_each_row(const StoreTable& table,
                                       const std::function<absl::Status(const StoreRow&)>& fn) {
  PD_RETURN_IF_ERROR(check_store_table(table));
  // SQLite's BINARY collation orders text bytewise, as PgStore's COLLATE "C".
  PD_ASSIGN_OR_RETURN(sqlite::Stmt s,
                      db_.prepare(cat("SELECT ", quoted_columns(table.columns), " FROM \"",
                                      table.name, "\" ORDER BY ", quoted_columns(table.key))));
  StoreRow row(table.columns.size());
  while (true) {
    PD_ASSIGN_OR_RETURN(bool more, s.step());
    if (!more) return absl::OkStatus();
    for (size_t i = 0; i < row.size(); ++i) {
      const int col = static_cast<int>(i);
      if (s.is_null(col)) {
        row[i].reset();
      } else {
        row[i] = std::string(s.text(col));
      }
    }
    PD_RETURN_IF_ERROR(fn(row));
  }
}

absl::Status SqliteStore::insert_rows(const StoreTable& table, const std::vector<StoreRow>& rows) {
  PD_RETURN_IF_ERROR(check_store_table(table));
  if (!in_batch_) return absl::FailedPreconditionError("insert_rows outside a batch");
  std::string params;
  for (size_t i = 1; i <= table.columns.size(); ++i) params += cat(i > 1 ? ", ?" : "?", i);
  PD_ASSIGN_OR_RETURN(sqlite::Stmt s,
                      db_.prepare(cat("INSERT INTO \"", table.name, "\"(", quoted_columns(table.columns),
                                      ") VALUES(", params, ")")));
  for (const StoreRow& row : rows) {
    if (row.size() != table.columns.size()) {
      return absl::InvalidArgumentError(cat("a row of table '", table.name, "' has ", row.size(),
                                            " values for ", table.columns.size(), " columns"));
    }
    // Text into INTEGER columns: SQLite's column affinity stores numbers
    // as integers again.
    for (size_t i = 0; i < row.size(); ++i) {
      const int index = static_cast<int>(i) + 1;
      if (row[i]) {
        s.bind(index, std::string_view(*row[i]));
      } else {
        s.bind(index, std::nullopt);
      }
    }
    if (absl::Status st = s.run(); !st.ok()) {
      return absl::Status(st.code(), cat("copying into table '", table.name, "': ", st.message()));
    }
    s.reset();
  }
  return absl::OkStatus();
}

absl::Status SqliteStore::after_copy(const std::vector<StoreRow>& meta) {
  PD_ASSIGN_OR_RETURN(CopiedMeta copied, copied_meta(meta));
  // Tokens are never reused: continue after the larger of the two.
  PD_ASSIGN_OR_RETURN(sqlite::Stmt token,
                      db_.prepare("UPDATE meta SET value = CAST(max(CAST(value AS INTEGER), ?1) "
                                  "AS TEXT) WHERE key = 'last_lease_token'"));
  PD_RETURN_IF_ERROR(token.bind(1, copied.last_lease_token).run());
  PD_ASSIGN_OR_RETURN(sqlite::Stmt fact,
                      db_.prepare("INSERT OR REPLACE INTO meta(key, value) VALUES(?1, ?2)"));
  for (const auto& [key, value] : copied.facts) {
    PD_RETURN_IF_ERROR(fact.bind(1, std::string_view(key)).bind(2, std::string_view(value)).run());
    fact.reset();
    if (key == "instance_id") instance_id_ = value;
  }
  // Cached policies describe the rows before the copy.
  policies_.clear();
  return recount_campaigns();
}

}  // namespace pd
