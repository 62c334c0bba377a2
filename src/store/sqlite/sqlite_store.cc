#include "store/sqlite/sqlite_store.h"

#include <date/tz.h>
#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <filesystem>
#include <random>

#include "core/advice.h"
#include "core/config_keys.h"
#include "core/status_macros.h"
#include "core/strings.h"
#include "store/store_common.h"

namespace pd {
namespace {

using sqlite::Stmt;
using namespace store_common;  // NOLINT: the helpers both stores share

constexpr const char* kSchemaV1 = R"sql(
CREATE TABLE IF NOT EXISTS meta(
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS campaigns(
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  state TEXT NOT NULL DEFAULT 'idle',
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS config(
  campaign_id INTEGER NOT NULL REFERENCES campaigns(id),
  key TEXT NOT NULL,
  value TEXT NOT NULL,
  PRIMARY KEY(campaign_id, key)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS customers(
  id INTEGER PRIMARY KEY,
  campaign_id INTEGER NOT NULL REFERENCES campaigns(id),
  cust_id TEXT NOT NULL,
  attributes TEXT NOT NULL,
  line INTEGER NOT NULL,
  state TEXT NOT NULL DEFAULT 'pending',
  next_phone INTEGER NOT NULL DEFAULT 0,
  next_at INTEGER NOT NULL DEFAULT 0,
  UNIQUE(campaign_id, cust_id)
);
CREATE TABLE IF NOT EXISTS phones(
  customer_id INTEGER NOT NULL,
  seq INTEGER NOT NULL,
  e164 TEXT NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY(customer_id, seq)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS attempts(
  id INTEGER PRIMARY KEY,
  campaign_id INTEGER NOT NULL REFERENCES campaigns(id),
  customer_id INTEGER NOT NULL,
  phone_seq INTEGER NOT NULL,
  phone TEXT NOT NULL,
  attempt_on_phone INTEGER NOT NULL,
  state TEXT NOT NULL,
  outcome TEXT,
  owner TEXT NOT NULL,
  started_at INTEGER NOT NULL,
  answered_at INTEGER,
  ended_at INTEGER,
  contact_id TEXT,
  agent_id TEXT,
  disconnect_reason TEXT,
  disposition TEXT
);
CREATE INDEX IF NOT EXISTS attempts_open ON attempts(campaign_id, state);
CREATE UNIQUE INDEX IF NOT EXISTS attempts_contact ON attempts(contact_id)
  WHERE contact_id IS NOT NULL;
CREATE TABLE IF NOT EXISTS rejects(
  campaign_id INTEGER NOT NULL,
  line INTEGER NOT NULL,
  reason TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS rejects_campaign ON rejects(campaign_id, line);
CREATE TABLE IF NOT EXISTS checkpoints(
  stream TEXT NOT NULL,
  shard TEXT NOT NULL,
  sequence TEXT NOT NULL,
  PRIMARY KEY(stream, shard)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS leases(
  campaign_id INTEGER PRIMARY KEY,
  owner TEXT NOT NULL,
  expires_at INTEGER NOT NULL
);
)sql";

// Version 2: bearer tokens for the HTTP API (`serve`), hashes only.
constexpr const char* kSchemaV2 = R"sql(
CREATE TABLE IF NOT EXISTS api_tokens(
  name TEXT PRIMARY KEY,
  sha256 TEXT NOT NULL UNIQUE,
  hint TEXT NOT NULL,
  created_at INTEGER NOT NULL
);
)sql";

// Version 3: rejected rows are counted by reason at each load (only the
// first few are kept with their line), so a list of bad rows cannot fill
// the disk. Counts for rejects kept before version 3 are filled in as
// "unclassified".
constexpr const char* kSchemaV3 = R"sql(
CREATE TABLE IF NOT EXISTS reject_counts(
  campaign_id INTEGER NOT NULL,
  reason TEXT NOT NULL,
  rows INTEGER NOT NULL,
  PRIMARY KEY(campaign_id, reason)
) WITHOUT ROWID;
INSERT OR IGNORE INTO reject_counts(campaign_id, reason, rows)
  SELECT campaign_id, 'unclassified', count(*) FROM rejects GROUP BY campaign_id;
)sql";

// Version 4: compliance (compliance/policy.h). Where each phone's owner is
// (zones, region), why a rule holds a customer, the zone each attempt was
// checked in and the rule that suppressed it; the store-wide do-not-call
// list (numbers as E.164 digits, so the key is the rowid: the smallest and
// fastest index SQLite has); the abandon-rate ledger per campaign and day;
// what each rule checked and held back; store-wide settings. The indexes
// count a phone's and a customer's calls across campaigns (caps, lockout).
struct AddedColumn {
  const char* table;
  const char* column;
  const char* declaration;
};
constexpr AddedColumn kSchemaV4Columns[] = {
    {"phones", "zones", "TEXT NOT NULL DEFAULT ''"},
    {"phones", "region", "TEXT NOT NULL DEFAULT ''"},
    {"customers", "held", "TEXT"},
    {"attempts", "callee_timezone", "TEXT"},
    {"attempts", "rule", "TEXT"},
};
constexpr const char* kSchemaV4 = R"sql(
CREATE INDEX IF NOT EXISTS attempts_phone_time ON attempts(phone, started_at);
CREATE INDEX IF NOT EXISTS customers_cust_id ON customers(cust_id);
CREATE TABLE IF NOT EXISTS dnc_sources(
  id INTEGER PRIMARY KEY,
  label TEXT NOT NULL UNIQUE
);
CREATE TABLE IF NOT EXISTS dnc(
  number INTEGER PRIMARY KEY,
  source_id INTEGER NOT NULL,
  added_at INTEGER NOT NULL,
  expires_at INTEGER
);
CREATE TABLE IF NOT EXISTS abandon_ledger(
  campaign_id INTEGER NOT NULL,
  day TEXT NOT NULL,
  answered INTEGER NOT NULL DEFAULT 0,
  abandoned INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY(campaign_id, day)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS compliance_counts(
  campaign_id INTEGER NOT NULL,
  rule TEXT NOT NULL,
  checked INTEGER NOT NULL DEFAULT 0,
  held INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY(campaign_id, rule)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS call_history(
  phone TEXT NOT NULL,
  cust_id TEXT NOT NULL,
  started_at INTEGER NOT NULL,
  abandoned_at INTEGER
);
CREATE INDEX IF NOT EXISTS call_history_phone ON call_history(phone, started_at);
CREATE INDEX IF NOT EXISTS call_history_cust_id ON call_history(cust_id, started_at);
CREATE TABLE IF NOT EXISTS settings(
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL
) WITHOUT ROWID;
)sql";

// Version 5: leases carry a fencing token (Store::fence), drawn from a
// store-wide counter so a token is never reused, even after a release.
constexpr const char* kSchemaV5 = R"sql(
INSERT OR IGNORE INTO meta(key, value) VALUES('last_lease_token', '0');
)sql";

// Version 6: dialer nodes (`serve` processes sharing the store), each
// alive until its heartbeat lapses.
constexpr const char* kSchemaV6 = R"sql(
CREATE TABLE IF NOT EXISTS nodes(
  id TEXT PRIMARY KEY,
  until_ms INTEGER NOT NULL,
  draining INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
)sql";

// A node whose heartbeat lapsed this long ago is forgotten by the next
// heartbeat of any node: a killed node never removes itself, and default
// node ids are new at every start.
constexpr int64_t kForgetNodeAfterMs = 24LL * 3600 * 1000;

// Version 6: what status() shows, counted in the transactions that change
// it (store.h; docs in the seam plan), so status() reads a few rows instead
// of scanning the list. Keys (`what`): 'customers', 'phones',
// 'customer:<customers.state>', 'attempts', 'in_flight' (attempts not
// ended), 'outcome:<attempts.outcome>' (ended attempts). A store from
// before version 6 gets them from one scan here.
constexpr const char* kSchemaV6Counts = R"sql(
CREATE TABLE IF NOT EXISTS campaign_counts(
  campaign_id INTEGER NOT NULL,
  what TEXT NOT NULL,
  n INTEGER NOT NULL,
  PRIMARY KEY(campaign_id, what)
) WITHOUT ROWID;
DELETE FROM campaign_counts;
INSERT INTO campaign_counts(campaign_id, what, n)
  SELECT campaign_id, 'customers', count(*) FROM customers GROUP BY campaign_id;
INSERT INTO campaign_counts(campaign_id, what, n)
  SELECT campaign_id, 'customer:' || state, count(*) FROM customers GROUP BY campaign_id, state;
INSERT INTO campaign_counts(campaign_id, what, n)
  SELECT cu.campaign_id, 'phones', count(*) FROM phones p JOIN customers cu
  ON cu.id = p.customer_id GROUP BY cu.campaign_id;
INSERT INTO campaign_counts(campaign_id, what, n)
  SELECT campaign_id, 'attempts', count(*) FROM attempts GROUP BY campaign_id;
INSERT INTO campaign_counts(campaign_id, what, n)
  SELECT campaign_id, 'in_flight', count(*) FROM attempts WHERE state != 'ended'
  GROUP BY campaign_id;
INSERT INTO campaign_counts(campaign_id, what, n)
  SELECT campaign_id, 'outcome:' || outcome, count(*) FROM attempts
  WHERE state = 'ended' AND outcome IS NOT NULL GROUP BY campaign_id, outcome;
)sql";

// campaign_counts keys.
constexpr std::string_view kCountCustomers = "customers";
constexpr std::string_view kCountPhones = "phones";
constexpr std::string_view kCountAttempts = "attempts";
constexpr std::string_view kCountInFlight = "in_flight";
constexpr std::string_view kCustomerPrefix = "customer:";
constexpr std::string_view kOutcomePrefix = "outcome:";

// "customer:<state>", in static storage.
std::string_view customer_count_key(CustomerState s) {
  static const std::vector<std::string> keys = [] {
    std::vector<std::string> k;
    for (auto st : {CustomerState::kPending, CustomerState::kDialing, CustomerState::kReached,
                    CustomerState::kExhausted, CustomerState::kSuppressed}) {
      k.push_back(cat(kCustomerPrefix, to_string(st)));
    }
    return k;
  }();
  return keys.at(static_cast<size_t>(s));
}

// "outcome:<outcome>", in static storage.
std::string_view outcome_count_key(Outcome o) {
  static const std::vector<std::string> keys = [] {
    std::vector<std::string> k;
    for (int i = 0; i < kOutcomeCount; ++i) {
      k.push_back(cat(kOutcomePrefix, to_string(static_cast<Outcome>(i))));
    }
    return k;
  }();
  return keys.at(static_cast<size_t>(o));
}

absl::StatusOr<CustomerState> customer_state_from(std::string_view text) {
  auto s = parse_customer_state(text);
  if (!s) return absl::DataLossError(cat("unknown customer state '", text, "'"));
  return *s;
}

// Adds one campaign_counts row to `st`.
void add_count(CampaignStatus& st, std::string_view what, int64_t n) {
  if (what == kCountCustomers) {
    st.customers += n;
  } else if (what == kCountPhones) {
    st.phones += n;
  } else if (what == kCountAttempts) {
    st.attempts += n;
  } else if (what == kCountInFlight) {
    st.attempts_in_flight += n;
  } else if (what.substr(0, kCustomerPrefix.size()) == kCustomerPrefix) {
    if (auto s = parse_customer_state(what.substr(kCustomerPrefix.size()))) {
      st.customers_by_state[*s] += n;
    }
  } else if (what.substr(0, kOutcomePrefix.size()) == kOutcomePrefix) {
    if (auto o = parse_outcome(what.substr(kOutcomePrefix.size()))) {
      st.attempts_by_outcome[*o] += n;
    }
  }
}

// The latest time recorded for an attempt, indexed, so a restarted
// simulator can start its clock after it with one index lookup. Not a schema
// version of its own: any build can live with an extra index, so `init`
// adds it to existing stores and every new store has it
// (latest_recorded_time() is right without it, only slower).
constexpr const char* kLatestTimeIndex =
    "CREATE INDEX IF NOT EXISTS attempts_latest ON attempts("
    "max(started_at, coalesce(answered_at, 0), coalesce(ended_at, 0)))";

// A customer's calls in every campaign, by time, for the per-customer caps
// (max-customer-calls-per-24h/-7d) and dispositions. Like kLatestTimeIndex,
// not a schema version: `init` adds it to existing stores.
constexpr const char* kCustomerCallsIndex =
    "CREATE INDEX IF NOT EXISTS attempts_customer_time ON attempts(customer_id, started_at)";

// The customers due to be called, by campaign and time: pending ones only,
// so a claim takes its customer out of the index and a retry puts it back
// (no entry moves for every other state change), and the index holds only
// what is left to call. Like kLatestTimeIndex, not a schema version: the
// queries are the same with the earlier index, on (campaign_id, state,
// next_at, id) over every customer, which `init` replaces.
constexpr const char* kCallableIndex =
    "CREATE INDEX IF NOT EXISTS customers_callable ON customers(campaign_id, next_at, id) "
    "WHERE state = 'pending'";

constexpr const char* kAttemptColumns =
    "a.id, c.name, cu.cust_id, a.phone, a.attempt_on_phone, a.state, a.outcome, a.started_at, "
    "a.answered_at, a.ended_at, a.disconnect_reason, a.contact_id, a.agent_id, a.disposition, "
    "a.owner, a.callee_timezone, a.rule";
constexpr int kAttemptColumnCount = 17;

AttemptRecord read_attempt(const Stmt& s, std::string_view instance_id) {
  AttemptRecord r;
  r.id = s.int64(0);
  r.campaign = s.text(1);
  r.cust_id = s.text(2);
  r.phone = s.text(3);
  r.attempt_on_phone = static_cast<int>(s.int64(4));
  r.state = parse_attempt_state(s.text(5)).value_or(AttemptState::kDialing);
  if (!s.is_null(6)) r.outcome = parse_outcome(s.text(6));
  r.started_at = wall(s.int64(7));
  if (auto v = s.opt_int64(8)) r.answered_at = wall(*v);
  if (auto v = s.opt_int64(9)) r.ended_at = wall(*v);
  r.disconnect_reason = s.text(10);
  r.contact_id = s.text(11);
  r.agent_id = s.text(12);
  r.disposition = s.text(13);
  r.owner = s.text(14);
  r.callee_timezone = s.text(15);
  r.rule = s.text(16);
  r.client_token = client_token(instance_id, r.id, ms(r.started_at));
  return r;
}

}  // namespace

// ---------------------------------------------------------------------------
// List import: one transaction from begin_list() to commit().

class SqliteStore::Writer final : public ListWriter {
 public:
  Writer(SqliteStore& store, CampaignId id)
      : store_(store), campaign_(id), txn_(store.db_, sqlite::Transaction::Nested::kSavepoint) {}

  absl::Status start(LoadMode mode) {
    // The load writes the counts itself (below and at commit): what a batch
    // holds in memory goes first, so a rolled-back load leaves it counted.
    PD_RETURN_IF_ERROR(store_.flush_status_counts());
    PD_RETURN_IF_ERROR(txn_.begin());
    PD_ASSIGN_OR_RETURN(Campaign c, store_.campaign_by_id(campaign_));
    if (c.state == CampaignState::kRunning || c.state == CampaignState::kStopping) {
      return absl::FailedPreconditionError(cat("campaign '", c.name, "' is ", to_string(c.state),
                                               "; stop it before loading a list"));
    }
    if (mode == LoadMode::kReplace) {
      // The caps and the abandon lockout count every call placed to a
      // number or a customer, whatever list it came from: the calls this
      // reload forgets are kept (as long as any rule can look back) in
      // call_history, so re-running a campaign cannot reset them.
      // "As long as" is measured from the newest call recorded, not the
      // wall clock: a simulated campaign's clock is not today's.
      for (const char* sql : {
               "INSERT INTO call_history(phone, cust_id, started_at, abandoned_at) "
               "SELECT a.phone, cu.cust_id, a.started_at, CASE WHEN a.outcome = 'abandoned' "
               "THEN coalesce(a.ended_at, a.started_at) END FROM attempts a JOIN customers cu "
               "ON cu.id = a.customer_id WHERE a.campaign_id = ?1 AND "
               "a.outcome IS NOT 'suppressed' AND a.started_at >= (SELECT max(started_at) "
               "FROM attempts WHERE campaign_id = ?1) - ?2",
               "DELETE FROM call_history WHERE started_at < "
               "(SELECT max(started_at) FROM call_history) - ?2",
           }) {
        PD_ASSIGN_OR_RETURN(Stmt s, store_.db_.prepare(sql));
        PD_RETURN_IF_ERROR(s.bind(1, campaign_).bind(2, kCallHistoryKeptMs).run());
      }
      for (const char* sql : {
               "DELETE FROM phones WHERE customer_id IN "
               "(SELECT id FROM customers WHERE campaign_id = ?1)",
               "DELETE FROM attempts WHERE campaign_id = ?1",
               "DELETE FROM customers WHERE campaign_id = ?1",
               "DELETE FROM campaign_counts WHERE campaign_id = ?1",
           }) {
        PD_ASSIGN_OR_RETURN(Stmt s, store_.db_.prepare(sql));
        PD_RETURN_IF_ERROR(s.bind(1, campaign_).run());
      }
    }
    // Rejects describe one load (an append's line numbers are its own file's).
    for (const char* sql : {
             "DELETE FROM rejects WHERE campaign_id = ?1",
             "DELETE FROM reject_counts WHERE campaign_id = ?1",
         }) {
      PD_ASSIGN_OR_RETURN(Stmt s, store_.db_.prepare(sql));
      PD_RETURN_IF_ERROR(s.bind(1, campaign_).run());
    }
    // A new or extended list makes a finished campaign callable again.
    PD_ASSIGN_OR_RETURN(Stmt s,
                        store_.db_.prepare("UPDATE campaigns SET state = 'idle', updated_at = ?2 "
                                           "WHERE id = ?1 AND state IN ('done', 'stopped')"));
    PD_RETURN_IF_ERROR(s.bind(1, campaign_).bind(2, wall_now_ms()).run());

    PD_ASSIGN_OR_RETURN(insert_customer_,
                        store_.db_.prepare("INSERT INTO customers(campaign_id, cust_id, "
                                           "attributes, line) VALUES(?1, ?2, ?3, ?4) "
                                           "ON CONFLICT DO NOTHING"));
    PD_ASSIGN_OR_RETURN(find_customer_,
                        store_.db_.prepare("SELECT cu.id, (SELECT COALESCE(MAX(seq) + 1, 0) "
                                           "FROM phones WHERE customer_id = cu.id) "
                                           "FROM customers cu WHERE campaign_id = ?1 AND "
                                           "cust_id = ?2"));
    PD_ASSIGN_OR_RETURN(insert_phone_,
                        store_.db_.prepare("INSERT INTO phones(customer_id, seq, e164, "
                                           "zones, region) VALUES(?1, ?2, ?3, ?4, ?5)"));
    PD_ASSIGN_OR_RETURN(find_phone_, store_.db_.prepare("SELECT 1 FROM phones WHERE "
                                                        "customer_id = ?1 AND e164 = ?2"));
    PD_ASSIGN_OR_RETURN(insert_reject_, store_.db_.prepare("INSERT INTO rejects(campaign_id, "
                                                           "line, reason) VALUES(?1, ?2, ?3)"));
    return absl::OkStatus();
  }

  absl::StatusOr<bool> add(std::string_view cust_id, std::string_view phone_e164,
                           std::string_view attributes_json, int64_t line,
                           const CalleeFacts& callee) override {
    // Lists usually keep a customer's rows together; remembering the last
    // customer saves a lookup per extra phone.
    if (cust_id != last_cust_id_) {
      PD_RETURN_IF_ERROR(insert_customer_.bind(1, campaign_)
                             .bind(2, cust_id)
                             .bind(3, attributes_json)
                             .bind(4, line)
                             .run());
      last_phones_.clear();
      if (store_.db_.changes() == 1) {
        ++new_customers_;
        last_customer_ = store_.db_.last_insert_rowid();
        next_seq_ = 0;
        phones_in_memory_ = true;
      } else {
        phones_in_memory_ = false;
        find_customer_.bind(1, campaign_).bind(2, cust_id);
        PD_ASSIGN_OR_RETURN(bool row, find_customer_.step());
        if (!row) return absl::InternalError("customer vanished during import");
        last_customer_ = find_customer_.int64(0);
        next_seq_ = find_customer_.int64(1);
        find_customer_.reset();
      }
      last_cust_id_.assign(cust_id);
    }
    // The same phone again is kept once. A customer first seen in this run
    // of rows has their phones here; anyone else's are looked up (cheaper
    // than a unique index that every row would pay for).
    if (phones_in_memory_) {
      if (std::find(last_phones_.begin(), last_phones_.end(), phone_e164) != last_phones_.end()) {
        return false;
      }
    } else {
      find_phone_.bind(1, last_customer_).bind(2, phone_e164);
      PD_ASSIGN_OR_RETURN(bool seen, find_phone_.step());
      find_phone_.reset();
      if (seen) return false;
    }
    zones_ = join_zones(callee.zones);
    PD_RETURN_IF_ERROR(insert_phone_.bind(1, last_customer_)
                           .bind(2, next_seq_)
                           .bind(3, phone_e164)
                           .bind(4, zones_)
                           .bind(5, callee.region)
                           .run());
    ++next_seq_;
    ++new_phones_;
    if (phones_in_memory_) {
      if (last_phones_.size() < kPhonesInMemory) {
        last_phones_.emplace_back(phone_e164);
      } else {
        phones_in_memory_ = false;  // a long run of one customer: ask the store
      }
    }
    return true;
  }

  absl::Status reject(int64_t line, std::string_view reason) override {
    return insert_reject_.bind(1, campaign_).bind(2, line).bind(3, reason).run();
  }

  absl::Status count_rejects(const std::map<std::string, int64_t>& by_reason) override {
    PD_ASSIGN_OR_RETURN(Stmt s, store_.db_.prepare("INSERT INTO reject_counts(campaign_id, "
                                                   "reason, rows) VALUES(?1, ?2, ?3) "
                                                   "ON CONFLICT DO UPDATE SET rows = ?3"));
    for (const auto& [reason, rows] : by_reason) {
      if (rows > 0) PD_RETURN_IF_ERROR(s.bind(1, campaign_).bind(2, reason).bind(3, rows).run());
    }
    return absl::OkStatus();
  }

  absl::Status commit() override {
    // New customers are pending (the customers table's default).
    PD_RETURN_IF_ERROR(store_.write_counts({
        {campaign_, kCountCustomers, new_customers_},
        {campaign_, customer_count_key(CustomerState::kPending), new_customers_},
        {campaign_, kCountPhones, new_phones_},
    }));
    return txn_.commit();
  }

 private:
  SqliteStore& store_;
  CampaignId campaign_;
  sqlite::Transaction txn_;
  static constexpr size_t kPhonesInMemory = 64;
  Stmt insert_customer_, find_customer_, insert_phone_, find_phone_, insert_reject_;
  std::string last_cust_id_;
  std::string zones_;  // the row's, joined (kept to reuse its buffer)
  std::vector<std::string> last_phones_;  // the last customer's, while phones_in_memory_
  bool phones_in_memory_ = false;
  int64_t last_customer_ = 0;
  int64_t next_seq_ = 0;
  int64_t new_customers_ = 0;  // for campaign_counts, written at commit()
  int64_t new_phones_ = 0;
};

// ---------------------------------------------------------------------------

absl::StatusOr<std::unique_ptr<SqliteStore>> SqliteStore::open(const std::string& path, bool create,
                                                               Durability durability) {
  // SQLite reads both as "a private temporary database": everything would
  // seem to work and nothing would be kept.
  if (path.empty() || path == ":memory:") {
    return absl::InvalidArgumentError(
        cat(path.empty() ? "the store's file name is empty" : "':memory:' would keep nothing",
            ": give the store's file path with --db FILE (or POWERDIALER_DB)"));
  }
  if (!create && !std::filesystem::exists(path)) {
    return absl::FailedPreconditionError(
        cat("no store at ", path, "; run 'powerdialer init' first"));
  }
  std::unique_ptr<SqliteStore> store(new SqliteStore());
  store->path_ = path;
  store->durability_ = durability;
  PD_RETURN_IF_ERROR(store->db_.open(path, create));
  sqlite3_busy_timeout(store->db_.handle(), 10000);
  // WAL: readers (status, results) never block the dialer's writes.
  PD_RETURN_IF_ERROR(store->db_.exec("PRAGMA journal_mode=WAL"));
  PD_RETURN_IF_ERROR(store->db_.exec(durability == Durability::kFull ? "PRAGMA synchronous=FULL"
                                                                     : "PRAGMA synchronous=OFF"));
  if (durability != Durability::kFull) {
    // One user: skip the per-transaction file locks, and give it a page
    // cache big enough that a batch's index updates do not spill to disk
    // mid-transaction (a fixed cap, not per row).
    PD_RETURN_IF_ERROR(store->db_.exec("PRAGMA locking_mode=EXCLUSIVE"));
    PD_RETURN_IF_ERROR(store->db_.exec("PRAGMA cache_size=-65536"));
  }
  // Savepoint journals (operations inside a batch) stay in memory.
  PD_RETURN_IF_ERROR(store->db_.exec("PRAGMA temp_store=MEMORY"));
  PD_RETURN_IF_ERROR(store->db_.exec("PRAGMA foreign_keys=ON"));
  if (create) {
    PD_RETURN_IF_ERROR(store->migrate());
  } else {
    PD_RETURN_IF_ERROR(store->check_schema());
  }
  return store;
}

absl::StatusOr<int> SqliteStore::schema_version() {
  PD_ASSIGN_OR_RETURN(Stmt s, db_.prepare("SELECT count(*), COALESCE(SUM(name = 'meta'), 0) "
                                          "FROM sqlite_master WHERE type = 'table'"));
  PD_ASSIGN_OR_RETURN(bool row, s.step());
  if (!row || s.int64(0) == 0) return 0;
  if (s.int64(1) == 0) {
    return absl::FailedPreconditionError(
        cat(path_,
            " is not a powerdialer store (an SQLite database with other tables); check "
            "the --db path"));
  }
  PD_ASSIGN_OR_RETURN(Stmt v, db_.prepare("SELECT value FROM meta WHERE key = 'schema_version'"));
  PD_ASSIGN_OR_RETURN(row, v.step());
  if (!row) return 0;
  const std::string_view text = v.text(0);
  int version = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), version);
  if (ec != std::errc() || end != text.data() + text.size() || version < 1) {
    return absl::DataLossError(
        cat(path_, " is damaged (its schema version reads '", text.substr(0, 20),
            "'); restore it from a backup, or start a new store with 'powerdialer --db "
            "NEW_FILE init'"));
  }
  return version;
}

absl::Status SqliteStore::check_schema() {
  PD_ASSIGN_OR_RETURN(int version, schema_version());
  if (version == 0) {
    return absl::FailedPreconditionError(
        cat(path_, " is not initialised; run 'powerdialer init' first"));
  }
  if (version < kSchemaVersion) {
    return absl::FailedPreconditionError(
        cat(path_, " has schema version ", version, "; run 'powerdialer init' to upgrade it"));
  }
  if (version > kSchemaVersion) {
    return absl::FailedPreconditionError(
        cat(path_, " was written by a newer powerdialer (schema version ", version,
            "); this build knows version ", kSchemaVersion));
  }
  PD_ASSIGN_OR_RETURN(Stmt s, db_.prepare("SELECT value FROM meta WHERE key = 'instance_id'"));
  PD_ASSIGN_OR_RETURN(bool row, s.step());
  if (row) instance_id_ = s.text(0);
  return absl::OkStatus();
}

absl::Status SqliteStore::migrate() {
  sqlite::Transaction txn(db_);
  PD_RETURN_IF_ERROR(txn.begin());
  PD_ASSIGN_OR_RETURN(int version, schema_version());
  if (version > kSchemaVersion) return check_schema();
  // Each step is idempotent.
  if (version < 1) PD_RETURN_IF_ERROR(db_.exec(kSchemaV1));
  if (version < 2) PD_RETURN_IF_ERROR(db_.exec(kSchemaV2));
  if (version < 3) PD_RETURN_IF_ERROR(db_.exec(kSchemaV3));
  if (version < 4) {
    for (const AddedColumn& c : kSchemaV4Columns) {
      PD_RETURN_IF_ERROR(add_column(c.table, c.column, c.declaration));
    }
    PD_RETURN_IF_ERROR(db_.exec(kSchemaV4));
  }
  if (version < 5) {
    PD_RETURN_IF_ERROR(add_column("leases", "token", "INTEGER NOT NULL DEFAULT 0"));
    PD_RETURN_IF_ERROR(db_.exec(kSchemaV5));
  }
  if (version < 6) {
    PD_RETURN_IF_ERROR(db_.exec(kSchemaV6));
    PD_RETURN_IF_ERROR(db_.exec(kSchemaV6Counts));
  }
  // A throw-away store (`simulate`) never resumes a clock: spare its writes.
  if (durability_ == Durability::kFull) PD_RETURN_IF_ERROR(db_.exec(kLatestTimeIndex));
  PD_RETURN_IF_ERROR(db_.exec(kCustomerCallsIndex));
  // SQLite says which indexes are partial (index_list's `partial` column).
  PD_ASSIGN_OR_RETURN(Stmt callable, db_.prepare("SELECT partial FROM pragma_index_list("
                                                 "'customers') WHERE name = 'customers_callable'"));
  PD_ASSIGN_OR_RETURN(bool have_callable, callable.step());
  const bool callable_is_partial = have_callable && callable.int64(0) != 0;
  callable.reset();
  if (have_callable && !callable_is_partial) {
    PD_RETURN_IF_ERROR(db_.exec("DROP INDEX customers_callable"));
  }
  PD_RETURN_IF_ERROR(db_.exec(kCallableIndex));
  PD_ASSIGN_OR_RETURN(Stmt set, db_.prepare("INSERT INTO meta(key, value) VALUES(?1, ?2) "
                                            "ON CONFLICT(key) DO UPDATE SET value = ?2"));
  PD_RETURN_IF_ERROR(set.bind(1, "schema_version").bind(2, std::to_string(kSchemaVersion)).run());
  PD_ASSIGN_OR_RETURN(Stmt id, db_.prepare("INSERT INTO meta(key, value) VALUES('instance_id', "
                                           "?1) ON CONFLICT(key) DO NOTHING"));
  PD_RETURN_IF_ERROR(id.bind(1, random_hex(8)).run());
  PD_RETURN_IF_ERROR(txn.commit());
  return check_schema();
}

absl::Status SqliteStore::recount_campaigns() { return db_.exec(kSchemaV6Counts); }

// ALTER TABLE ADD COLUMN fails on a column that exists; a schema step must
// be safe to run again.
absl::Status SqliteStore::add_column(const char* table, const char* column,
                                     const char* declaration) {
  PD_ASSIGN_OR_RETURN(Stmt s, db_.prepare(cat("SELECT 1 FROM pragma_table_info('", table,
                                              "') WHERE name = '", column, "'")));
  PD_ASSIGN_OR_RETURN(bool exists, s.step());
  if (exists) return absl::OkStatus();
  return db_.exec(cat("ALTER TABLE ", table, " ADD COLUMN ", column, " ", declaration));
}

absl::Status SqliteStore::pin_instance_id(std::string_view id) {
  PD_ASSIGN_OR_RETURN(Stmt s, db_.prepare("UPDATE meta SET value = ?1 WHERE key = 'instance_id'"));
  PD_RETURN_IF_ERROR(s.bind(1, id).run());
  instance_id_ = id;
  return absl::OkStatus();
}

absl::StatusOr<Stmt*> SqliteStore::stmt(const char* sql) {
  auto it = stmts_.find(sql);
  if (it == stmts_.end()) {
    PD_ASSIGN_OR_RETURN(Stmt s, db_.prepare(sql));
    it = stmts_.emplace(sql, std::move(s)).first;
  }
  it->second.reset();
  return &it->second;
}

absl::StatusOr<Campaign> SqliteStore::campaign_by_id(CampaignId id) {
  PD_ASSIGN_OR_RETURN(Stmt * s, stmt("SELECT id, name, state FROM campaigns WHERE id = ?1"));
  s->bind(1, id);
  PD_ASSIGN_OR_RETURN(bool row, s->step());
  if (!row) return absl::NotFoundError(cat("no campaign with id ", id));
  PD_ASSIGN_OR_RETURN(CampaignState state, state_from(s->text(2)));
  Campaign c{s->int64(0), std::string(s->text(1)), state};
  s->reset();
  return c;
}

absl::StatusOr<Campaign> SqliteStore::init_campaign(std::string_view name) {
  sqlite::Transaction txn(db_);
  PD_RETURN_IF_ERROR(txn.begin());
  PD_ASSIGN_OR_RETURN(Stmt * ins, stmt("INSERT INTO campaigns(name, created_at, updated_at) "
                                       "VALUES(?1, ?2, ?2) ON CONFLICT(name) DO NOTHING"));
  PD_RETURN_IF_ERROR(ins->bind(1, name).bind(2, wall_now_ms()).run());
  PD_ASSIGN_OR_RETURN(Campaign c, find_campaign(name));
  PD_ASSIGN_OR_RETURN(Stmt * def, stmt("INSERT INTO config(campaign_id, key, value) "
                                       "VALUES(?1, ?2, ?3) ON CONFLICT DO NOTHING"));
  for (const ConfigKey& key : all_config_keys()) {
    if (key.default_value.empty()) continue;
    PD_RETURN_IF_ERROR(def->bind(1, c.id).bind(2, key.name).bind(3, key.default_value).run());
  }
  PD_RETURN_IF_ERROR(txn.commit());
  return c;
}

absl::StatusOr<Campaign> SqliteStore::find_campaign(std::string_view name) {
  PD_ASSIGN_OR_RETURN(Stmt * s, stmt("SELECT id, name, state FROM campaigns WHERE name = ?1"));
  s->bind(1, name);
  PD_ASSIGN_OR_RETURN(bool row, s->step());
  if (!row) {
    return with_advice(absl::NotFoundError(cat("no campaign ", echo(name))),
                       {Remedy::kCreateCampaign, std::string(name), ""});
  }
  PD_ASSIGN_OR_RETURN(CampaignState state, state_from(s->text(2)));
  Campaign c{s->int64(0), std::string(s->text(1)), state};
  s->reset();
  return c;
}

absl::StatusOr<std::vector<Campaign>> SqliteStore::list_campaigns() {
  PD_ASSIGN_OR_RETURN(Stmt * s, stmt("SELECT id, name, state FROM campaigns ORDER BY name"));
  std::vector<Campaign> out;
  while (true) {
    PD_ASSIGN_OR_RETURN(bool row, s->step());
    if (!row) break;
    PD_ASSIGN_OR_RETURN(CampaignState state, state_from(s->text(2)));
    out.push_back({s->int64(0), std::string(s->text(1)), state});
  }
  s->reset();
  return out;
}

absl::StatusOr<Campaign> SqliteStore::transition(CampaignId id, std::vector<CampaignState> from,
                                                 CampaignState to) {
  sqlite::Transaction txn(db_);
  PD_RETURN_IF_ERROR(txn.begin());
  PD_RETURN_IF_ERROR(check_fence());
  PD_ASSIGN_OR_RETURN(Campaign c, campaign_by_id(id));
  if (!from.empty() && std::find(from.begin(), from.end(), c.state) == from.end()) {
    return absl::FailedPreconditionError(cat("campaign '", c.name, "' is ", to_string(c.state)));
  }
  PD_ASSIGN_OR_RETURN(Stmt * s,
                      stmt("UPDATE campaigns SET state = ?2, updated_at = ?3 WHERE id = ?1"));
  PD_RETURN_IF_ERROR(s->bind(1, id).bind(2, to_string(to)).bind(3, wall_now_ms()).run());
  PD_RETURN_IF_ERROR(txn.commit());
  c.state = to;
  return c;
}

absl::StatusOr<std::map<std::string, std::string>> SqliteStore::config(CampaignId id) {
  PD_ASSIGN_OR_RETURN(Stmt * s, stmt("SELECT key, value FROM config WHERE campaign_id = ?1"));
  s->bind(1, id);
  std::map<std::string, std::string> out;
  while (true) {
    PD_ASSIGN_OR_RETURN(bool row, s->step());
    if (!row) break;
    out.emplace(s->text(0), s->text(1));
  }
  s->reset();
  return out;
}

absl::Status SqliteStore::set_config(CampaignId id, std::string_view key, std::string_view value) {
  policies_.erase(id);
  PD_ASSIGN_OR_RETURN(Stmt * s, stmt("INSERT INTO config(campaign_id, key, value) "
                                     "VALUES(?1, ?2, ?3) "
                                     "ON CONFLICT(campaign_id, key) DO UPDATE SET value = ?3"));
  return s->bind(1, id).bind(2, key).bind(3, value).run();
}

absl::Status SqliteStore::unset_config(CampaignId id, std::string_view key) {
  policies_.erase(id);
  PD_ASSIGN_OR_RETURN(Stmt * s, stmt("DELETE FROM config WHERE campaign_id = ?1 AND key = ?2"));
  return s->bind(1, id).bind(2, key).run();
}

absl::StatusOr<std::unique_ptr<ListWriter>> SqliteStore::begin_list(CampaignId id, LoadMode mode) {
  auto writer = std::make_unique<Writer>(*this, id);
  PD_RETURN_IF_ERROR(writer->start(mode));
  return writer;
}

absl::StatusOr<std::vector<Claim>> SqliteStore::claim(CampaignId id, int max, WallTime now,
                                                      std::string_view owner) {
  std::vector<Claim> claims;
  if (max <= 0) return claims;
  op_counts_.clear();
  sqlite::Transaction txn(db_);
  PD_RETURN_IF_ERROR(txn.begin());
  PD_RETURN_IF_ERROR(check_fence());
  PD_ASSIGN_OR_RETURN(const CompliancePolicy* policy, policy_for(id));
  RuleCounts counts;
  PD_RETURN_IF_ERROR(check_abandon_rate(id, *policy, now, counts));

  PD_ASSIGN_OR_RETURN(Stmt * pick,
                      stmt("SELECT cu.id, cu.cust_id, cu.attributes, cu.next_phone, p.e164, "
                           "p.attempts, p.zones, p.region FROM customers cu JOIN phones p "
                           "ON p.customer_id = cu.id AND p.seq = cu.next_phone "
                           "WHERE cu.campaign_id = ?1 AND cu.state = 'pending' AND "
                           "cu.next_at <= ?2 ORDER BY cu.next_at, cu.id LIMIT ?3"));
  PD_ASSIGN_OR_RETURN(Stmt * insert,
                      stmt("INSERT INTO attempts(campaign_id, customer_id, phone_seq, phone, "
                           "attempt_on_phone, state, owner, started_at, callee_timezone) "
                           "VALUES(?1, ?2, ?3, ?4, ?5, 'dialing', ?6, ?7, ?8)"));
  PD_ASSIGN_OR_RETURN(Stmt * phone, stmt("UPDATE phones SET attempts = attempts + 1 "
                                         "WHERE customer_id = ?1 AND seq = ?2"));
  PD_ASSIGN_OR_RETURN(Stmt * customer,
                      stmt("UPDATE customers SET state = 'dialing', held = NULL WHERE id = ?1"));
  // Every customer looked at leaves the due set (claimed, moved past now,
  // or on to their next phone or a final state), so each round makes
  // progress and the loop ends.
  std::vector<Candidate> batch;
  int64_t dialled = 0;  // customers moved from pending to dialing
  while (static_cast<int>(claims.size()) < max) {
    batch.clear();
    pick->reset();
    pick->bind(1, id).bind(2, ms(now)).bind(3, int64_t{max - static_cast<int>(claims.size())});
    while (true) {
      PD_ASSIGN_OR_RETURN(bool row, pick->step());
      if (!row) break;
      Candidate c;
      c.customer_id = pick->int64(0);
      c.claim.cust_id = pick->text(1);
      c.claim.attributes_json = pick->text(2);
      c.claim.phone_seq = static_cast<int>(pick->int64(3));
      c.claim.phone = pick->text(4);
      c.claim.attempt_on_phone = static_cast<int>(pick->int64(5)) + 1;
      c.callee.zones = split_zones(pick->text(6));
      c.callee.region = pick->text(7);
      batch.push_back(std::move(c));
    }
    pick->reset();
    if (batch.empty()) break;

    for (Candidate& c : batch) {
      Verdict verdict;
      for (auto check : {&SqliteStore::check_window, &SqliteStore::check_dnc,
                         &SqliteStore::check_lockout, &SqliteStore::check_caps}) {
        PD_ASSIGN_OR_RETURN(verdict, (this->*check)(id, *policy, c, now));
        if (verdict.checked) ++counts[verdict.rule].checked;
        if (verdict.kind != Verdict::Kind::kDial) break;
      }
      if (verdict.kind == Verdict::Kind::kDefer) {
        ++counts[verdict.rule].held;
        PD_RETURN_IF_ERROR(defer(c, verdict));
        continue;
      }
      if (verdict.kind == Verdict::Kind::kSuppress) {
        ++counts[verdict.rule].held;
        PD_RETURN_IF_ERROR(suppress(id, c, verdict, now, owner));
        continue;
      }
      Claim& claimed = claims.emplace_back(std::move(c.claim));
      PD_RETURN_IF_ERROR(insert->bind(1, id)
                             .bind(2, c.customer_id)
                             .bind(3, int64_t{claimed.phone_seq})
                             .bind(4, claimed.phone)
                             .bind(5, int64_t{claimed.attempt_on_phone})
                             .bind(6, owner)
                             .bind(7, ms(now))
                             .bind_text_or_null(8, claimed.callee_timezone)
                             .run());
      claimed.attempt_id = db_.last_insert_rowid();
      claimed.client_token = client_token(instance_id_, claimed.attempt_id, ms(now));
      PD_RETURN_IF_ERROR(
          phone->bind(1, c.customer_id).bind(2, int64_t{claimed.phone_seq}).run());
      PD_RETURN_IF_ERROR(customer->bind(1, c.customer_id).run());
      ++dialled;
    }
  }
  if (dialled > 0) {
    count(id, customer_count_key(CustomerState::kPending), -dialled);
    count(id, customer_count_key(CustomerState::kDialing), dialled);
    count(id, kCountAttempts, dialled);
    count(id, kCountInFlight, dialled);
  }
  if (!in_batch_) PD_RETURN_IF_ERROR(add_rule_counts(id, counts));
  PD_RETURN_IF_ERROR(commit_counted(txn));
  if (in_batch_) {
    // Counted only once the claim is in the batch for good (a failed one
    // rolled back its savepoint and counts nothing, as outside a batch).
    for (const auto& [name, n] : counts) {
      RuleCount& pending = pending_counts_[{id, std::string(name)}];
      pending.checked += n.checked;
      pending.held += n.held;
    }
  }
  return claims;
}

absl::Status SqliteStore::begin_batch() {
  PD_RETURN_IF_ERROR(db_.exec("BEGIN IMMEDIATE"));
  in_batch_ = true;
  db_.set_batch_broken(false);
  pending_counts_.clear();
  pending_status_counts_.clear();
  return absl::OkStatus();
}

absl::Status SqliteStore::commit_batch() {
  if (db_.batch_broken()) {
    return absl::AbortedError(
        "an operation of the batch failed after it had changed rows: the batch can only "
        "roll back");
  }
  // In the batch's transaction, so they commit with the claims they count.
  std::map<CampaignId, RuleCounts> by_campaign;
  for (const auto& [key, n] : pending_counts_) by_campaign[key.first][key.second] = n;
  for (const auto& [id, counts] : by_campaign) PD_RETURN_IF_ERROR(add_rule_counts(id, counts));
  // Written now, so no longer pending: a COMMIT that fails (busy) leaves
  // them in the open transaction, which a retried commit_batch() commits
  // and abort_batch() rolls back, without counting them twice.
  pending_counts_.clear();
  PD_RETURN_IF_ERROR(flush_status_counts());
  PD_RETURN_IF_ERROR(db_.exec("COMMIT"));
  in_batch_ = false;
  return absl::OkStatus();
}

void SqliteStore::abort_batch() {
  in_batch_ = false;
  db_.set_batch_broken(false);
  pending_counts_.clear();
  pending_status_counts_.clear();
  db_.exec("ROLLBACK").IgnoreError();
}

void SqliteStore::count_customer_move(CampaignId id, CustomerState from, CustomerState to) {
  if (from == to) return;
  count(id, customer_count_key(from), -1);
  count(id, customer_count_key(to), 1);
}

absl::Status SqliteStore::write_counts(const std::vector<CountDelta>& deltas) {
  PD_ASSIGN_OR_RETURN(Stmt * s, stmt("INSERT INTO campaign_counts(campaign_id, what, n) "
                                     "VALUES(?1, ?2, ?3) ON CONFLICT(campaign_id, what) "
                                     "DO UPDATE SET n = n + ?3"));
  for (const CountDelta& d : deltas) {
    if (d.n == 0) continue;
    PD_RETURN_IF_ERROR(s->bind(1, d.campaign).bind(2, d.what).bind(3, d.n).run());
  }
  return absl::OkStatus();
}

absl::Status SqliteStore::flush_status_counts() {
  if (pending_status_counts_.empty()) return absl::OkStatus();
  std::vector<CountDelta> deltas;
  deltas.reserve(pending_status_counts_.size());
  for (const auto& [key, n] : pending_status_counts_) deltas.push_back({key.first, key.second, n});
  PD_RETURN_IF_ERROR(write_counts(deltas));
  pending_status_counts_.clear();
  return absl::OkStatus();
}

absl::Status SqliteStore::commit_counted(sqlite::Transaction& txn) {
  if (!in_batch_) PD_RETURN_IF_ERROR(write_counts(op_counts_));
  PD_RETURN_IF_ERROR(txn.commit());
  if (in_batch_) {
    for (const CountDelta& d : op_counts_) pending_status_counts_[{d.campaign, d.what}] += d.n;
  }
  op_counts_.clear();
  return absl::OkStatus();
}

absl::StatusOr<const CompliancePolicy*> SqliteStore::policy_for(CampaignId id) {
  // data_version moves when another connection commits (it might have
  // changed the configuration); this connection's own changes clear the
  // cache where they are made (set_config, unset_config, set_setting).
  PD_ASSIGN_OR_RETURN(uint64_t version, data_version());
  auto it = policies_.find(id);
  if (it != policies_.end() && it->second.data_version == version) return &it->second.policy;
  PD_ASSIGN_OR_RETURN(auto config, this->config(id));
  PD_ASSIGN_OR_RETURN(std::optional<std::string> rules, setting(kRegionRulesSetting));
  auto policy = CompliancePolicy::from_config(config, rules.value_or(""));
  if (!policy.ok()) {
    return absl::FailedPreconditionError(
        cat("the compliance configuration cannot be applied: ", policy.status().message()));
  }
  CachedPolicy& cached = policies_[id];
  cached.data_version = version;
  cached.policy = *std::move(policy);
  return &cached.policy;
}

// The rules' own checks are filled in by the rules (see design notes in
// compliance/policy.h); until then each allows the call and checks nothing.
absl::StatusOr<Verdict> SqliteStore::check_window(CampaignId /*id*/,
                                                  const CompliancePolicy& policy,
                                                  Candidate& c, WallTime now) {
  // Every call is checked: the window always applies (00:00-24:00 opens it).
  Verdict v = policy.check_window(c.callee, now, &c.claim.callee_timezone);
  v.rule = rule::kCallingWindow;
  return v;
}

// The store-wide do-not-call list applies to every campaign and every call:
// one primary-key lookup (sqlite_dnc.cc), inside the claim's transaction,
// so an add that committed before the claim began is always seen.
absl::StatusOr<Verdict> SqliteStore::check_dnc(CampaignId /*id*/,
                                               const CompliancePolicy& /*policy*/, Candidate& c,
                                               WallTime now) {
  PD_ASSIGN_OR_RETURN(std::optional<std::string> source,
                      dnc_source_if_listed(c.claim.phone, now));
  if (!source) {
    Verdict v = Verdict::dial();
    v.rule = rule::kDnc;
    return v;
  }
  return Verdict::suppress(rule::kDnc, dnc_rule_detail(*source));
}

// --- limits: caps, the abandon lockout, the abandon-rate ledger ------------

absl::StatusOr<std::optional<WallTime>> SqliteStore::cap_lets_go(bool per_customer,
                                                                 std::string_view key, int cap,
                                                                 Millis window, WallTime now) {
  // The calls in the window, newest first: when there are at least `cap`,
  // the cap-th newest is the one whose leaving lets one more call in.
  Stmt* s = nullptr;
  if (per_customer) {
    PD_ASSIGN_OR_RETURN(s, stmt("SELECT a.started_at AS t FROM customers cu JOIN attempts a ON "
                                "a.customer_id = cu.id WHERE cu.cust_id = ?1 AND "
                                "a.started_at > ?2 AND a.outcome IS NOT 'suppressed' "
                                "UNION ALL SELECT started_at FROM call_history WHERE "
                                "cust_id = ?1 AND started_at > ?2 "
                                "ORDER BY t DESC LIMIT 1 OFFSET ?3"));
  } else {
    PD_ASSIGN_OR_RETURN(s, stmt("SELECT started_at AS t FROM attempts WHERE phone = ?1 AND "
                                "started_at > ?2 AND outcome IS NOT 'suppressed' "
                                "UNION ALL SELECT started_at FROM call_history WHERE "
                                "phone = ?1 AND started_at > ?2 "
                                "ORDER BY t DESC LIMIT 1 OFFSET ?3"));
  }
  s->bind(1, key).bind(2, ms(now - window)).bind(3, int64_t{cap - 1});
  PD_ASSIGN_OR_RETURN(bool row, s->step());
  std::optional<WallTime> out;
  if (row) out = wall(s->int64(0)) + window;
  s->reset();
  return out;
}

absl::StatusOr<Verdict> SqliteStore::check_caps(CampaignId /*id*/,
                                                const CompliancePolicy& policy, Candidate& c,
                                                WallTime now) {
  return caps_verdict(policy, c.callee, c.claim.phone, c.claim.cust_id, now,
                      [&](bool per_customer, std::string_view key, int cap, Millis window) {
                        return cap_lets_go(per_customer, key, cap, window, now);
                      });
}

absl::StatusOr<Verdict> SqliteStore::check_lockout(CampaignId /*id*/,
                                                   const CompliancePolicy& policy, Candidate& c,
                                                   WallTime now) {
  Verdict v = Verdict::dial();
  v.rule = rule::kAbandonLockout;
  if (policy.abandon_lockout.count() <= 0) {
    v.checked = false;
    return v;
  }
  const Millis lockout = std::chrono::duration_cast<Millis>(policy.abandon_lockout);
  PD_ASSIGN_OR_RETURN(Stmt * s, stmt("SELECT max(t) FROM (SELECT coalesce(ended_at, "
                                     "started_at) AS t FROM attempts WHERE phone = ?1 AND "
                                     "started_at > ?2 AND outcome = 'abandoned' UNION ALL "
                                     "SELECT abandoned_at FROM call_history WHERE phone = ?1 "
                                     "AND started_at > ?2 AND abandoned_at IS NOT NULL)"));
  s->bind(1, c.claim.phone).bind(2, ms(now - lockout - kLongestCall));
  PD_ASSIGN_OR_RETURN(bool row, s->step());
  std::optional<WallTime> abandoned_at;
  if (row && !s->is_null(0)) abandoned_at = wall(s->int64(0));
  s->reset();
  if (abandoned_at && *abandoned_at + lockout > now) {
    return Verdict::defer(rule::kAbandonLockout, *abandoned_at + lockout, "");
  }
  return v;
}

absl::StatusOr<AbandonRates> SqliteStore::abandon_rates_under(CampaignId id,
                                                              const CompliancePolicy& policy,
                                                              WallTime now) {
  AbandonRates r;
  r.max_rate = policy.max_abandon_rate;
  r.today = ledger_day(now, policy.ledger_timezone);
  PD_ASSIGN_OR_RETURN(Stmt * s,
                      stmt("SELECT coalesce(sum(answered), 0), coalesce(sum(abandoned), 0), "
                           "coalesce(sum(CASE WHEN day = ?3 THEN answered END), 0), "
                           "coalesce(sum(CASE WHEN day = ?3 THEN abandoned END), 0) "
                           "FROM abandon_ledger WHERE campaign_id = ?1 AND day >= ?2 AND "
                           "day <= ?3"));
  s->bind(1, id).bind(2, days_before(r.today, 29)).bind(3, r.today);
  PD_ASSIGN_OR_RETURN(bool row, s->step());
  if (row) {
    r.answered_30d = s->int64(0);
    r.abandoned_30d = s->int64(1);
    r.answered_today = s->int64(2);
    r.abandoned_today = s->int64(3);
  }
  s->reset();
  return r;
}

absl::StatusOr<AbandonRates> SqliteStore::abandon_rates(CampaignId id, WallTime now) {
  PD_ASSIGN_OR_RETURN(const CompliancePolicy* policy, policy_for(id));
  return abandon_rates_under(id, *policy, now);
}

absl::Status SqliteStore::check_abandon_rate(CampaignId id, const CompliancePolicy& policy,
                                             WallTime now, RuleCounts& counts) {
  PD_ASSIGN_OR_RETURN(AbandonRates rates, abandon_rates_under(id, policy, now));
  ++counts[rule::kAbandonRate].checked;
  if (!rates.over_max()) return absl::OkStatus();
  PD_ASSIGN_OR_RETURN(Campaign c, campaign_by_id(id));
  return abandon_rate_paused(c.name, rates);
}

absl::Status SqliteStore::add_to_ledger(CampaignId id, Outcome outcome, WallTime at,
                                        bool answered) {
  if (outcome != Outcome::kConnected && outcome != Outcome::kAbandoned) return absl::OkStatus();
  const int64_t abandoned = outcome == Outcome::kAbandoned ? 1 : 0;
  if (!answered && abandoned == 0) return absl::OkStatus();
  PD_ASSIGN_OR_RETURN(const CompliancePolicy* policy, policy_for(id));
  PD_ASSIGN_OR_RETURN(Stmt * s,
                      stmt("INSERT INTO abandon_ledger(campaign_id, day, answered, abandoned) "
                           "VALUES(?1, ?2, ?4, ?3) ON CONFLICT(campaign_id, day) DO UPDATE SET "
                           "answered = answered + ?4, abandoned = abandoned + ?3"));
  return s->bind(1, id)
      .bind(2, ledger_day(at, policy->ledger_timezone))
      .bind(3, abandoned)
      .bind(4, int64_t{answered ? 1 : 0})
      .run();
}

absl::Status SqliteStore::add_dnc_from_disposition(std::string_view phone, WallTime now) {
  // The dnc table keys a number by its E.164 digits.
  int64_t number = 0;
  const std::string_view digits = phone.substr(phone.empty() || phone[0] != '+' ? 0 : 1);
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), number);
  if (ec != std::errc() || end != digits.data() + digits.size() || number <= 0) {
    return absl::InvalidArgumentError(cat("cannot put ", echo(phone), " on the do-not-call list"));
  }
  PD_ASSIGN_OR_RETURN(Stmt * source, stmt("INSERT INTO dnc_sources(label) VALUES('disposition') "
                                          "ON CONFLICT(label) DO NOTHING"));
  PD_RETURN_IF_ERROR(source->run());
  PD_ASSIGN_OR_RETURN(Stmt * add,
                      stmt("INSERT INTO dnc(number, source_id, added_at, expires_at) VALUES(?1, "
                           "(SELECT id FROM dnc_sources WHERE label = 'disposition'), ?2, NULL) "
                           "ON CONFLICT(number) DO UPDATE SET source_id = excluded.source_id, "
                           "added_at = excluded.added_at, expires_at = NULL"));
  return add->bind(1, number).bind(2, ms(now)).run();
}

absl::Status SqliteStore::defer(const Candidate& c, const Verdict& v) {
  PD_ASSIGN_OR_RETURN(Stmt * s,
                      stmt("UPDATE customers SET next_at = ?2, held = ?3 WHERE id = ?1"));
  return s->bind(1, c.customer_id).bind(2, ms(v.until)).bind(3, v.reason()).run();
}

absl::Status SqliteStore::suppress(CampaignId id, const Candidate& c, const Verdict& v,
                                   WallTime now, std::string_view owner) {
  PD_ASSIGN_OR_RETURN(Stmt * record,
                      stmt("INSERT INTO attempts(campaign_id, customer_id, phone_seq, phone, "
                           "attempt_on_phone, state, outcome, owner, started_at, ended_at, "
                           "callee_timezone, rule) VALUES(?1, ?2, ?3, ?4, ?5, 'ended', "
                           "'suppressed', ?6, ?7, ?7, ?8, ?9)"));
  PD_RETURN_IF_ERROR(record->bind(1, id)
                         .bind(2, c.customer_id)
                         .bind(3, int64_t{c.claim.phone_seq})
                         .bind(4, c.claim.phone)
                         .bind(5, int64_t{c.claim.attempt_on_phone})
                         .bind(6, owner)
                         .bind(7, ms(now))
                         .bind_text_or_null(8, c.claim.callee_timezone)
                         .bind(9, v.reason())
                         .run());
  // On to the customer's next phone, due at once (the next round of the
  // claim looks at it); with none left the customer ends suppressed.
  PD_ASSIGN_OR_RETURN(Stmt * move_on,
                      stmt("UPDATE customers SET held = NULL, "
                           "next_phone = CASE WHEN ?2 + 1 < (SELECT count(*) FROM phones "
                           "WHERE customer_id = ?1) THEN ?2 + 1 ELSE next_phone END, "
                           "state = CASE WHEN ?2 + 1 < (SELECT count(*) FROM phones "
                           "WHERE customer_id = ?1) THEN 'pending' ELSE 'suppressed' END "
                           "WHERE id = ?1 RETURNING state"));
  move_on->bind(1, c.customer_id).bind(2, int64_t{c.claim.phone_seq});
  PD_ASSIGN_OR_RETURN(bool row, move_on->step());
  if (!row) return absl::InternalError(cat("customer ", c.claim.cust_id, " vanished in a claim"));
  absl::StatusOr<CustomerState> to = customer_state_from(move_on->text(0));
  move_on->reset();
  if (!to.ok()) return to.status();
  count(id, kCountAttempts, 1);
  count(id, outcome_count_key(Outcome::kSuppressed), 1);
  count_customer_move(id, CustomerState::kPending, *to);
  return absl::OkStatus();
}

absl::Status SqliteStore::add_rule_counts(CampaignId id, const RuleCounts& counts) {
  PD_ASSIGN_OR_RETURN(Stmt * s,
                      stmt("INSERT INTO compliance_counts(campaign_id, rule, checked, held) "
                           "VALUES(?1, ?2, ?3, ?4) ON CONFLICT(campaign_id, rule) DO UPDATE "
                           "SET checked = checked + ?3, held = held + ?4"));
  for (const auto& [name, n] : counts) {
    if (n.checked == 0 && n.held == 0) continue;
    PD_RETURN_IF_ERROR(s->bind(1, id).bind(2, name).bind(3, n.checked).bind(4, n.held).run());
  }
  return absl::OkStatus();
}

absl::StatusOr<std::optional<std::string>> SqliteStore::setting(std::string_view key) {
  PD_ASSIGN_OR_RETURN(Stmt * s, stmt("SELECT value FROM settings WHERE key = ?1"));
  s->bind(1, key);
  PD_ASSIGN_OR_RETURN(bool row, s->step());
  std::optional<std::string> out;
  if (row) out = std::string(s->text(0));
  s->reset();
  return out;
}

absl::Status SqliteStore::set_setting(std::string_view key, std::string_view value) {
  policies_.clear();
  sqlite::Transaction txn(db_);
  PD_RETURN_IF_ERROR(txn.begin());
  PD_RETURN_IF_ERROR(check_fence());
  PD_ASSIGN_OR_RETURN(Stmt * s, stmt("INSERT INTO settings(key, value) VALUES(?1, ?2) "
                                     "ON CONFLICT(key) DO UPDATE SET value = ?2"));
  PD_RETURN_IF_ERROR(s->bind(1, key).bind(2, value).run());
  return txn.commit();
}

absl::Status SqliteStore::release_claim(AttemptId attempt) {
  op_counts_.clear();
  sqlite::Transaction txn(db_);
  PD_RETURN_IF_ERROR(txn.begin());
  PD_RETURN_IF_ERROR(check_fence());
  PD_ASSIGN_OR_RETURN(Stmt * find, stmt("SELECT a.customer_id, a.phone_seq, a.campaign_id, "
                                        "cu.state FROM attempts a JOIN customers cu ON "
                                        "cu.id = a.customer_id WHERE a.id = ?1 AND "
                                        "a.state = 'dialing'"));
  find->bind(1, attempt);
  PD_ASSIGN_OR_RETURN(bool row, find->step());
  if (!row) return absl::NotFoundError(cat("no attempt ", attempt, " in state dialing"));
  const int64_t customer = find->int64(0);
  const int64_t seq = find->int64(1);
  const CampaignId campaign = find->int64(2);
  absl::StatusOr<CustomerState> was = customer_state_from(find->text(3));
  find->reset();
  if (!was.ok()) return was.status();
  count(campaign, kCountAttempts, -1);
  count(campaign, kCountInFlight, -1);
  count_customer_move(campaign, *was, CustomerState::kPending);
  PD_ASSIGN_OR_RETURN(Stmt * del, stmt("DELETE FROM attempts WHERE id = ?1"));
  PD_RETURN_IF_ERROR(del->bind(1, attempt).run());
  PD_ASSIGN_OR_RETURN(Stmt * phone, stmt("UPDATE phones SET attempts = attempts - 1 "
                                         "WHERE customer_id = ?1 AND seq = ?2"));
  PD_RETURN_IF_ERROR(phone->bind(1, customer).bind(2, seq).run());
  PD_ASSIGN_OR_RETURN(Stmt * cust, stmt("UPDATE customers SET state = 'pending' WHERE id = ?1"));
  PD_RETURN_IF_ERROR(cust->bind(1, customer).run());
  return commit_counted(txn);
}

absl::Status SqliteStore::set_contact_id(AttemptId attempt, std::string_view contact_id) {
  sqlite::Transaction txn(db_);
  PD_RETURN_IF_ERROR(txn.begin());
  PD_RETURN_IF_ERROR(check_fence());
  PD_ASSIGN_OR_RETURN(Stmt * s, stmt("UPDATE attempts SET contact_id = ?2 WHERE id = ?1"));
  PD_RETURN_IF_ERROR(s->bind(1, attempt).bind(2, contact_id).run());
  if (db_.changes() == 0) return absl::NotFoundError(cat("no attempt ", attempt));
  return txn.commit();
}

absl::Status SqliteStore::mark_connected(AttemptId attempt, WallTime answered_at,
                                         std::string_view agent_id) {
  sqlite::Transaction txn(db_);
  PD_RETURN_IF_ERROR(txn.begin());
  PD_RETURN_IF_ERROR(check_fence());
  // A plain UPDATE and a read by rowid: with UPDATE ... RETURNING (SQLite
  // runs the change into a temporary table first) this function took 1.7x
  // the instructions (callgrind, bench/README.md "Dialing engine").
  PD_ASSIGN_OR_RETURN(Stmt * s, stmt("UPDATE attempts SET state = 'connected', answered_at = "
                                     "COALESCE(answered_at, max(?2, started_at)), agent_id = ?3 "
                                     "WHERE id = ?1 AND state = 'dialing'"));
  PD_RETURN_IF_ERROR(
      s->bind(1, attempt).bind(2, ms(answered_at)).bind_text_or_null(3, agent_id).run());
  if (db_.changes() > 0) {
    // A person answered and reached an agent: the ledger counts the answer
    // now, not when the talk ends, so the rate early in a day is not made
    // of abandons (ended within seconds) over the few calls already ended.
    PD_ASSIGN_OR_RETURN(Stmt * read,
                        stmt("SELECT campaign_id, answered_at FROM attempts WHERE id = ?1"));
    read->bind(1, attempt);
    PD_ASSIGN_OR_RETURN(bool row, read->step());
    if (!row) {
      read->reset();
      return absl::InternalError(cat("attempt ", attempt, " vanished as it connected"));
    }
    const CampaignId campaign = read->int64(0);
    const WallTime at = wall(read->int64(1));
    read->reset();
    PD_RETURN_IF_ERROR(add_to_ledger(campaign, Outcome::kConnected, at, /*answered=*/true));
  }
  return txn.commit();
}

absl::StatusOr<Store::Finished> SqliteStore::finish(AttemptId attempt,
                                                    const AttemptEnd& requested_end,
                                                    const RetryRules& rules) {
  op_counts_.clear();
  sqlite::Transaction txn(db_);
  PD_RETURN_IF_ERROR(txn.begin());
  PD_RETURN_IF_ERROR(check_fence());
  PD_ASSIGN_OR_RETURN(Stmt * find,
                      stmt("SELECT a.state, a.customer_id, a.phone_seq, p.attempts, "
                           "(SELECT count(*) FROM phones WHERE customer_id = a.customer_id), "
                           "max(a.started_at, coalesce(a.answered_at, 0)), a.disposition, "
                           "a.phone, a.campaign_id, (SELECT state FROM customers WHERE "
                           "id = a.customer_id) FROM attempts a LEFT JOIN phones p ON "
                           "p.customer_id = a.customer_id AND p.seq = a.phone_seq WHERE a.id = ?1"));
  find->bind(1, attempt);
  PD_ASSIGN_OR_RETURN(bool row, find->step());
  if (!row) return absl::NotFoundError(cat("no attempt ", attempt));
  if (find->text(0) == "ended") return Finished{};
  const bool was_connected = find->text(0) == "connected";
  const int64_t customer_id = find->int64(1);
  PhoneProgress progress{static_cast<int>(find->int64(2)), static_cast<int>(find->int64(4)),
                         static_cast<int>(find->int64(3))};
  // An end is never before the start or the answer (clocks of different
  // runs disagree; see latest_recorded_time()).
  AttemptEnd end = requested_end;
  end.ended_at = std::max(end.ended_at, wall(find->int64(5)));
  // A code set while the call was going (set_disposition) stands unless the
  // end brings one of its own.
  if (end.disposition.empty()) end.disposition = find->text(6);
  const std::string phone(find->text(7));
  const CampaignId campaign = find->int64(8);
  absl::StatusOr<CustomerState> customer_was = customer_state_from(find->text(9));
  find->reset();
  if (!customer_was.ok()) return customer_was.status();

  PD_ASSIGN_OR_RETURN(Stmt * end_attempt,
                      stmt("UPDATE attempts SET state = 'ended', outcome = ?2, ended_at = ?3, "
                           "disconnect_reason = ?4, disposition = ?5 WHERE id = ?1"));
  PD_RETURN_IF_ERROR(end_attempt->bind(1, attempt)
                         .bind(2, to_string(end.outcome))
                         .bind(3, ms(end.ended_at))
                         .bind_text_or_null(4, end.disconnect_reason)
                         .bind_text_or_null(5, end.disposition)
                         .run());
  // A call marked connected was counted as answered then (mark_connected).
  PD_RETURN_IF_ERROR(add_to_ledger(campaign, end.outcome, end.ended_at, !was_connected));
  const DispositionRule* rule = rules.dispositions && !end.disposition.empty()
                                    ? find_disposition(*rules.dispositions, end.disposition)
                                    : nullptr;
  if (rule != nullptr && rule->action == DispositionAction::kDnc) {
    PD_RETURN_IF_ERROR(add_dnc_from_disposition(phone, end.ended_at));
  }
  const NextStep next = decide_next_step(end.outcome, progress, rules, rule);
  PD_ASSIGN_OR_RETURN(Stmt * move_on, stmt("UPDATE customers SET state = ?2, next_phone = ?3, "
                                           "next_at = ?4 WHERE id = ?1"));
  const WallTime next_at = end.ended_at + std::chrono::duration_cast<Millis>(next.delay);
  PD_RETURN_IF_ERROR(move_on->bind(1, customer_id)
                         .bind(2, to_string(next.state))
                         .bind(3, int64_t{next.next_phone_seq})
                         .bind(4, ms(next_at))
                         .run());
  count(campaign, kCountInFlight, -1);
  count(campaign, outcome_count_key(end.outcome), 1);
  count_customer_move(campaign, *customer_was, next.state);
  PD_RETURN_IF_ERROR(commit_counted(txn));
  Finished finished{true, std::nullopt};
  if (next.state == CustomerState::kPending) finished.callable_at = next_at;
  return finished;
}

absl::StatusOr<DispositionRules> SqliteStore::disposition_rules(CampaignId id) {
  PD_ASSIGN_OR_RETURN(Stmt * s, stmt("SELECT value FROM config WHERE campaign_id = ?1 AND "
                                     "key = 'dispositions'"));
  s->bind(1, id);
  PD_ASSIGN_OR_RETURN(bool row, s->step());
  if (!row) return DispositionRules{};
  const std::string text(s->text(0));
  s->reset();
  auto rules = parse_dispositions(text);
  if (!rules.ok()) {
    PD_ASSIGN_OR_RETURN(Campaign c, campaign_by_id(id));
    return with_advice(absl::FailedPreconditionError(
                           cat("stored configuration is invalid: dispositions: ",
                               rules.status().message())),
                       {Remedy::kSetConfig, c.name, "dispositions"});
  }
  return rules;
}

absl::StatusOr<DispositionApplied> SqliteStore::set_disposition(
    CampaignId id, AttemptId attempt, std::string_view raw_code,
    std::optional<WallTime> callback_at, WallTime now) {
  PD_ASSIGN_OR_RETURN(const std::string_view code, disposition_code(raw_code));
  op_counts_.clear();
  sqlite::Transaction txn(db_);
  PD_RETURN_IF_ERROR(txn.begin());
  PD_RETURN_IF_ERROR(check_fence());
  PD_ASSIGN_OR_RETURN(Stmt * find,
                      stmt("SELECT a.state, a.customer_id, a.phone_seq, a.phone, a.outcome, "
                           "cu.state, cu.cust_id, (SELECT max(id) FROM attempts WHERE "
                           "customer_id = a.customer_id) FROM attempts a JOIN customers cu ON "
                           "cu.id = a.customer_id WHERE a.id = ?1 AND a.campaign_id = ?2"));
  find->bind(1, attempt).bind(2, id);
  PD_ASSIGN_OR_RETURN(bool row, find->step());
  if (!row) return absl::NotFoundError(cat("no attempt ", attempt, " in this campaign"));
  const bool ended = find->text(0) == "ended";
  const int64_t customer_id = find->int64(1);
  const int64_t phone_seq = find->int64(2);
  const std::string phone(find->text(3));
  const std::optional<Outcome> outcome =
      find->is_null(4) ? std::nullopt : parse_outcome(find->text(4));
  const std::string customer_state(find->text(5));
  const std::string cust_id(find->text(6));
  const AttemptId latest = find->int64(7);
  find->reset();
  PD_ASSIGN_OR_RETURN(const CustomerState customer_was, customer_state_from(customer_state));

  PD_ASSIGN_OR_RETURN(DispositionRules rules, disposition_rules(id));
  const DispositionRule* rule = find_disposition(rules, code);
  PD_RETURN_IF_ERROR(check_callback_at(code, rule, callback_at));
  // The customer's next step follows their latest call: a code for an
  // earlier one, while a newer call is going, would undo that call's claim.
  if (ended && rule != nullptr && latest != attempt && customer_state == "dialing") {
    return absl::FailedPreconditionError(
        cat("customer ", cust_id, " is being called again (attempt ", latest,
            "); set the disposition of attempt ", attempt, " after that call ends"));
  }
  PD_ASSIGN_OR_RETURN(Stmt * record, stmt("UPDATE attempts SET disposition = ?2 WHERE id = ?1"));
  PD_RETURN_IF_ERROR(record->bind(1, attempt).bind(2, code).run());
  DispositionApplied out;
  if (rule != nullptr) out.action = std::string(to_string(rule->action));
  if (!ended || rule == nullptr) {
    out.applied = rule == nullptr;  // nothing to do, or done by finish()
    PD_RETURN_IF_ERROR(txn.commit());
    return out;
  }
  out.applied = true;
  switch (rule->action) {
    case DispositionAction::kDnc:
      PD_RETURN_IF_ERROR(add_dnc_from_disposition(phone, now));
      [[fallthrough]];
    case DispositionAction::kDone: {
      const bool reached = outcome && is_reached(*outcome);
      const CustomerState to = reached ? CustomerState::kReached : CustomerState::kExhausted;
      PD_ASSIGN_OR_RETURN(Stmt * done, stmt("UPDATE customers SET state = ?2 WHERE id = ?1"));
      PD_RETURN_IF_ERROR(done->bind(1, customer_id).bind(2, to_string(to)).run());
      count_customer_move(id, customer_was, to);
      break;
    }
    case DispositionAction::kCallback:
    case DispositionAction::kRetry: {
      const WallTime at =
          callback_at.value_or(now + std::chrono::duration_cast<Millis>(rule->delay));
      PD_ASSIGN_OR_RETURN(Stmt * again, stmt("UPDATE customers SET state = 'pending', "
                                             "next_phone = ?2, next_at = ?3, held = NULL "
                                             "WHERE id = ?1"));
      PD_RETURN_IF_ERROR(again->bind(1, customer_id).bind(2, phone_seq).bind(3, ms(at)).run());
      count_customer_move(id, customer_was, CustomerState::kPending);
      out.callable_at = at;
      break;
    }
  }
  PD_RETURN_IF_ERROR(commit_counted(txn));
  return out;
}

absl::StatusOr<std::optional<WallTime>> SqliteStore::next_callable_at(CampaignId id) {
  PD_ASSIGN_OR_RETURN(Stmt * s, stmt("SELECT next_at FROM customers WHERE campaign_id = ?1 AND "
                                     "state = 'pending' ORDER BY next_at LIMIT 1"));
  s->bind(1, id);
  PD_ASSIGN_OR_RETURN(bool row, s->step());
  std::optional<WallTime> out;
  if (row) out = wall(s->int64(0));
  s->reset();
  return out;
}

absl::StatusOr<std::vector<AttemptRecord>> SqliteStore::open_attempts(CampaignId id) {
  static const std::string sql =
      cat("SELECT ", kAttemptColumns,
          ", cu.attributes FROM attempts a JOIN campaigns c ON c.id = a.campaign_id "
          "JOIN customers cu ON cu.id = a.customer_id "
          "WHERE a.campaign_id = ?1 AND a.state != 'ended' ORDER BY a.id");
  PD_ASSIGN_OR_RETURN(Stmt * s, stmt(sql.c_str()));
  s->bind(1, id);
  std::vector<AttemptRecord> out;
  while (true) {
    PD_ASSIGN_OR_RETURN(bool row, s->step());
    if (!row) break;
    out.push_back(read_attempt(*s, instance_id_));
    out.back().attributes_json = s->text(kAttemptColumnCount);
  }
  s->reset();
  return out;
}

absl::StatusOr<std::optional<AttemptRecord>> SqliteStore::find_attempt_by_contact(
    std::string_view contact_id) {
  static const std::string sql =
      cat("SELECT ", kAttemptColumns,
          " FROM attempts a JOIN campaigns c ON c.id = a.campaign_id "
          "JOIN customers cu ON cu.id = a.customer_id WHERE a.contact_id = ?1");
  PD_ASSIGN_OR_RETURN(Stmt * s, stmt(sql.c_str()));
  s->bind(1, contact_id);
  PD_ASSIGN_OR_RETURN(bool row, s->step());
  std::optional<AttemptRecord> out;
  if (row) out = read_attempt(*s, instance_id_);
  s->reset();
  return out;
}

// SQLite's own change counter: it moves when any other connection commits
// to the file, and costs no table read.
absl::StatusOr<uint64_t> SqliteStore::data_version() {
  PD_ASSIGN_OR_RETURN(Stmt * s, stmt("PRAGMA data_version"));
  PD_ASSIGN_OR_RETURN(bool row, s->step());
  if (!row) return absl::InternalError("PRAGMA data_version answered no row");
  const auto v = static_cast<uint64_t>(s->int64(0));
  s->reset();
  return v;
}

absl::StatusOr<std::optional<WallTime>> SqliteStore::latest_recorded_time() {
  // The expression is kLatestTimeIndex's, so SQLite answers from the index.
  PD_ASSIGN_OR_RETURN(Stmt * s, stmt("SELECT max(max(started_at, coalesce(answered_at, 0), "
                                     "coalesce(ended_at, 0))) FROM attempts"));
  PD_ASSIGN_OR_RETURN(bool row, s->step());
  std::optional<WallTime> out;
  if (row && !s->is_null(0)) out = wall(s->int64(0));
  s->reset();
  return out;
}

absl::StatusOr<CampaignStatus> SqliteStore::status(CampaignId id) {
  CampaignStatus st;
  // One read transaction, so the numbers agree with each other (unless
  // already inside one).
  const bool own_txn = sqlite3_get_autocommit(db_.handle()) != 0;
  if (own_txn) PD_RETURN_IF_ERROR(db_.exec("BEGIN"));
  struct EndRead {
    sqlite::Db& db;
    bool own;
    ~EndRead() {
      if (own) db.exec("COMMIT").IgnoreError();
    }
  } end_read{db_, own_txn};
  PD_ASSIGN_OR_RETURN(st.campaign, campaign_by_id(id));
  // Today by the real clock: status is read by people. A configuration the
  // policy cannot use leaves the rates at zero here (claim reports it).
  auto rates = abandon_rates(id, wall(wall_now_ms()));
  if (rates.ok()) {
    st.abandon = *std::move(rates);
  } else if (!absl::IsFailedPrecondition(rates.status())) {
    return rates.status();
  }
  // The counts (campaign_counts: kept by every change, never a scan), and
  // this connection's own changes a batch has not written yet.
  PD_ASSIGN_OR_RETURN(Stmt * counts,
                      stmt("SELECT what, n FROM campaign_counts WHERE campaign_id = ?1"));
  counts->bind(1, id);
  while (true) {
    PD_ASSIGN_OR_RETURN(bool row, counts->step());
    if (!row) break;
    add_count(st, counts->text(0), counts->int64(1));
  }
  counts->reset();
  for (const auto& [key, n] : pending_status_counts_) {
    if (key.first == id) add_count(st, key.second, n);
  }
  // A state or outcome no one is in is left out, as a count by GROUP BY does.
  std::erase_if(st.customers_by_state, [](const auto& kv) { return kv.second == 0; });
  std::erase_if(st.attempts_by_outcome, [](const auto& kv) { return kv.second == 0; });
  // Who is callable next, and what holds them (an index lookup on
  // customers_callable, as next_callable_at()).
  PD_ASSIGN_OR_RETURN(Stmt * next, stmt("SELECT next_at, held FROM customers WHERE "
                                        "campaign_id = ?1 AND state = 'pending' "
                                        "ORDER BY next_at LIMIT 1"));
  next->bind(1, id);
  PD_ASSIGN_OR_RETURN(bool found, next->step());
  if (found) {
    st.next_callable_at = wall(next->int64(0));
    st.next_callable_held = next->text(1);
  }
  next->reset();
  PD_ASSIGN_OR_RETURN(st.rejects, reject_counts(id));
  return st;
}

absl::Status SqliteStore::for_each_attempt(CampaignId id,
                                           const std::function<void(const AttemptRecord&)>& fn) {
  static const std::string sql = cat("SELECT ", kAttemptColumns,
                                     " FROM attempts a JOIN campaigns c ON c.id = a.campaign_id "
                                     "JOIN customers cu ON cu.id = a.customer_id "
                                     "WHERE a.campaign_id = ?1 ORDER BY a.id");
  // Its own statement: `fn` may use the store while this one is stepping.
  PD_ASSIGN_OR_RETURN(Stmt s, db_.prepare(sql));
  s.bind(1, id);
  while (true) {
    PD_ASSIGN_OR_RETURN(bool row, s.step());
    if (!row) break;
    fn(read_attempt(s, instance_id_));
  }
  return absl::OkStatus();
}

absl::Status SqliteStore::for_each_reject(
    CampaignId id, const std::function<void(int64_t line, std::string_view reason)>& fn) {
  PD_ASSIGN_OR_RETURN(Stmt s, db_.prepare("SELECT line, reason FROM rejects "
                                          "WHERE campaign_id = ?1 ORDER BY line"));
  s.bind(1, id);
  while (true) {
    PD_ASSIGN_OR_RETURN(bool row, s.step());
    if (!row) break;
    fn(s.int64(0), s.text(1));
  }
  return absl::OkStatus();
}

absl::StatusOr<RejectCounts> SqliteStore::reject_counts(CampaignId id) {
  RejectCounts out;
  PD_ASSIGN_OR_RETURN(Stmt * by_reason,
                      stmt("SELECT reason, rows FROM reject_counts WHERE campaign_id = ?1"));
  by_reason->bind(1, id);
  while (true) {
    PD_ASSIGN_OR_RETURN(bool row, by_reason->step());
    if (!row) break;
    out.by_reason[std::string(by_reason->text(0))] = by_reason->int64(1);
    out.rows += by_reason->int64(1);
  }
  by_reason->reset();
  PD_ASSIGN_OR_RETURN(Stmt * listed, stmt("SELECT count(*) FROM rejects WHERE campaign_id = ?1"));
  listed->bind(1, id);
  PD_ASSIGN_OR_RETURN(bool row, listed->step());
  if (row) out.listed = listed->int64(0);
  listed->reset();
  return out;
}

absl::StatusOr<std::map<std::string, RuleCount>> SqliteStore::compliance_counts(CampaignId id) {
  std::map<std::string, RuleCount> out;
  PD_ASSIGN_OR_RETURN(Stmt * s, stmt("SELECT rule, sum(checked), sum(held) FROM compliance_counts "
                                     "WHERE campaign_id = ?1 GROUP BY rule"));
  s->bind(1, id);
  while (true) {
    PD_ASSIGN_OR_RETURN(bool row, s->step());
    if (!row) break;
    out[std::string(s->text(0))] = RuleCount{s->int64(1), s->int64(2)};
  }
  s->reset();
  for (const auto& [key, n] : pending_counts_) {
    if (key.first != id) continue;
    RuleCount& c = out[key.second];
    c.checked += n.checked;
    c.held += n.held;
  }
  return out;
}

absl::StatusOr<std::vector<AbandonDay>> SqliteStore::abandon_ledger(CampaignId id) {
  std::vector<AbandonDay> out;
  PD_ASSIGN_OR_RETURN(Stmt * s, stmt("SELECT day, sum(answered), sum(abandoned) FROM "
                                     "abandon_ledger WHERE campaign_id = ?1 GROUP BY day "
                                     "ORDER BY day"));
  s->bind(1, id);
  while (true) {
    PD_ASSIGN_OR_RETURN(bool row, s->step());
    if (!row) break;
    out.push_back(AbandonDay{std::string(s->text(0)), s->int64(1), s->int64(2)});
  }
  s->reset();
  return out;
}

absl::Status SqliteStore::for_each_attempt_audit(
    CampaignId id, const std::function<void(const AttemptAudit&)>& fn) {
  // Every figure is read from the attempts as recorded (of all campaigns:
  // caps and lockouts count across them), through the attempts(phone,
  // started_at) index. "Up to and including this one" orders attempts by
  // start, then id.
  static constexpr const char* kPlaced = "coalesce(b.outcome, '') <> 'suppressed'";
  static const std::string calls_to_phone = cat(
      "(SELECT count(*) FROM attempts b WHERE b.phone = a.phone AND ", kPlaced,
      " AND b.started_at > a.started_at - ?2 AND (b.started_at < a.started_at OR "
      "(b.started_at = a.started_at AND b.id <= a.id)))");
  static const std::string calls_to_customer = cat(
      "(SELECT count(*) FROM attempts b JOIN customers cb ON cb.id = b.customer_id "
      "WHERE cb.cust_id = cu.cust_id AND ", kPlaced,
      " AND b.started_at > a.started_at - ?2 AND (b.started_at < a.started_at OR "
      "(b.started_at = a.started_at AND b.id <= a.id)))");
  auto with_window = [](const std::string& sql, std::string_view ms) {
    std::string out = sql;
    out.replace(out.find("?2"), 2, ms);
    return out;
  };
  const std::string sql = cat(
      "SELECT a.id, cu.cust_id, a.phone, a.started_at, coalesce(p.zones, ''), "
      "coalesce(p.region, ''), coalesce(a.callee_timezone, ''), "
      "(SELECT coalesce(ds.label, '') FROM dnc d LEFT JOIN dnc_sources ds ON ds.id = d.source_id "
      " WHERE d.number = CAST(substr(a.phone, 2) AS INTEGER) AND d.added_at <= a.started_at "
      " AND (d.expires_at IS NULL OR d.expires_at > a.started_at) LIMIT 1), ",
      with_window(calls_to_phone, "86400000"), ", ", with_window(calls_to_phone, "604800000"),
      ", ", with_window(calls_to_customer, "86400000"), ", ",
      with_window(calls_to_customer, "604800000"), ", ",
      "(SELECT max(coalesce(b.ended_at, b.answered_at, b.started_at)) FROM attempts b "
      " WHERE b.phone = a.phone AND b.outcome = 'abandoned' AND b.started_at < a.started_at) "
      "FROM attempts a JOIN customers cu ON cu.id = a.customer_id "
      "LEFT JOIN phones p ON p.customer_id = a.customer_id AND p.seq = a.phone_seq "
      "WHERE a.campaign_id = ?1 AND coalesce(a.outcome, '') <> 'suppressed' ORDER BY a.id");
  // Its own statement: `fn` may use the store while this one is stepping.
  PD_ASSIGN_OR_RETURN(Stmt s, db_.prepare(sql));
  s.bind(1, id);
  while (true) {
    PD_ASSIGN_OR_RETURN(bool row, s.step());
    if (!row) break;
    AttemptAudit a;
    a.id = s.int64(0);
    a.cust_id = s.text(1);
    a.phone = s.text(2);
    a.started_at = wall(s.int64(3));
    a.zones = s.text(4);
    a.region = s.text(5);
    a.callee_timezone = s.text(6);
    if (!s.is_null(7)) a.dnc_source = std::string(s.text(7));
    a.phone_calls_24h = s.int64(8);
    a.phone_calls_7d = s.int64(9);
    a.customer_calls_24h = s.int64(10);
    a.customer_calls_7d = s.int64(11);
    if (!s.is_null(12)) a.last_abandon_before = wall(s.int64(12));
    fn(a);
  }
  return absl::OkStatus();
}

absl::Status SqliteStore::limit_pages_for_testing(int64_t pages) {
  return db_.exec(cat("PRAGMA max_page_count=", pages));
}

absl::StatusOr<int64_t> SqliteStore::page_count_for_testing() {
  PD_ASSIGN_OR_RETURN(Stmt s, db_.prepare("PRAGMA page_count"));
  PD_ASSIGN_OR_RETURN(bool row, s.step());
  if (!row) return absl::InternalError("PRAGMA page_count answered no row");
  return s.int64(0);
}

absl::StatusOr<std::optional<std::string>> SqliteStore::checkpoint(std::string_view stream,
                                                                   std::string_view shard) {
  PD_ASSIGN_OR_RETURN(Stmt * s, stmt("SELECT sequence FROM checkpoints WHERE stream = ?1 AND "
                                     "shard = ?2"));
  s->bind(1, stream).bind(2, shard);
  PD_ASSIGN_OR_RETURN(bool row, s->step());
  std::optional<std::string> out;
  if (row) out = std::string(s->text(0));
  s->reset();
  return out;
}

absl::Status SqliteStore::set_checkpoint(std::string_view stream, std::string_view shard,
                                         std::string_view sequence_number) {
  PD_ASSIGN_OR_RETURN(Stmt * s, stmt("INSERT INTO checkpoints(stream, shard, sequence) "
                                     "VALUES(?1, ?2, ?3) ON CONFLICT(stream, shard) "
                                     "DO UPDATE SET sequence = ?3"));
  return s->bind(1, stream).bind(2, shard).bind(3, sequence_number).run();
}

absl::StatusOr<std::optional<int64_t>> SqliteStore::acquire_lease(CampaignId id,
                                                                  std::string_view owner,
                                                                  WallTime now, WallTime until) {
  sqlite::Transaction txn(db_);
  PD_RETURN_IF_ERROR(txn.begin());
  PD_ASSIGN_OR_RETURN(std::optional<Lease> held, lease(id));
  if (held && held->owner != owner && held->until > now) return std::nullopt;
  int64_t token = 0;
  if (held && held->owner == owner) {
    token = held->token;  // a renewal
  } else {
    PD_ASSIGN_OR_RETURN(Stmt * next, stmt("UPDATE meta SET value = CAST(value AS INTEGER) + 1 "
                                          "WHERE key = 'last_lease_token' RETURNING value"));
    PD_ASSIGN_OR_RETURN(bool row, next->step());
    if (!row) return absl::InternalError("the store has no lease token counter: run powerdialer init");
    token = next->int64(0);
    next->reset();
  }
  PD_ASSIGN_OR_RETURN(Stmt * s, stmt("INSERT INTO leases(campaign_id, owner, expires_at, token) "
                                     "VALUES(?1, ?2, ?3, ?4) ON CONFLICT(campaign_id) DO UPDATE "
                                     "SET owner = ?2, expires_at = ?3, token = ?4"));
  PD_RETURN_IF_ERROR(s->bind(1, id).bind(2, owner).bind(3, ms(until)).bind(4, token).run());
  PD_RETURN_IF_ERROR(txn.commit());
  return token;
}

absl::Status SqliteStore::check_fence() {
  if (!fence_) return absl::OkStatus();
  PD_ASSIGN_OR_RETURN(Stmt * s, stmt("SELECT 1 FROM leases WHERE campaign_id = ?1 AND owner = ?2 "
                                     "AND token = ?3"));
  s->bind(1, fence_->campaign).bind(2, fence_->owner).bind(3, fence_->token);
  PD_ASSIGN_OR_RETURN(bool row, s->step());
  s->reset();
  if (!row) return lost_lease_error(fence_->campaign, fence_->owner, fence_->token);
  return absl::OkStatus();
}

absl::Status SqliteStore::release_lease(CampaignId id, std::string_view owner) {
  PD_ASSIGN_OR_RETURN(Stmt * s, stmt("DELETE FROM leases WHERE campaign_id = ?1 AND owner = ?2"));
  return s->bind(1, id).bind(2, owner).run();
}

absl::StatusOr<std::optional<Lease>> SqliteStore::lease(CampaignId id) {
  PD_ASSIGN_OR_RETURN(Stmt * s,
                      stmt("SELECT owner, expires_at, token FROM leases WHERE campaign_id = ?1"));
  s->bind(1, id);
  PD_ASSIGN_OR_RETURN(bool row, s->step());
  std::optional<Lease> out;
  if (row) out = Lease{std::string(s->text(0)), wall(s->int64(1)), s->int64(2)};
  s->reset();
  return out;
}

absl::Status SqliteStore::break_lease(CampaignId id) {
  PD_ASSIGN_OR_RETURN(Stmt * s, stmt("DELETE FROM leases WHERE campaign_id = ?1"));
  return s->bind(1, id).run();
}

absl::Status SqliteStore::heartbeat_node(std::string_view id, WallTime now, WallTime until,
                                          bool draining) {
  if (id.empty()) return absl::InvalidArgumentError("a dialer node needs a non-empty id");
  sqlite::Transaction txn(db_);
  PD_RETURN_IF_ERROR(txn.begin());
  PD_ASSIGN_OR_RETURN(Stmt * s, stmt("INSERT INTO nodes(id, until_ms, draining) VALUES(?1, ?2, ?3) "
                                     "ON CONFLICT(id) DO UPDATE SET until_ms = ?2, draining = ?3"));
  PD_RETURN_IF_ERROR(s->bind(1, id).bind(2, ms(until)).bind(3, int64_t{draining ? 1 : 0}).run());
  PD_ASSIGN_OR_RETURN(Stmt * forget, stmt("DELETE FROM nodes WHERE until_ms < ?1"));
  PD_RETURN_IF_ERROR(forget->bind(1, ms(now) - kForgetNodeAfterMs).run());
  return txn.commit();
}

absl::StatusOr<std::vector<Node>> SqliteStore::live_nodes(WallTime now) {
  PD_ASSIGN_OR_RETURN(Stmt * s, stmt("SELECT id, until_ms, draining FROM nodes WHERE until_ms > ?1 "
                                     "ORDER BY id"));
  s->bind(1, ms(now));
  std::vector<Node> out;
  while (true) {
    auto row = s->step();
    if (!row.ok()) {
      s->reset();
      return row.status();
    }
    if (!*row) break;
    out.push_back({std::string(s->text(0)), wall(s->int64(1)), s->int64(2) != 0});
  }
  s->reset();
  return out;
}

absl::Status SqliteStore::remove_node(std::string_view id) {
  PD_ASSIGN_OR_RETURN(Stmt * s, stmt("DELETE FROM nodes WHERE id = ?1"));
  return s->bind(1, id).run();
}

absl::Status SqliteStore::add_api_token(const ApiToken& token) {
  PD_ASSIGN_OR_RETURN(Stmt * s, stmt("INSERT INTO api_tokens(name, sha256, hint, created_at) "
                                     "VALUES(?1, ?2, ?3, ?4) ON CONFLICT DO NOTHING"));
  PD_RETURN_IF_ERROR(s->bind(1, token.name)
                         .bind(2, token.sha256_hex)
                         .bind(3, token.hint)
                         .bind(4, ms(token.created_at))
                         .run());
  if (db_.changes() == 0) {
    return absl::AlreadyExistsError(cat("an API token named '", token.name, "' exists"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<ApiToken>> SqliteStore::api_tokens() {
  PD_ASSIGN_OR_RETURN(Stmt * s, stmt("SELECT name, sha256, hint, created_at FROM api_tokens "
                                     "ORDER BY created_at, name"));
  std::vector<ApiToken> out;
  while (true) {
    auto row = s->step();
    if (!row.ok()) {
      s->reset();
      return row.status();
    }
    if (!*row) break;
    out.push_back({std::string(s->text(0)), std::string(s->text(1)), std::string(s->text(2)),
                   wall(s->int64(3))});
  }
  s->reset();
  return out;
}

absl::Status SqliteStore::revoke_api_token(std::string_view name) {
  PD_ASSIGN_OR_RETURN(Stmt * s, stmt("DELETE FROM api_tokens WHERE name = ?1"));
  PD_RETURN_IF_ERROR(s->bind(1, name).run());
  if (db_.changes() == 0) return absl::NotFoundError(cat("no API token named '", name, "'"));
  return absl::OkStatus();
}

}  // namespace pd
