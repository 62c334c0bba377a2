#include "store/memory/memory_store.h"

#include <algorithm>
#include <limits>
#include <tuple>

#include "absl/container/btree_set.h"
#include "absl/container/flat_hash_map.h"
#include "compliance/calling_window.h"
#include "core/advice.h"
#include "core/config_keys.h"
#include "core/retry_policy.h"
#include "core/status_macros.h"
#include "core/strings.h"
#include "store/store_common.h"

namespace pd {

using namespace store_common;  // NOLINT: the helpers every store shares

namespace {

// Strings that repeat across rows (where callees are, time zones, owners,
// disconnect reasons) are held once, by number.
using NameId = int32_t;

struct PhoneRow {
  std::string e164;
  int attempts = 0;
  NameId callee = 0;  // State::callees: the phone's zones and region
};

struct CustomerRow {
  CampaignId campaign = 0;
  std::string cust_id;
  std::string attributes;
  int64_t line = 0;
  CustomerState state = CustomerState::kPending;
  int next_phone = 0;
  int64_t next_at = 0;  // ms
  std::string held;     // why a rule holds them ('' none)
  std::vector<PhoneRow> phones;
  bool deleted = false;  // by a reload
};

struct AttemptRow {
  CampaignId campaign = 0;
  int64_t customer = 0;
  int phone_seq = 0;
  std::string phone;
  int attempt_on_phone = 1;
  AttemptState state = AttemptState::kDialing;
  std::optional<Outcome> outcome;
  NameId owner = 0;  // State::names
  int64_t started = 0;
  std::optional<int64_t> answered, ended;
  std::string contact_id;  // '' none
  bool has_contact = false;
  NameId disconnect_reason = 0, callee_timezone = 0;  // State::names ('' is 0)
  std::string agent_id, disposition, rule;
  bool deleted = false;  // by release_claim() or a reload
};

// A call placed to a phone or a customer id, as the caps and the abandon
// lockout count them (suppressed attempts are not calls). `attempt` 0 is a
// call a reload forgot, kept as SQLite keeps call_history.
struct CallRef {
  AttemptId attempt = 0;
  int64_t started = 0;
  std::optional<int64_t> abandoned_at;  // forgotten calls only
};

struct Counts {
  int64_t customers = 0, phones = 0, attempts = 0, in_flight = 0;
  std::map<CustomerState, int64_t> by_state;
  std::map<Outcome, int64_t> by_outcome;
  void move(CustomerState from, CustomerState to) {
    if (from == to) return;
    --by_state[from];
    ++by_state[to];
  }
};

struct LedgerDay {
  int64_t answered = 0, abandoned = 0;
};

struct CampaignRow {
  std::string name;
  CampaignState state = CampaignState::kIdle;
  std::map<std::string, std::string> config;
  Counts counts;
  std::vector<std::pair<int64_t, std::string>> rejects;  // (line, reason), as added
  std::map<std::string, int64_t> reject_counts;
  std::map<std::string, RuleCount> rules;
  std::map<std::string, LedgerDay> ledger;  // by day, 'YYYY-MM-DD'
  std::vector<AttemptId> attempts;          // in id order (deleted ones skipped)
  absl::btree_set<AttemptId> open;          // not ended
  // The compliance policy, parsed once while the configuration and the
  // region rules stay as they are.
  std::optional<CompliancePolicy> policy;
};

struct DncRow {
  std::string source;
  int64_t added = 0;
  std::optional<int64_t> expires;
  bool active_at(int64_t now) const { return !expires || now < *expires; }
};

constexpr int64_t kMinMs = std::numeric_limits<int64_t>::min();

// The do-not-call key of a number a dnc disposition lists.
absl::StatusOr<int64_t> disposition_dnc_key(std::string_view phone) {
  if (const std::optional<int64_t> key = dnc_key(phone)) return *key;
  return absl::InvalidArgumentError(cat("cannot put ", echo(phone), " on the do-not-call list"));
}

// Where a callee is, as the key that interns it (State::callee, and a
// list load's own numbering until it commits).
std::string callee_key(const CalleeFacts& facts) {
  return cat(join_zones(facts.zones), "\n", facts.region);
}

// A key for the string-keyed hash maps' lookups (Debian's Abseil has its
// own string_view type).
absl::string_view key_of(std::string_view s) { return {s.data(), s.size()}; }

}  // namespace

struct MemoryStore::State {
  State() {
    intern("");
    callee({});
  }

  std::string instance_id;
  std::vector<std::string> names;  // by NameId; names[0] is ''
  absl::flat_hash_map<std::string, NameId> name_ids;
  // Where callees are, by NameId; callees[0] is unknown. callee_zones: the
  // zones as stored (join_zones()).
  std::vector<CalleeFacts> callees;
  std::vector<std::string> callee_zones;
  absl::flat_hash_map<std::string, NameId> callee_ids;  // zones '\n' region
  std::map<CampaignId, CampaignRow> campaigns;
  CampaignId last_campaign = 0;
  std::vector<CustomerRow> customers;  // customer id - 1
  absl::flat_hash_map<std::pair<CampaignId, std::string>, int64_t> customer_ids;
  // (campaign, next_at, customer id) of every pending customer, in the
  // order claims take them.
  absl::btree_set<std::tuple<CampaignId, int64_t, int64_t>> callable;
  std::vector<AttemptRow> attempts;  // attempt id - 1
  absl::flat_hash_map<std::string, AttemptId> by_contact;
  absl::flat_hash_map<std::string, std::vector<CallRef>> phone_calls;     // by E.164
  absl::flat_hash_map<std::string, std::vector<CallRef>> customer_calls;  // by cust_id
  std::map<std::pair<std::string, std::string>, std::string> checkpoints;
  std::map<CampaignId, Lease> leases;
  int64_t last_lease_token = 0;
  std::map<std::string, Node> nodes;
  std::map<std::string, std::string> settings;
  std::vector<ApiToken> tokens;
  std::map<int64_t, DncRow> dnc;  // by dnc_key()

  NameId intern(std::string_view name) {
    auto [it, added] = name_ids.try_emplace(std::string(name), static_cast<NameId>(names.size()));
    if (added) names.emplace_back(name);
    return it->second;
  }
  NameId callee(const CalleeFacts& facts) {
    auto [it, added] =
        callee_ids.try_emplace(callee_key(facts), static_cast<NameId>(callees.size()));
    if (added) {
      callees.push_back(facts);
      callee_zones.push_back(join_zones(facts.zones));
    }
    return it->second;
  }

  CampaignRow* find(CampaignId id) {
    auto it = campaigns.find(id);
    return it == campaigns.end() ? nullptr : &it->second;
  }
  absl::StatusOr<CampaignRow*> campaign(CampaignId id) {
    CampaignRow* row = find(id);
    if (row == nullptr) return absl::NotFoundError(cat("no campaign with id ", id));
    return row;
  }
  AttemptRow* attempt(AttemptId id) {
    if (id < 1 || id > static_cast<AttemptId>(attempts.size())) return nullptr;
    AttemptRow& a = attempts[static_cast<size_t>(id - 1)];
    return a.deleted ? nullptr : &a;
  }
  CustomerRow& customer(int64_t id) { return customers[static_cast<size_t>(id - 1)]; }

  // Moves customer `id` to `state` due at `next_at`, keeping `callable`.
  void place(int64_t id, CustomerState state, int64_t next_at) {
    CustomerRow& c = customer(id);
    if (c.state == CustomerState::kPending) callable.erase({c.campaign, c.next_at, id});
    c.state = state;
    c.next_at = next_at;
    if (state == CustomerState::kPending) callable.insert({c.campaign, next_at, id});
  }

  absl::StatusOr<const CompliancePolicy*> policy_for(CampaignId id) {
    PD_ASSIGN_OR_RETURN(CampaignRow * row, campaign(id));
    if (!row->policy) {
      auto it = settings.find(std::string(kRegionRulesSetting));
      auto policy =
          CompliancePolicy::from_config(row->config, it == settings.end() ? "" : it->second);
      if (!policy.ok()) {
        return absl::FailedPreconditionError(
            cat("the compliance configuration cannot be applied: ", policy.status().message()));
      }
      row->policy = *std::move(policy);
    }
    return &*row->policy;
  }

  AbandonRates rates_under(const CampaignRow& row, const CompliancePolicy& policy, WallTime now) {
    AbandonRates r;
    r.max_rate = policy.max_abandon_rate;
    r.today = ledger_day(now, policy.ledger_timezone);
    for (auto it = row.ledger.lower_bound(days_before(r.today, 29));
         it != row.ledger.end() && it->first <= r.today; ++it) {
      r.answered_30d += it->second.answered;
      r.abandoned_30d += it->second.abandoned;
      if (it->first == r.today) {
        r.answered_today = it->second.answered;
        r.abandoned_today = it->second.abandoned;
      }
    }
    return r;
  }

  std::optional<std::string> dnc_source_if_listed(std::string_view e164, int64_t now) {
    const std::optional<int64_t> key = dnc_key(e164);
    if (!key) return std::nullopt;  // what the import stored is E.164; nothing else is listed
    auto it = dnc.find(*key);
    if (it == dnc.end() || !it->second.active_at(now)) return std::nullopt;
    return it->second.source;
  }

  AttemptRecord record(AttemptId id, const AttemptRow& a) {
    AttemptRecord r;
    r.id = id;
    r.campaign = campaigns.at(a.campaign).name;
    r.cust_id = customer(a.customer).cust_id;
    r.phone = a.phone;
    r.attempt_on_phone = a.attempt_on_phone;
    r.state = a.state;
    r.outcome = a.outcome;
    r.started_at = wall(a.started);
    if (a.answered) r.answered_at = wall(*a.answered);
    if (a.ended) r.ended_at = wall(*a.ended);
    r.disconnect_reason = names[static_cast<size_t>(a.disconnect_reason)];
    r.contact_id = a.contact_id;
    r.agent_id = a.agent_id;
    r.disposition = a.disposition;
    r.client_token = client_token(instance_id, id, a.started);
    r.owner = names[static_cast<size_t>(a.owner)];
    r.callee_timezone = names[static_cast<size_t>(a.callee_timezone)];
    r.rule = a.rule;
    return r;
  }

  // The end of an abandoned call to a phone (the abandon lockout's start).
  std::optional<int64_t> abandoned_at(const CallRef& c) {
    if (c.attempt == 0) return c.abandoned_at;
    const AttemptRow& a = attempts[static_cast<size_t>(c.attempt - 1)];
    if (a.outcome != Outcome::kAbandoned) return std::nullopt;
    return a.ended.value_or(a.started);
  }

  void add_call(const AttemptRow& a, AttemptId id) {
    phone_calls[a.phone].push_back({id, a.started, std::nullopt});
    customer_calls[customer(a.customer).cust_id].push_back({id, a.started, std::nullopt});
  }
  static void drop_call(std::vector<CallRef>& calls, AttemptId id) {
    std::erase_if(calls, [&](const CallRef& c) { return c.attempt == id; });
  }

  void add_to_ledger(CampaignRow& row, const CompliancePolicy& policy, Outcome outcome, int64_t at,
                     bool answered) {
    if (outcome != Outcome::kConnected && outcome != Outcome::kAbandoned) return;
    const bool abandoned = outcome == Outcome::kAbandoned;
    if (!answered && !abandoned) return;
    LedgerDay& day = row.ledger[ledger_day(wall(at), policy.ledger_timezone)];
    day.answered += answered ? 1 : 0;
    day.abandoned += abandoned ? 1 : 0;
  }

  // A reload forgets the campaign's list and calls; the calls any rule can
  // still look back at stay, as forgotten calls (SqliteStore's
  // call_history, with the same reach).
  void forget_list(CampaignId id, CampaignRow& row) {
    int64_t newest = kMinMs;
    for (AttemptId aid : row.attempts) {
      if (const AttemptRow* a = attempt(aid)) newest = std::max(newest, a->started);
    }
    for (AttemptId aid : row.attempts) {
      AttemptRow* a = attempt(aid);
      if (a == nullptr) continue;
      const std::string& cust_id = customer(a->customer).cust_id;
      if (a->outcome != Outcome::kSuppressed) {
        const bool keep = a->started >= newest - kCallHistoryKeptMs;
        std::optional<int64_t> abandoned;
        if (a->outcome == Outcome::kAbandoned) abandoned = a->ended.value_or(a->started);
        for (std::vector<CallRef>* calls : {&phone_calls[a->phone], &customer_calls[cust_id]}) {
          if (!keep) {
            drop_call(*calls, aid);
            continue;
          }
          for (CallRef& c : *calls) {
            if (c.attempt == aid) c = {0, a->started, abandoned};
          }
        }
      }
      if (a->has_contact) by_contact.erase(a->contact_id);
      a->deleted = true;
    }
    // As call_history: nothing older than the reach before its newest call.
    int64_t newest_forgotten = kMinMs;
    for (const auto& [phone, calls] : phone_calls) {
      for (const CallRef& c : calls) {
        if (c.attempt == 0) newest_forgotten = std::max(newest_forgotten, c.started);
      }
    }
    for (auto* index : {&phone_calls, &customer_calls}) {
      for (auto& [key, calls] : *index) {
        std::erase_if(calls, [&](const CallRef& c) {
          return c.attempt == 0 && c.started < newest_forgotten - kCallHistoryKeptMs;
        });
      }
    }
    for (size_t i = 0; i < customers.size(); ++i) {
      CustomerRow& c = customers[i];
      if (c.deleted || c.campaign != id) continue;
      const auto cid = static_cast<int64_t>(i + 1);
      if (c.state == CustomerState::kPending) callable.erase({id, c.next_at, cid});
      customer_ids.erase({id, c.cust_id});
      c.deleted = true;
      c.phones.clear();
      c.phones.shrink_to_fit();
    }
    row.attempts.clear();
    row.open.clear();
    row.counts = Counts{};
  }
};

struct MemoryStore::Db {
  std::mutex mu;
  State state;
  uint64_t commits = 0;  // changes made, by every Store object (data_version())
};

// The database for the length of one call: locked, unless this Store's
// batch already holds it.
class MemoryStore::Access {
 public:
  explicit Access(MemoryStore& store)
      : lock_(store.db_->mu, std::defer_lock), state_(store.db_->state) {
    if (!store.batch_lock_.owns_lock()) lock_.lock();
  }
  State* operator->() { return &state_; }
  State& operator*() { return state_; }

 private:
  std::unique_lock<std::mutex> lock_;
  State& state_;
};

// ---------------------------------------------------------------------------

std::unique_ptr<MemoryStore> MemoryStore::create() {
  auto db = std::make_shared<Db>();
  db->state.instance_id = random_hex(8);
  return std::unique_ptr<MemoryStore>(new MemoryStore(std::move(db)));
}

MemoryStore::MemoryStore(std::shared_ptr<Db> db) : db_(std::move(db)) {}

MemoryStore::~MemoryStore() {
  if (batch_lock_.owns_lock()) abort_batch();
}

std::unique_ptr<MemoryStore> MemoryStore::open_another() {
  return std::unique_ptr<MemoryStore>(new MemoryStore(db_));
}

void MemoryStore::pin_instance_id(std::string_view id) {
  Access s(*this);
  s->instance_id = id;
}

absl::Status MemoryStore::check_fence(const State& s) const {
  if (!fence_) return absl::OkStatus();
  auto it = s.leases.find(fence_->campaign);
  if (it == s.leases.end() || it->second.owner != fence_->owner ||
      it->second.token != fence_->token) {
    return lost_lease_error(fence_->campaign, fence_->owner, fence_->token);
  }
  return absl::OkStatus();
}

void MemoryStore::committed() {
  if (batch_lock_.owns_lock()) return;  // counted when the batch commits
  ++db_->commits;
  ++own_commits_;
}

// --- campaigns and configuration -------------------------------------------

absl::StatusOr<Campaign> MemoryStore::init_campaign(std::string_view name) {
  Access s(*this);
  CampaignId id = 0;
  for (const auto& [cid, row] : s->campaigns) {
    if (row.name == name) id = cid;
  }
  if (id == 0) {
    id = ++s->last_campaign;
    s->campaigns[id].name = name;
  }
  CampaignRow& row = s->campaigns[id];
  for (const ConfigKey& key : all_config_keys()) {
    if (!key.default_value.empty()) row.config.emplace(key.name, key.default_value);
  }
  row.policy.reset();
  committed();
  return Campaign{id, row.name, row.state};
}

absl::StatusOr<Campaign> MemoryStore::find_campaign(std::string_view name) {
  Access s(*this);
  for (const auto& [id, row] : s->campaigns) {
    if (row.name == name) return Campaign{id, row.name, row.state};
  }
  return with_advice(absl::NotFoundError(cat("no campaign ", echo(name))),
                     {Remedy::kCreateCampaign, std::string(name), ""});
}

absl::StatusOr<Campaign> MemoryStore::campaign(CampaignId id) {
  Access s(*this);
  PD_ASSIGN_OR_RETURN(CampaignRow * row, s->campaign(id));
  return Campaign{id, row->name, row->state};
}

absl::StatusOr<std::vector<Campaign>> MemoryStore::list_campaigns() {
  Access s(*this);
  std::vector<Campaign> out;
  for (const auto& [id, row] : s->campaigns) out.push_back({id, row.name, row.state});
  std::sort(out.begin(), out.end(),
            [](const Campaign& a, const Campaign& b) { return a.name < b.name; });
  return out;
}

absl::StatusOr<Campaign> MemoryStore::transition(CampaignId id, std::vector<CampaignState> from,
                                                 CampaignState to) {
  Access s(*this);
  PD_RETURN_IF_ERROR(check_fence(*s));
  PD_ASSIGN_OR_RETURN(CampaignRow * row, s->campaign(id));
  if (!from.empty() && std::find(from.begin(), from.end(), row->state) == from.end()) {
    return absl::FailedPreconditionError(
        cat("campaign '", row->name, "' is ", to_string(row->state)));
  }
  row->state = to;
  committed();
  return Campaign{id, row->name, to};
}

absl::StatusOr<std::map<std::string, std::string>> MemoryStore::config(CampaignId id) {
  Access s(*this);
  CampaignRow* row = s->find(id);
  if (row == nullptr) return std::map<std::string, std::string>{};
  return row->config;
}

absl::Status MemoryStore::set_config(CampaignId id, std::string_view key, std::string_view value) {
  Access s(*this);
  PD_ASSIGN_OR_RETURN(CampaignRow * row, s->campaign(id));
  row->config[std::string(key)] = value;
  row->policy.reset();
  committed();
  return absl::OkStatus();
}

absl::Status MemoryStore::unset_config(CampaignId id, std::string_view key) {
  Access s(*this);
  if (CampaignRow* row = s->find(id)) {
    row->config.erase(std::string(key));
    row->policy.reset();
  }
  committed();
  return absl::OkStatus();
}

// --- the dialing list --------------------------------------------------------

// Keeps the load to itself until commit(), which applies it whole.
class MemoryStore::Writer final : public ListWriter {
 public:
  Writer(MemoryStore& store, CampaignId id, LoadMode mode)
      : store_(store), campaign_(id), mode_(mode) {}

  absl::StatusOr<bool> add(std::string_view cust_id, std::string_view phone_e164,
                           std::string_view attributes_json, int64_t line,
                           const CalleeFacts& callee) override {
    auto [it, first_row] = added_.try_emplace(std::string(cust_id), customers_.size());
    if (first_row) {
      NewCustomer& c = customers_.emplace_back();
      c.cust_id = cust_id;
      c.attributes = attributes_json;
      c.line = line;
      if (mode_ == LoadMode::kAppend) {
        // A customer the list already has keeps their attributes and
        // phones; this load only adds phones.
        Access s(store_);
        auto found = s->customer_ids.find(std::make_pair(campaign_, std::string(cust_id)));
        if (found != s->customer_ids.end()) {
          c.existing = found->second;
          for (const PhoneRow& p : s->customer(c.existing).phones) c.known.push_back(p.e164);
        }
      }
    }
    NewCustomer& c = customers_[it->second];
    // The same phone again is kept once.
    for (const PhoneRow& p : c.phones) {
      if (p.e164 == phone_e164) return false;
    }
    if (std::find(c.known.begin(), c.known.end(), phone_e164) != c.known.end()) return false;
    // Rows in a row tend to share where their callees are.
    if (callees_.empty() || callee.zones != callees_[last_callee_].zones ||
        callee.region != callees_[last_callee_].region) {
      auto [where, added] =
          callee_ids_.try_emplace(callee_key(callee), static_cast<NameId>(callees_.size()));
      if (added) callees_.push_back(callee);
      last_callee_ = where->second;
    }
    c.phones.push_back({std::string(phone_e164), 0, last_callee_});
    return true;
  }

  absl::Status reject(int64_t line, std::string_view reason) override {
    rejects_.emplace_back(line, std::string(reason));
    return absl::OkStatus();
  }

  absl::Status count_rejects(const std::map<std::string, int64_t>& by_reason) override {
    for (const auto& [reason, rows] : by_reason) {
      if (rows > 0) reject_counts_[reason] = rows;
    }
    return absl::OkStatus();
  }

  absl::Status commit() override {
    Access s(store_);
    PD_ASSIGN_OR_RETURN(CampaignRow * row, s->campaign(campaign_));
    PD_RETURN_IF_ERROR(refuse_running(*row));
    if (mode_ == LoadMode::kReplace) s->forget_list(campaign_, *row);
    // Rejects describe one load (an append's line numbers are its own file's).
    row->rejects = std::move(rejects_);
    row->reject_counts = std::move(reject_counts_);
    // A new or extended list makes a finished campaign callable again.
    if (row->state == CampaignState::kDone || row->state == CampaignState::kStopped) {
      row->state = CampaignState::kIdle;
    }
    // This load's callees, as the store numbers them.
    std::vector<NameId> callee_ids;
    callee_ids.reserve(callees_.size());
    for (const CalleeFacts& f : callees_) callee_ids.push_back(s->callee(f));
    for (NewCustomer& c : customers_) {
      for (PhoneRow& p : c.phones) p.callee = callee_ids[static_cast<size_t>(p.callee)];
      row->counts.phones += static_cast<int64_t>(c.phones.size());
      if (c.existing != 0) {
        // Customers whose rows continue a list already loaded (append):
        // they keep their attributes and state.
        std::vector<PhoneRow>& phones = s->customer(c.existing).phones;
        for (PhoneRow& p : c.phones) phones.push_back(std::move(p));
        continue;
      }
      CustomerRow& added = s->customers.emplace_back();
      const auto id = static_cast<int64_t>(s->customers.size());
      added.campaign = campaign_;
      added.cust_id = std::move(c.cust_id);
      added.attributes = std::move(c.attributes);
      added.line = c.line;
      added.phones = std::move(c.phones);
      s->customer_ids.emplace(std::make_pair(campaign_, added.cust_id), id);
      s->callable.insert({campaign_, 0, id});
      ++row->counts.customers;
      ++row->counts.by_state[CustomerState::kPending];
    }
    customers_.clear();
    added_.clear();
    store_.committed();
    return absl::OkStatus();
  }

  static absl::Status refuse_running(const CampaignRow& row) {
    if (row.state == CampaignState::kRunning || row.state == CampaignState::kStopping) {
      return absl::FailedPreconditionError(cat("campaign '", row.name, "' is ",
                                               to_string(row.state),
                                               "; stop it before loading a list"));
    }
    return absl::OkStatus();
  }

 private:
  struct NewCustomer {
    int64_t existing = 0;  // an appended customer's id; 0: a new customer
    std::string cust_id, attributes;
    int64_t line = 0;
    std::vector<PhoneRow> phones;    // added by this load
    std::vector<std::string> known;  // an existing customer's phones
  };
  MemoryStore& store_;
  CampaignId campaign_;
  LoadMode mode_;
  std::vector<NewCustomer> customers_;
  absl::flat_hash_map<std::string, size_t> added_;  // cust_id -> customers_
  std::vector<std::pair<int64_t, std::string>> rejects_;
  std::map<std::string, int64_t> reject_counts_;
  // Where this load's callees are (its phones' `callee`, until commit()).
  std::vector<CalleeFacts> callees_;
  absl::flat_hash_map<std::string, NameId> callee_ids_;
  NameId last_callee_ = 0;
};

absl::StatusOr<std::unique_ptr<ListWriter>> MemoryStore::begin_list(CampaignId id, LoadMode mode) {
  {
    Access s(*this);
    PD_ASSIGN_OR_RETURN(CampaignRow * row, s->campaign(id));
    PD_RETURN_IF_ERROR(Writer::refuse_running(*row));
  }
  return std::make_unique<Writer>(*this, id, mode);
}

// --- dialing -------------------------------------------------------------------

absl::StatusOr<std::vector<Claim>> MemoryStore::claim(CampaignId id, int max, WallTime now,
                                                      std::string_view owner) {
  std::vector<Claim> claims;
  if (max <= 0) return claims;
  Access s(*this);
  PD_RETURN_IF_ERROR(check_fence(*s));
  PD_ASSIGN_OR_RETURN(const CompliancePolicy* policy, s->policy_for(id));
  CampaignRow& row = *s->find(id);
  std::map<std::string_view, RuleCount> counts;
  const AbandonRates rates = s->rates_under(row, *policy, now);
  ++counts[rule::kAbandonRate].checked;
  if (rates.over_max()) return abandon_rate_paused(row.name, rates);

  const int64_t now_ms = ms(now);
  // The rules, in SqliteStore::claim's order. Each only reads, so nothing
  // changes before every check of a customer is done: a claim cannot fail
  // half-way.
  auto check_window = [&](const PhoneRow& p, std::string* zone) {
    Verdict v = policy->check_window(s->callees[static_cast<size_t>(p.callee)], now, zone);
    v.rule = rule::kCallingWindow;
    return v;
  };
  auto check_dnc = [&](const PhoneRow& p) {
    if (auto source = s->dnc_source_if_listed(p.e164, now_ms)) {
      return Verdict::suppress(rule::kDnc, dnc_rule_detail(*source));
    }
    Verdict v = Verdict::dial();
    v.rule = rule::kDnc;
    return v;
  };
  auto check_lockout = [&](const PhoneRow& p) {
    Verdict v = Verdict::dial();
    v.rule = rule::kAbandonLockout;
    if (policy->abandon_lockout.count() <= 0) {
      v.checked = false;
      return v;
    }
    const int64_t lockout = std::chrono::duration_cast<Millis>(policy->abandon_lockout).count();
    std::optional<int64_t> latest;
    if (auto it = s->phone_calls.find(key_of(p.e164)); it != s->phone_calls.end()) {
      for (const CallRef& c : it->second) {
        if (c.started <= now_ms - lockout - kLongestCall.count()) continue;
        if (auto at = s->abandoned_at(c); at && (!latest || *at > *latest)) latest = at;
      }
    }
    if (latest && *latest + lockout > now_ms) {
      return Verdict::defer(rule::kAbandonLockout, wall(*latest + lockout), "");
    }
    return v;
  };
  std::vector<int64_t> times;
  auto lets_go = [&](bool per_customer, std::string_view key, int cap,
                     Millis window) -> absl::StatusOr<std::optional<WallTime>> {
    const auto& index = per_customer ? s->customer_calls : s->phone_calls;
    auto it = index.find(key_of(key));
    if (it == index.end()) return std::nullopt;
    times.clear();
    for (const CallRef& call : it->second) {
      if (call.started > now_ms - window.count()) times.push_back(call.started);
    }
    // The cap-th newest call in the window is the one whose leaving lets
    // one more in.
    if (static_cast<int>(times.size()) < cap) return std::nullopt;
    std::nth_element(times.begin(), times.begin() + (cap - 1), times.end(), std::greater<>());
    return wall(times[static_cast<size_t>(cap - 1)]) + window;
  };
  auto check_caps = [&](const CustomerRow& c, const PhoneRow& p) {
    absl::StatusOr<Verdict> v = caps_verdict(*policy, s->callees[static_cast<size_t>(p.callee)],
                                             p.e164, c.cust_id, now, lets_go);
    return v.ok() ? *v : Verdict::dial();  // lets_go never fails
  };

  std::vector<int64_t> due;
  while (static_cast<int>(claims.size()) < max) {
    due.clear();
    const size_t want = static_cast<size_t>(max) - claims.size();
    for (auto it = s->callable.lower_bound({id, kMinMs, kMinMs});
         it != s->callable.end() && std::get<0>(*it) == id && std::get<1>(*it) <= now_ms &&
         due.size() < want;
         ++it) {
      const CustomerRow& c = s->customer(std::get<2>(*it));
      if (c.next_phone >= 0 && c.next_phone < static_cast<int>(c.phones.size())) {
        due.push_back(std::get<2>(*it));
      }
    }
    if (due.empty()) break;
    for (const int64_t cid : due) {
      CustomerRow& c = s->customer(cid);
      PhoneRow& p = c.phones[static_cast<size_t>(c.next_phone)];
      std::string zone;
      Verdict verdict;
      for (int check = 0; check < 4; ++check) {
        switch (check) {
          case 0:
            verdict = check_window(p, &zone);
            break;
          case 1:
            verdict = check_dnc(p);
            break;
          case 2:
            verdict = check_lockout(p);
            break;
          default:
            verdict = check_caps(c, p);
            break;
        }
        if (verdict.checked) ++counts[verdict.rule].checked;
        if (verdict.kind != Verdict::Kind::kDial) break;
      }
      if (verdict.kind == Verdict::Kind::kDefer) {
        ++counts[verdict.rule].held;
        c.held = verdict.reason();
        s->place(cid, CustomerState::kPending, ms(verdict.until));
        continue;
      }
      AttemptRow a;
      a.campaign = id;
      a.customer = cid;
      a.phone_seq = c.next_phone;
      a.phone = p.e164;
      a.attempt_on_phone = p.attempts + 1;
      a.owner = s->intern(owner);
      a.started = now_ms;
      a.callee_timezone = s->intern(zone);
      if (verdict.kind == Verdict::Kind::kSuppress) {
        ++counts[verdict.rule].held;
        a.state = AttemptState::kEnded;
        a.outcome = Outcome::kSuppressed;
        a.ended = now_ms;
        a.rule = verdict.reason();
        s->attempts.push_back(std::move(a));
        row.attempts.push_back(static_cast<AttemptId>(s->attempts.size()));
        // On to the customer's next phone, due at once (the next round
        // looks at it); with none left the customer ends suppressed.
        c.held.clear();
        const bool more = c.next_phone + 1 < static_cast<int>(c.phones.size());
        if (more) ++c.next_phone;
        const CustomerState to = more ? CustomerState::kPending : CustomerState::kSuppressed;
        s->place(cid, to, c.next_at);
        ++row.counts.attempts;
        ++row.counts.by_outcome[Outcome::kSuppressed];
        row.counts.move(CustomerState::kPending, to);
        continue;
      }
      ++p.attempts;
      c.held.clear();
      s->place(cid, CustomerState::kDialing, c.next_at);
      s->attempts.push_back(std::move(a));
      const auto aid = static_cast<AttemptId>(s->attempts.size());
      const AttemptRow& added = s->attempts.back();
      row.attempts.push_back(aid);
      row.open.insert(aid);
      s->add_call(added, aid);
      Claim& claimed = claims.emplace_back();
      claimed.attempt_id = aid;
      claimed.client_token = client_token(s->instance_id, aid, now_ms);
      claimed.cust_id = c.cust_id;
      claimed.phone = p.e164;
      claimed.phone_seq = added.phone_seq;
      claimed.attempt_on_phone = added.attempt_on_phone;
      claimed.attributes_json = c.attributes;
      claimed.callee_timezone = zone;
      ++row.counts.attempts;
      ++row.counts.in_flight;
      row.counts.move(CustomerState::kPending, CustomerState::kDialing);
    }
  }
  for (const auto& [name, n] : counts) {
    RuleCount& total = row.rules[std::string(name)];
    total.checked += n.checked;
    total.held += n.held;
  }
  committed();
  return claims;
}

absl::Status MemoryStore::release_claim(AttemptId attempt) {
  Access s(*this);
  PD_RETURN_IF_ERROR(check_fence(*s));
  AttemptRow* a = s->attempt(attempt);
  if (a == nullptr || a->state != AttemptState::kDialing) {
    return absl::NotFoundError(cat("no attempt ", attempt, " in state dialing"));
  }
  CampaignRow& row = s->campaigns.at(a->campaign);
  CustomerRow& c = s->customer(a->customer);
  --row.counts.attempts;
  --row.counts.in_flight;
  row.counts.move(c.state, CustomerState::kPending);
  row.open.erase(attempt);
  std::erase(row.attempts, attempt);
  State::drop_call(s->phone_calls[a->phone], attempt);
  State::drop_call(s->customer_calls[c.cust_id], attempt);
  if (a->has_contact) s->by_contact.erase(a->contact_id);
  --c.phones[static_cast<size_t>(a->phone_seq)].attempts;
  s->place(a->customer, CustomerState::kPending, c.next_at);
  a->deleted = true;
  committed();
  return absl::OkStatus();
}

absl::Status MemoryStore::set_contact_id(AttemptId attempt, std::string_view contact_id) {
  Access s(*this);
  PD_RETURN_IF_ERROR(check_fence(*s));
  AttemptRow* a = s->attempt(attempt);
  if (a == nullptr) return absl::NotFoundError(cat("no attempt ", attempt));
  auto it = s->by_contact.find(key_of(contact_id));
  if (it != s->by_contact.end() && it->second != attempt) {
    return absl::AlreadyExistsError(
        cat("contact id ", echo(contact_id), " belongs to attempt ", it->second));
  }
  if (a->has_contact) s->by_contact.erase(a->contact_id);
  a->contact_id = contact_id;
  a->has_contact = true;
  s->by_contact[a->contact_id] = attempt;
  committed();
  return absl::OkStatus();
}

absl::Status MemoryStore::mark_connected(AttemptId attempt, WallTime answered_at,
                                         std::string_view agent_id) {
  Access s(*this);
  PD_RETURN_IF_ERROR(check_fence(*s));
  AttemptRow* a = s->attempt(attempt);
  if (a == nullptr || a->state != AttemptState::kDialing) return absl::OkStatus();
  PD_ASSIGN_OR_RETURN(const CompliancePolicy* policy, s->policy_for(a->campaign));
  a->state = AttemptState::kConnected;
  if (!a->answered) a->answered = std::max(ms(answered_at), a->started);
  a->agent_id = agent_id;
  // The ledger counts the answer now (as SqliteStore::mark_connected).
  s->add_to_ledger(s->campaigns.at(a->campaign), *policy, Outcome::kConnected, *a->answered,
                   /*answered=*/true);
  committed();
  return absl::OkStatus();
}

absl::StatusOr<Store::Finished> MemoryStore::finish(AttemptId attempt,
                                                    const AttemptEnd& requested_end,
                                                    const RetryRules& rules) {
  Access s(*this);
  PD_RETURN_IF_ERROR(check_fence(*s));
  AttemptRow* a = s->attempt(attempt);
  if (a == nullptr) return absl::NotFoundError(cat("no attempt ", attempt));
  if (a->state == AttemptState::kEnded) return Finished{};
  const bool was_connected = a->state == AttemptState::kConnected;
  CustomerRow& c = s->customer(a->customer);
  CampaignRow& row = s->campaigns.at(a->campaign);
  const PhoneRow& p = c.phones[static_cast<size_t>(a->phone_seq)];
  const PhoneProgress progress{a->phone_seq, static_cast<int>(c.phones.size()), p.attempts};
  AttemptEnd end = requested_end;
  end.ended_at = std::max(end.ended_at, wall(std::max(a->started, a->answered.value_or(0))));
  if (end.disposition.empty()) end.disposition = a->disposition;
  const DispositionRule* rule = rules.dispositions && !end.disposition.empty()
                                    ? find_disposition(*rules.dispositions, end.disposition)
                                    : nullptr;
  // What may fail comes first: nothing is changed by a finish that fails.
  PD_ASSIGN_OR_RETURN(const CompliancePolicy* policy, s->policy_for(a->campaign));
  std::optional<int64_t> dnc;
  if (rule != nullptr && rule->action == DispositionAction::kDnc) {
    PD_ASSIGN_OR_RETURN(dnc, disposition_dnc_key(a->phone));
  }
  a->state = AttemptState::kEnded;
  a->outcome = end.outcome;
  a->ended = ms(end.ended_at);
  a->disconnect_reason = s->intern(end.disconnect_reason);
  a->disposition = end.disposition;
  row.open.erase(attempt);
  // A call marked connected was counted as answered then (mark_connected).
  s->add_to_ledger(row, *policy, end.outcome, *a->ended, !was_connected);
  if (dnc) s->dnc[*dnc] = DncRow{"disposition", *a->ended, std::nullopt};
  const NextStep next = decide_next_step(end.outcome, progress, rules, rule);
  const int64_t next_at = *a->ended + std::chrono::duration_cast<Millis>(next.delay).count();
  row.counts.move(c.state, next.state);
  c.next_phone = next.next_phone_seq;
  s->place(a->customer, next.state, next_at);
  --row.counts.in_flight;
  ++row.counts.by_outcome[end.outcome];
  committed();
  Finished finished{true, std::nullopt};
  if (next.state == CustomerState::kPending) finished.callable_at = wall(next_at);
  return finished;
}

absl::StatusOr<DispositionApplied> MemoryStore::set_disposition(CampaignId id, AttemptId attempt,
                                                                std::string_view raw_code,
                                                                std::optional<WallTime> callback_at,
                                                                WallTime now) {
  PD_ASSIGN_OR_RETURN(const std::string_view code, disposition_code(raw_code));
  Access s(*this);
  PD_RETURN_IF_ERROR(check_fence(*s));
  AttemptRow* a = s->attempt(attempt);
  if (a == nullptr || a->campaign != id) {
    return absl::NotFoundError(cat("no attempt ", attempt, " in this campaign"));
  }
  CampaignRow& row = s->campaigns.at(id);
  CustomerRow& c = s->customer(a->customer);
  const bool ended = a->state == AttemptState::kEnded;
  DispositionRules rules;
  if (auto it = row.config.find("dispositions"); it != row.config.end()) {
    auto parsed = parse_dispositions(it->second);
    if (!parsed.ok()) {
      return with_advice(
          absl::FailedPreconditionError(
              cat("stored configuration is invalid: dispositions: ", parsed.status().message())),
          {Remedy::kSetConfig, row.name, "dispositions"});
    }
    rules = *std::move(parsed);
  }
  const DispositionRule* rule = find_disposition(rules, code);
  PD_RETURN_IF_ERROR(check_callback_at(code, rule, callback_at));
  // The customer's next step follows their latest call: a code for an
  // earlier one, while a newer call is going, would undo that call's claim.
  // (A customer being dialled has that call as their newest attempt, and it
  // is a call: the customer's calls say which it is.)
  AttemptId latest = attempt;
  if (ended && rule != nullptr && c.state == CustomerState::kDialing) {
    for (const CallRef& call : s->customer_calls[c.cust_id]) {
      if (call.attempt != 0 &&
          s->attempts[static_cast<size_t>(call.attempt - 1)].customer == a->customer) {
        latest = std::max(latest, call.attempt);
      }
    }
  }
  if (latest != attempt) {
    return absl::FailedPreconditionError(
        cat("customer ", c.cust_id, " is being called again (attempt ", latest,
            "); set the disposition of attempt ", attempt, " after that call ends"));
  }
  std::optional<int64_t> dnc;
  if (ended && rule != nullptr && rule->action == DispositionAction::kDnc) {
    PD_ASSIGN_OR_RETURN(dnc, disposition_dnc_key(a->phone));
  }
  a->disposition = code;
  DispositionApplied out;
  if (rule != nullptr) out.action = std::string(to_string(rule->action));
  if (!ended || rule == nullptr) {
    out.applied = rule == nullptr;  // nothing to do, or done by finish()
    committed();
    return out;
  }
  out.applied = true;
  switch (rule->action) {
    case DispositionAction::kDnc:
      s->dnc[*dnc] = DncRow{"disposition", ms(now), std::nullopt};
      [[fallthrough]];
    case DispositionAction::kDone: {
      const bool reached = a->outcome && is_reached(*a->outcome);
      const CustomerState to = reached ? CustomerState::kReached : CustomerState::kExhausted;
      row.counts.move(c.state, to);
      s->place(a->customer, to, c.next_at);
      break;
    }
    case DispositionAction::kCallback:
    case DispositionAction::kRetry: {
      const WallTime at =
          callback_at.value_or(now + std::chrono::duration_cast<Millis>(rule->delay));
      row.counts.move(c.state, CustomerState::kPending);
      c.next_phone = a->phone_seq;
      c.held.clear();
      s->place(a->customer, CustomerState::kPending, ms(at));
      out.callable_at = at;
      break;
    }
  }
  committed();
  return out;
}

absl::StatusOr<AbandonRates> MemoryStore::abandon_rates(CampaignId id, WallTime now) {
  Access s(*this);
  PD_ASSIGN_OR_RETURN(const CompliancePolicy* policy, s->policy_for(id));
  return s->rates_under(*s->find(id), *policy, now);
}

absl::StatusOr<std::optional<WallTime>> MemoryStore::next_callable_at(CampaignId id) {
  Access s(*this);
  auto it = s->callable.lower_bound({id, kMinMs, kMinMs});
  if (it == s->callable.end() || std::get<0>(*it) != id) return std::nullopt;
  return wall(std::get<1>(*it));
}

absl::StatusOr<std::vector<AttemptRecord>> MemoryStore::open_attempts(CampaignId id) {
  Access s(*this);
  std::vector<AttemptRecord> out;
  CampaignRow* row = s->find(id);
  if (row == nullptr) return out;
  for (AttemptId aid : row->open) {
    const AttemptRow& a = *s->attempt(aid);
    out.push_back(s->record(aid, a));
    out.back().attributes_json = s->customer(a.customer).attributes;
  }
  return out;
}

absl::StatusOr<std::optional<AttemptRecord>> MemoryStore::find_attempt_by_contact(
    std::string_view contact_id) {
  Access s(*this);
  auto it = s->by_contact.find(key_of(contact_id));
  if (it == s->by_contact.end()) return std::nullopt;
  return s->record(it->second, *s->attempt(it->second));
}

absl::StatusOr<std::optional<WallTime>> MemoryStore::latest_recorded_time() {
  Access s(*this);
  std::optional<int64_t> latest;
  for (const AttemptRow& a : s->attempts) {
    if (a.deleted) continue;
    const int64_t t = std::max({a.started, a.answered.value_or(0), a.ended.value_or(0)});
    if (!latest || t > *latest) latest = t;
  }
  if (!latest) return std::nullopt;
  return wall(*latest);
}

// --- group commit ----------------------------------------------------------------

absl::Status MemoryStore::begin_batch() {
  if (batch_lock_.owns_lock()) return absl::FailedPreconditionError("a batch is already open");
  batch_lock_ = std::unique_lock<std::mutex>(db_->mu);
  // What abort_batch() goes back to: a copy of every table (a batch is for
  // a handful of operations on a store this size; `simulate` uses none).
  before_batch_ = std::make_unique<State>(db_->state);
  return absl::OkStatus();
}

absl::Status MemoryStore::commit_batch() {
  if (!batch_lock_.owns_lock()) return absl::FailedPreconditionError("no batch is open");
  before_batch_.reset();
  ++db_->commits;
  ++own_commits_;
  batch_lock_.unlock();
  batch_lock_ = std::unique_lock<std::mutex>();
  return absl::OkStatus();
}

void MemoryStore::abort_batch() {
  if (!batch_lock_.owns_lock()) return;
  if (before_batch_) db_->state = std::move(*before_batch_);
  before_batch_.reset();
  batch_lock_.unlock();
  batch_lock_ = std::unique_lock<std::mutex>();
}

// --- reporting ---------------------------------------------------------------------

absl::StatusOr<CampaignStatus> MemoryStore::status(CampaignId id) {
  Access s(*this);
  PD_ASSIGN_OR_RETURN(CampaignRow * row, s->campaign(id));
  CampaignStatus st;
  st.campaign = Campaign{id, row->name, row->state};
  // Today by the real clock: status is read by people.
  if (auto policy = s->policy_for(id); policy.ok()) {
    st.abandon = s->rates_under(*row, **policy, wall(wall_now_ms()));
  } else if (!absl::IsFailedPrecondition(policy.status())) {
    return policy.status();
  }
  const Counts& n = row->counts;
  st.customers = n.customers;
  st.phones = n.phones;
  st.attempts = n.attempts;
  st.attempts_in_flight = n.in_flight;
  for (const auto& [state, count] : n.by_state) {
    if (count != 0) st.customers_by_state[state] = count;
  }
  for (const auto& [outcome, count] : n.by_outcome) {
    if (count != 0) st.attempts_by_outcome[outcome] = count;
  }
  auto next = s->callable.lower_bound({id, kMinMs, kMinMs});
  if (next != s->callable.end() && std::get<0>(*next) == id) {
    st.next_callable_at = wall(std::get<1>(*next));
    st.next_callable_held = s->customer(std::get<2>(*next)).held;
  }
  st.rejects.listed = static_cast<int64_t>(row->rejects.size());
  st.rejects.by_reason = row->reject_counts;
  for (const auto& [reason, rows] : row->reject_counts) st.rejects.rows += rows;
  return st;
}

absl::StatusOr<uint64_t> MemoryStore::data_version() {
  Access s(*this);
  return db_->commits - own_commits_;
}

absl::Status MemoryStore::for_each_attempt(CampaignId id,
                                           const std::function<void(const AttemptRecord&)>& fn) {
  // A chunk at a time, with the database let go while `fn` runs (it may use
  // the store, as with SQLite).
  constexpr size_t kChunk = 1024;
  std::vector<AttemptRecord> chunk;
  for (size_t next = 0;;) {
    chunk.clear();
    {
      Access s(*this);
      CampaignRow* row = s->find(id);
      if (row == nullptr) return absl::OkStatus();
      for (; next < row->attempts.size() && chunk.size() < kChunk; ++next) {
        const AttemptId aid = row->attempts[next];
        if (const AttemptRow* a = s->attempt(aid)) chunk.push_back(s->record(aid, *a));
      }
    }
    if (chunk.empty()) return absl::OkStatus();
    for (const AttemptRecord& r : chunk) fn(r);
  }
}

absl::Status MemoryStore::for_each_reject(
    CampaignId id, const std::function<void(int64_t line, std::string_view reason)>& fn) {
  std::vector<std::pair<int64_t, std::string>> rejects;
  {
    Access s(*this);
    if (CampaignRow* row = s->find(id)) rejects = row->rejects;
  }
  std::stable_sort(rejects.begin(), rejects.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  for (const auto& [line, reason] : rejects) fn(line, reason);
  return absl::OkStatus();
}

absl::StatusOr<RejectCounts> MemoryStore::reject_counts(CampaignId id) {
  Access s(*this);
  RejectCounts out;
  if (CampaignRow* row = s->find(id)) {
    out.listed = static_cast<int64_t>(row->rejects.size());
    out.by_reason = row->reject_counts;
    for (const auto& [reason, rows] : row->reject_counts) out.rows += rows;
  }
  return out;
}

absl::StatusOr<std::map<std::string, RuleCount>> MemoryStore::compliance_counts(CampaignId id) {
  Access s(*this);
  CampaignRow* row = s->find(id);
  if (row == nullptr) return std::map<std::string, RuleCount>{};
  return row->rules;
}

absl::StatusOr<std::vector<AbandonDay>> MemoryStore::abandon_ledger(CampaignId id) {
  Access s(*this);
  std::vector<AbandonDay> out;
  if (CampaignRow* row = s->find(id)) {
    for (const auto& [day, n] : row->ledger) out.push_back({day, n.answered, n.abandoned});
  }
  return out;
}

absl::Status MemoryStore::for_each_attempt_audit(
    CampaignId id, const std::function<void(const AttemptAudit&)>& fn) {
  std::vector<AttemptAudit> audits;
  {
    Access s(*this);
    CampaignRow* row = s->find(id);
    if (row == nullptr) return absl::OkStatus();
    // Calls up to and including this one (by start, then id) in a window,
    // from the attempts as recorded in every campaign.
    auto placed = [&](const CallRef& c) {
      return c.attempt != 0 &&
             s->attempts[static_cast<size_t>(c.attempt - 1)].outcome != Outcome::kSuppressed;
    };
    auto calls_in = [&](const std::vector<CallRef>& calls, AttemptId aid, int64_t started,
                        Millis window) {
      int64_t n = 0;
      for (const CallRef& c : calls) {
        if (!placed(c) || c.started <= started - window.count()) continue;
        if (c.started < started || (c.started == started && c.attempt <= aid)) ++n;
      }
      return n;
    };
    for (AttemptId aid : row->attempts) {
      const AttemptRow* a = s->attempt(aid);
      if (a == nullptr || a->outcome == Outcome::kSuppressed) continue;
      const CustomerRow& c = s->customer(a->customer);
      AttemptAudit audit;
      audit.id = aid;
      audit.cust_id = c.cust_id;
      audit.phone = a->phone;
      audit.started_at = wall(a->started);
      if (a->phone_seq < static_cast<int>(c.phones.size())) {
        const auto callee = static_cast<size_t>(c.phones[static_cast<size_t>(a->phone_seq)].callee);
        audit.zones = s->callee_zones[callee];
        audit.region = s->callees[callee].region;
      }
      audit.callee_timezone = s->names[static_cast<size_t>(a->callee_timezone)];
      if (auto key = dnc_key(a->phone)) {
        auto it = s->dnc.find(*key);
        if (it != s->dnc.end() && it->second.added <= a->started &&
            it->second.active_at(a->started)) {
          audit.dnc_source = it->second.source;
        }
      }
      const std::vector<CallRef>& to_phone = s->phone_calls[a->phone];
      const std::vector<CallRef>& to_customer = s->customer_calls[c.cust_id];
      audit.phone_calls_24h = calls_in(to_phone, aid, a->started, k24h);
      audit.phone_calls_7d = calls_in(to_phone, aid, a->started, k7d);
      audit.customer_calls_24h = calls_in(to_customer, aid, a->started, k24h);
      audit.customer_calls_7d = calls_in(to_customer, aid, a->started, k7d);
      for (const CallRef& call : to_phone) {
        if (call.attempt == 0 || call.started >= a->started) continue;
        const AttemptRow& b = s->attempts[static_cast<size_t>(call.attempt - 1)];
        if (b.outcome != Outcome::kAbandoned) continue;
        const int64_t at = b.ended.value_or(b.answered.value_or(b.started));
        if (!audit.last_abandon_before || wall(at) > *audit.last_abandon_before) {
          audit.last_abandon_before = wall(at);
        }
      }
      audits.push_back(std::move(audit));
    }
  }
  for (const AttemptAudit& a : audits) fn(a);
  return absl::OkStatus();
}

// --- checkpoints, leases, nodes, settings, tokens ---------------------------------

absl::StatusOr<std::optional<std::string>> MemoryStore::checkpoint(std::string_view stream,
                                                                   std::string_view shard) {
  Access s(*this);
  auto it = s->checkpoints.find({std::string(stream), std::string(shard)});
  if (it == s->checkpoints.end()) return std::nullopt;
  return it->second;
}

absl::Status MemoryStore::set_checkpoint(std::string_view stream, std::string_view shard,
                                         std::string_view sequence_number) {
  Access s(*this);
  s->checkpoints[{std::string(stream), std::string(shard)}] = sequence_number;
  committed();
  return absl::OkStatus();
}

absl::StatusOr<std::optional<int64_t>> MemoryStore::acquire_lease(CampaignId id,
                                                                  std::string_view owner,
                                                                  WallTime now, WallTime until) {
  Access s(*this);
  auto it = s->leases.find(id);
  if (it != s->leases.end() && it->second.owner != owner && it->second.until > now) {
    return std::nullopt;
  }
  const bool renewal = it != s->leases.end() && it->second.owner == owner;
  const int64_t token = renewal ? it->second.token : ++s->last_lease_token;
  s->leases[id] = Lease{std::string(owner), until, token};
  committed();
  return token;
}

absl::Status MemoryStore::release_lease(CampaignId id, std::string_view owner) {
  Access s(*this);
  auto it = s->leases.find(id);
  if (it != s->leases.end() && it->second.owner == owner) s->leases.erase(it);
  committed();
  return absl::OkStatus();
}

absl::StatusOr<std::optional<Lease>> MemoryStore::lease(CampaignId id) {
  Access s(*this);
  auto it = s->leases.find(id);
  if (it == s->leases.end()) return std::nullopt;
  return it->second;
}

absl::Status MemoryStore::break_lease(CampaignId id) {
  Access s(*this);
  s->leases.erase(id);
  committed();
  return absl::OkStatus();
}

// A node whose heartbeat lapsed this long ago is forgotten (as SqliteStore).
constexpr Millis kForgetNodeAfter = k24h;

absl::Status MemoryStore::heartbeat_node(std::string_view id, WallTime now, WallTime until,
                                         bool draining) {
  if (id.empty()) return absl::InvalidArgumentError("a dialer node needs a non-empty id");
  Access s(*this);
  s->nodes[std::string(id)] = Node{std::string(id), until, draining};
  std::erase_if(s->nodes, [&](const auto& kv) { return kv.second.until < now - kForgetNodeAfter; });
  committed();
  return absl::OkStatus();
}

absl::StatusOr<std::vector<Node>> MemoryStore::live_nodes(WallTime now) {
  Access s(*this);
  std::vector<Node> out;
  for (const auto& [id, node] : s->nodes) {
    if (node.until > now) out.push_back(node);
  }
  return out;
}

absl::Status MemoryStore::remove_node(std::string_view id) {
  Access s(*this);
  s->nodes.erase(std::string(id));
  committed();
  return absl::OkStatus();
}

absl::StatusOr<std::optional<std::string>> MemoryStore::setting(std::string_view key) {
  Access s(*this);
  auto it = s->settings.find(std::string(key));
  if (it == s->settings.end()) return std::nullopt;
  return it->second;
}

absl::Status MemoryStore::set_setting(std::string_view key, std::string_view value) {
  Access s(*this);
  PD_RETURN_IF_ERROR(check_fence(*s));
  s->settings[std::string(key)] = value;
  for (auto& [id, row] : s->campaigns) row.policy.reset();
  committed();
  return absl::OkStatus();
}

absl::Status MemoryStore::add_api_token(const ApiToken& token) {
  Access s(*this);
  for (const ApiToken& t : s->tokens) {
    if (t.name == token.name) {
      return absl::AlreadyExistsError(cat("an API token named '", token.name, "' exists"));
    }
    if (t.sha256_hex == token.sha256_hex) {
      return absl::AlreadyExistsError("an API token with this hash exists");
    }
  }
  s->tokens.push_back(token);
  committed();
  return absl::OkStatus();
}

absl::StatusOr<std::vector<ApiToken>> MemoryStore::api_tokens() {
  Access s(*this);
  std::vector<ApiToken> out = s->tokens;
  std::sort(out.begin(), out.end(), [](const ApiToken& a, const ApiToken& b) {
    return std::tie(a.created_at, a.name) < std::tie(b.created_at, b.name);
  });
  return out;
}

absl::Status MemoryStore::revoke_api_token(std::string_view name) {
  Access s(*this);
  const auto removed = std::erase_if(s->tokens, [&](const ApiToken& t) { return t.name == name; });
  if (removed == 0) return absl::NotFoundError(cat("no API token named '", name, "'"));
  committed();
  return absl::OkStatus();
}

// --- the do-not-call list ------------------------------------------------------------

class MemoryStore::DncStage final : public DncWriter {
 public:
  DncStage(MemoryStore& store, DncLoadOptions options)
      : store_(store), options_(std::move(options)) {}

  absl::Status add(std::string_view e164, std::string_view source,
                   std::optional<WallTime> expires_at) override {
    PD_ASSIGN_OR_RETURN(const int64_t key, dnc_key_or_error(e164));
    if (source != last_source_ || entries_.empty()) {
      PD_RETURN_IF_ERROR(check_dnc_source(source));
      last_source_.assign(source);
    }
    std::optional<int64_t> expires;
    if (expires_at) expires = ms(*expires_at);
    entries_.emplace_back(key, DncRow{last_source_, ms(options_.now), expires});
    return absl::OkStatus();
  }

  absl::StatusOr<DncLoadResult> commit() override {
    Access s(store_);
    DncLoadResult result;
    result.written = static_cast<int64_t>(entries_.size());
    if (!options_.replace_source.empty()) {
      result.replaced = static_cast<int64_t>(std::erase_if(
          s->dnc, [&](const auto& kv) { return kv.second.source == options_.replace_source; }));
    }
    // The later of two entries for a number wins.
    for (auto& [key, row] : entries_) s->dnc[key] = std::move(row);
    entries_.clear();
    result.total = static_cast<int64_t>(s->dnc.size());
    store_.committed();
    return result;
  }

 private:
  MemoryStore& store_;
  DncLoadOptions options_;
  std::vector<std::pair<int64_t, DncRow>> entries_;
  std::string last_source_;
};

absl::StatusOr<std::unique_ptr<DncWriter>> MemoryStore::begin_dnc(const DncLoadOptions& options) {
  if (!options.replace_source.empty()) PD_RETURN_IF_ERROR(check_dnc_source(options.replace_source));
  return std::make_unique<DncStage>(*this, options);
}

absl::StatusOr<int64_t> MemoryStore::remove_dnc(const std::vector<std::string>& numbers) {
  PD_ASSIGN_OR_RETURN(const std::vector<int64_t> keys, dnc_keys_or_error(numbers));
  Access s(*this);
  int64_t removed = 0;
  for (const int64_t key : keys) removed += static_cast<int64_t>(s->dnc.erase(key));
  committed();
  return removed;
}

absl::StatusOr<std::optional<DncEntry>> MemoryStore::find_dnc(std::string_view e164) {
  PD_ASSIGN_OR_RETURN(const int64_t key, dnc_key_or_error(e164));
  Access s(*this);
  auto it = s->dnc.find(key);
  if (it == s->dnc.end()) return std::optional<DncEntry>();
  DncEntry e{dnc_number(key), it->second.source, wall(it->second.added), std::nullopt};
  if (it->second.expires) e.expires_at = wall(*it->second.expires);
  return std::optional<DncEntry>(std::move(e));
}

absl::Status MemoryStore::for_each_dnc(const DncQuery& query,
                                       const std::function<void(const DncEntry&)>& fn) {
  PD_ASSIGN_OR_RETURN(const int64_t after, dnc_after_key(query));
  std::vector<DncEntry> entries;
  {
    Access s(*this);
    for (auto it = s->dnc.upper_bound(after); it != s->dnc.end(); ++it) {
      if (!query.source.empty() && it->second.source != query.source) continue;
      if (query.limit > 0 && static_cast<int64_t>(entries.size()) >= query.limit) break;
      DncEntry& e = entries.emplace_back();
      e.number = dnc_number(it->first);
      e.source = it->second.source;
      e.added_at = wall(it->second.added);
      if (it->second.expires) e.expires_at = wall(*it->second.expires);
    }
  }
  for (const DncEntry& e : entries) fn(e);
  return absl::OkStatus();
}

absl::StatusOr<DncCounts> MemoryStore::dnc_counts(WallTime now) {
  Access s(*this);
  DncCounts counts;
  for (const auto& [key, row] : s->dnc) {
    ++counts.by_source[row.source];
    ++counts.total;
    if (!row.active_at(ms(now))) ++counts.expired;
  }
  return counts;
}

// --- moving a store ---------------------------------------------------------------------

namespace {
absl::Status no_copy() {
  return absl::UnimplementedError(
      "a simulation's in-memory store has no tables to copy: run the simulation with "
      "--store FILE to keep an SQLite store");
}
}  // namespace

absl::Status MemoryStore::for_each_row(const StoreTable& /*table*/,
                                       const std::function<absl::Status(const StoreRow&)>& /*fn*/) {
  return no_copy();
}

absl::Status MemoryStore::insert_rows(const StoreTable& /*table*/,
                                      const std::vector<StoreRow>& /*rows*/) {
  return no_copy();
}

absl::Status MemoryStore::after_copy(const std::vector<StoreRow>& /*meta*/) { return no_copy(); }

}  // namespace pd
