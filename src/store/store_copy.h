// Moving a store (`powerdialer migrate --from A --to B`): every campaign,
// its configuration, list, attempts, rejects and counts, the do-not-call
// list, checkpoints, settings, ledgers and API tokens, from one Store to
// another, SQLite or PostgreSQL either way.
//
// Both stores keep the same tables with the same column names
// (store_tables() below), so the copy is a table-by-table stream of rows,
// values as text. The destination takes everything in one transaction: a
// copy that fails part way leaves it as empty as it was. Ids are kept, so a
// call placed before the move (its Connect ClientToken carries the attempt
// id) is still recognised after it.
//
// Thread-safety: as Store.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace pd {

class Store;

// One table as both stores hold it.
struct StoreTable {
  std::string_view name;
  std::vector<std::string_view> columns;
  // The columns rows are read in order of (its primary key, or every column
  // where it has none), so both stores list a table's rows alike.
  std::vector<std::string_view> key;
};

// The tables a copy moves, parents before the rows that name them. Leases
// and nodes are not among them: they describe the processes dialling the
// old store, none of which dials the new one. Nor is campaign_counts: the
// destination counts what it received (Store::after_copy), so its counts
// are those a full scan gives, whatever the source's were.
const std::vector<StoreTable>& store_tables();
// The store's own facts (key, value): its instance id (client tokens start
// with it) and the last fencing token handed out, among others. Not copied
// as a table: each store keeps some of them its own way (Store::after_copy).
const StoreTable& store_meta_table();

// One row's values as text (nullopt: NULL), in StoreTable::columns order.
using StoreRow = std::vector<std::optional<std::string>>;

// For store implementations: kInvalidArgument unless `table` is one of
// store_tables() or store_meta_table(), columns and key alike. Table and
// column names go into SQL text (identifiers cannot be bound), so they must
// be ours, never a caller's.
absl::Status check_store_table(const StoreTable& table);
// `columns` as a quoted SQL list: "a", "b", "c".
std::string quoted_columns(const std::vector<std::string_view>& columns);

// For Store::after_copy: what a destination takes of the source's meta
// rows. Not the schema version (the destination's own); the last fencing
// token handed out (0: none), which the destination continues after; every
// other fact (the instance id among them) as it is.
struct CopiedMeta {
  int64_t last_lease_token = 0;
  std::vector<std::pair<std::string, std::string>> facts;  // key, value
};
// kDataLoss when the source's last_lease_token is not a number.
absl::StatusOr<CopiedMeta> copied_meta(const std::vector<StoreRow>& meta);

struct CopyReport {
  std::vector<std::pair<std::string, int64_t>> rows;  // table -> rows copied
  int64_t total() const;
};

// Copies everything `from` holds into `to`. kFailedPrecondition when `to`
// already holds a row in any table the copy moves (a copy never merges), or
// when a campaign of `from` is running or stopping (stop it first: a
// dialer would go on writing to the old store). `from` is read inside one
// batch of its own that is rolled back at the end (it is never written;
// its writers wait for the copy), `to` is written in one batch that
// commits everything or nothing. `progress` (may be empty) is called after
// each table.
absl::StatusOr<CopyReport> copy_store(
    Store& from, Store& to,
    const std::function<void(std::string_view table, int64_t rows)>& progress = {});

}  // namespace pd
