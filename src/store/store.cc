#include "store/store.h"

#include "store/sqlite/sqlite_store.h"

namespace pd {

absl::StatusOr<std::unique_ptr<Store>> open_store(const std::string& url, bool create) {
  // Only SQLite files so far; a postgresql:// URL will select the other
  // implementation.
  auto store = SqliteStore::open(url, create);
  if (!store.ok()) return store.status();
  return std::unique_ptr<Store>(std::move(*store));
}

}  // namespace pd
