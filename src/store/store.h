// The Store seam: campaigns, their configuration, the dialing list
// (customers, phones, attributes), attempts, stream checkpoints and leases.
//
// Every method that changes state is one transaction, so a crash at any
// moment loses no customer and dials none twice: a claim is durable before
// the call is placed, and an attempt's end and the customer's next step are
// recorded together. SQL dialect details stay inside implementations (SQLite
// now, PostgreSQL next).
//
// Thread-safety: a Store object is used by one thread at a time; open one
// per thread or process. Several Store objects (threads or processes) may
// share one database: claims are atomic across them.
//
// Errors: kNotFound (no such campaign / attempt), kFailedPrecondition (the
// operation does not fit the current state, e.g. loading a running
// campaign), kInvalidArgument (bad input), kUnavailable (the database is
// busy or unreachable: retry with backoff), kInternal/kDataLoss (corrupt or
// unexpected data).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "compliance/policy.h"
#include "core/retry_policy.h"
#include "core/types.h"
#include "store/dnc.h"
#include "store/store_copy.h"

namespace pd {

using CampaignId = int64_t;
using AttemptId = int64_t;

struct Campaign {
  CampaignId id = 0;
  std::string name;
  CampaignState state = CampaignState::kIdle;
};

// Writes one dialing list. Nothing is visible to others until commit();
// destroying the writer without commit() rolls everything back and leaves
// the previous list as it was.
class ListWriter {
 public:
  virtual ~ListWriter() = default;
  // Adds `phone_e164` to customer `cust_id` (created on first sight with
  // `attributes_json`, a JSON object; later rows keep the first attributes).
  // A (cust_id, phone) pair seen before is ignored and returns false.
  // `callee` is where the phone's owner is (time zones, region), as the
  // calling-window and region rules need it.
  virtual absl::StatusOr<bool> add(std::string_view cust_id, std::string_view phone_e164,
                                   std::string_view attributes_json, int64_t line,
                                   const CalleeFacts& callee) = 0;
  // The same, for a phone whose whereabouts are unknown.
  absl::StatusOr<bool> add(std::string_view cust_id, std::string_view phone_e164,
                           std::string_view attributes_json, int64_t line) {
    return add(cust_id, phone_e164, attributes_json, line, CalleeFacts{});
  }
  // Keeps a rejected row with its line and reason, shown by `rejects`.
  // The importer keeps only the first few of a load (kMaxRejectsKept in
  // io/list_import.h) and counts the rest with count_rejects().
  virtual absl::Status reject(int64_t line, std::string_view reason) = 0;
  // How many rows this load rejected, by reason (every one, kept or not).
  virtual absl::Status count_rejects(const std::map<std::string, int64_t>& by_reason) = 0;
  virtual absl::Status commit() = 0;
};

enum class LoadMode { kReplace, kAppend };

// One claimed customer: the attempt is already recorded (state dialing)
// when this is returned, before any call is placed.
struct Claim {
  AttemptId attempt_id = 0;
  std::string client_token;  // unique per attempt; Connect's ClientToken
  std::string cust_id;
  std::string phone;  // E.164
  int phone_seq = 0;
  int attempt_on_phone = 1;  // 1 for the first try of this phone
  std::string attributes_json;
  // The callee's time zones the calling window was checked in (space
  // separated; the campaign's default-timezone when the phone had none).
  std::string callee_timezone;
};

// Everything recorded about one attempt (a results row).
struct AttemptRecord {
  AttemptId id = 0;
  std::string campaign;
  std::string cust_id;
  std::string phone;
  int attempt_on_phone = 1;
  AttemptState state = AttemptState::kDialing;
  std::optional<Outcome> outcome;
  WallTime started_at{};
  std::optional<WallTime> answered_at;
  std::optional<WallTime> ended_at;
  std::string disconnect_reason;
  std::string contact_id;
  std::string agent_id;
  std::string disposition;
  std::string client_token;
  std::string owner;
  std::string callee_timezone;  // as in Claim
  // For a suppressed attempt, the rule that forbade the call and why
  // ("dnc (source: fcc)"); empty otherwise.
  std::string rule;
  // The customer's attributes (JSON object), as sent with the call; filled
  // in by open_attempts() only, so a taken-over request can be re-sent as it
  // was.
  std::string attributes_json;
};

// How an attempt ended.
struct AttemptEnd {
  Outcome outcome = Outcome::kFailed;
  WallTime ended_at{};
  std::string disconnect_reason;
  std::string disposition;
};

// What recording an agent's wrap-up code did (Store::set_disposition).
struct DispositionApplied {
  // The action the campaign's `dispositions` map gives the code ("done",
  // "callback", "retry", "dnc"); empty for a code it does not name, which
  // is recorded and changes nothing.
  std::string action;
  // False while the call is still going: the action is applied when it
  // ends (finish()), with the code recorded now.
  bool applied = false;
  // When the customer becomes callable again (callback, retry).
  std::optional<WallTime> callable_at;
};

// A bearer token for the HTTP API. Only its SHA-256 is stored, never the
// token itself.
struct ApiToken {
  std::string name;
  std::string sha256_hex;  // lower-case hex of SHA-256(token)
  std::string hint;        // the token's last 4 characters, to tell tokens apart
  WallTime created_at{};
};

// The rows the last load of a campaign rejected.
struct RejectCounts {
  int64_t rows = 0;                          // all of them
  int64_t listed = 0;                        // of those, kept with line and reason (the first few)
  std::map<std::string, int64_t> by_reason;  // reason key (e.g. "invalid_phone") -> rows
};

// How the dialer of a running or stopping campaign is doing, as its lease
// tells. The store alone cannot tell whether a process is alive: see
// engine/campaign_control.h, which fills this in.
struct DialerHealth {
  std::string owner;                    // "host:pid:random"; empty when no lease is held
  std::optional<WallTime> lease_until;  // when its lease lapses (or lapsed)
  bool responding = true;
  // When not responding, why, in a user's words (e.g. "not responding
  // since 2026-01-01T09:00:00.000Z").
  std::string problem;
};

// A campaign's lease: the one dialer process that may dial it, until when,
// and the fencing token that process's writes carry (Store::fence).
struct Lease {
  std::string owner;  // "host:pid:random"
  WallTime until{};
  int64_t token = 0;
};

// A `serve` process sharing the store with others: a dialer node.
struct Node {
  std::string id;        // "host:pid:random" (new_dialer_owner_id()) or --node-id
  WallTime until{};      // alive until then, unless it heartbeats again
  bool draining = false; // handing its campaigns over; takes no new ones
};

// A campaign's abandon rate, as the FCC's TCPA rule measures it: abandoned
// calls over answered calls (answered = connected + abandoned), per day and
// over 30 days, from the ledger finish() keeps (days in the campaign's
// default-timezone, else UTC).
struct AbandonRates {
  std::string today;  // "YYYY-MM-DD"
  int64_t answered_today = 0;
  int64_t abandoned_today = 0;
  int64_t answered_30d = 0;  // today and the 29 days before
  int64_t abandoned_30d = 0;
  double max_rate = 0.03;  // the campaign's max-abandon-rate

  double rate_today() const;  // 0 with nothing answered
  double rate_30d() const;
  // The 30-day rate has reached max-abandon-rate: claim() refuses to dial.
  // (A max of 100% is no cap: every rate "reaches" it.)
  bool over_max() const { return max_rate < 1 && answered_30d > 0 && rate_30d() >= max_rate; }
  // "30-day abandon rate 3.4% reached max-abandon-rate 3%".
  std::string pause_reason() const;
};
// "3.4%": a rate as people read it (one decimal).
std::string format_abandon_rate(double rate);

struct CampaignStatus {
  Campaign campaign;
  int64_t customers = 0;
  int64_t phones = 0;
  RejectCounts rejects;  // at the last load
  std::map<CustomerState, int64_t> customers_by_state;
  int64_t attempts = 0;
  int64_t attempts_in_flight = 0;
  std::map<Outcome, int64_t> attempts_by_outcome;
  // Earliest time a pending customer becomes callable (absent when none is
  // pending), so an engine knows when to look again after a retry delay.
  // A customer never called yet is callable from the epoch.
  std::optional<WallTime> next_callable_at;
  // Why the customer callable next waits until next_callable_at, when a
  // compliance rule moved them there (e.g. "calling-window America/Chicago");
  // empty when nothing holds them (or a retry delay does).
  std::string next_callable_held;
  // Running or stopping campaigns only, when the caller asked (Store::status
  // leaves it empty).
  std::optional<DialerHealth> dialer;
  // Today's and the 30-day abandon rate (today by the real clock).
  AbandonRates abandon;
};

// What the claims of one campaign did under one compliance rule: the
// candidates the rule looked at, and how many it held back (deferred to a
// later time or suppressed). Counted inside the claim's transaction.
struct RuleCount {
  int64_t checked = 0;
  int64_t held = 0;
};

// One placed attempt with what an independent audit of the rules needs,
// read from the recorded attempts themselves (of every campaign), not from
// what the claim decided.
struct AttemptAudit {
  AttemptId id = 0;
  std::string cust_id;
  std::string phone;  // E.164
  WallTime started_at{};
  std::string zones;   // the phone's candidate IANA zones, space-separated ('' unknown)
  std::string region;  // e.g. "US-FL" ('' unknown)
  std::string callee_timezone;  // the zone the claim recorded
  // The source label of a do-not-call entry in force at started_at, if any.
  std::optional<std::string> dnc_source;
  // Calls placed to this phone / this customer (same cust_id, any
  // campaign) in the 24 hours and 7 days up to and including this one.
  int64_t phone_calls_24h = 0, phone_calls_7d = 0;
  int64_t customer_calls_24h = 0, customer_calls_7d = 0;
  // When the latest abandoned call to this phone before this one ended.
  std::optional<WallTime> last_abandon_before;
};

// One day of a campaign's abandon ledger (UTC day).
struct AbandonDay {
  std::string day;        // 'YYYY-MM-DD'
  int64_t answered = 0;   // answered by a person: connected + abandoned
  int64_t abandoned = 0;  // not put through to an agent within 2 s of the answer
};

class Store {
 public:
  virtual ~Store() = default;

  // --- schema and campaigns -------------------------------------------
  // Creates or upgrades the schema. Safe to run any number of times.
  virtual absl::Status migrate() = 0;
  // Creates the campaign if missing and fills in defaults for config keys
  // it has no value for (never overwrites a value that was set).
  virtual absl::StatusOr<Campaign> init_campaign(std::string_view name) = 0;
  virtual absl::StatusOr<Campaign> find_campaign(std::string_view name) = 0;
  virtual absl::StatusOr<Campaign> campaign(CampaignId id) = 0;
  virtual absl::StatusOr<std::vector<Campaign>> list_campaigns() = 0;
  // Moves the campaign to `to` when its state is one of `from` (an empty
  // `from` means any). kFailedPrecondition otherwise, naming the state.
  virtual absl::StatusOr<Campaign> transition(CampaignId id, std::vector<CampaignState> from,
                                              CampaignState to) = 0;

  // --- configuration --------------------------------------------------
  // Values as stored (validated by the caller through config_keys.h).
  virtual absl::StatusOr<std::map<std::string, std::string>> config(CampaignId id) = 0;
  virtual absl::Status set_config(CampaignId id, std::string_view key, std::string_view value) = 0;
  virtual absl::Status unset_config(CampaignId id, std::string_view key) = 0;

  // --- dialing list ---------------------------------------------------
  // kReplace drops the campaign's customers and attempts (that resets its
  // dialing state, which is how a campaign is re-run) in the same
  // transaction as the new rows. Either mode replaces the rejects: they
  // describe the last load. kFailedPrecondition while it is running.
  virtual absl::StatusOr<std::unique_ptr<ListWriter>> begin_list(CampaignId id, LoadMode mode) = 0;

  // --- dialing --------------------------------------------------------
  // Atomically takes up to `max` callable customers (pending, due by `now`),
  // records one attempt each in state dialing, owned by `owner`, and returns
  // them. Two claimers never get the same customer.
  //
  // Every compliance rule is checked here, in the same transaction (see
  // compliance/policy.h): a customer a rule holds back is moved to when it
  // lets go (next_callable_at() tells when), a number that must never be
  // dialled gets an ended attempt with outcome suppressed and the customer
  // moves on to their next phone. kFailedPrecondition when the campaign may
  // not dial at all (e.g. its abandon rate reached the limit), naming why.
  virtual absl::StatusOr<std::vector<Claim>> claim(CampaignId id, int max, WallTime now,
                                                   std::string_view owner) = 0;
  // Gives back a claim whose call was certainly never placed (the contact
  // centre refused it before dialing, and the dialer is stopping): the
  // attempt is deleted and the customer is callable again as before.
  virtual absl::Status release_claim(AttemptId attempt) = 0;
  // The contact centre accepted the call and gave it this id.
  virtual absl::Status set_contact_id(AttemptId attempt, std::string_view contact_id) = 0;
  // The customer answered and was put through to `agent_id`. An answer
  // stamped before the attempt started is recorded at its start (a
  // restarted run's clock may lag the dead run's).
  virtual absl::Status mark_connected(AttemptId attempt, WallTime answered_at,
                                      std::string_view agent_id) = 0;
  // Ends the attempt and moves the customer on by `rules`, in one
  // transaction. Ending an attempt that already ended changes nothing and
  // says so (events arrive more than once). The end recorded is never
  // before the attempt's start or answer: an earlier `end.ended_at` is
  // recorded as the later of those.
  struct Finished {
    bool ended_now = false;  // false: it had ended before
    // When the customer becomes callable again; nullopt when they are
    // reached or exhausted (or the attempt had ended before).
    std::optional<WallTime> callable_at;
  };
  virtual absl::StatusOr<Finished> finish(AttemptId attempt, const AttemptEnd& end,
                                          const RetryRules& rules) = 0;
  // Records the agent's wrap-up code `code` on `attempt` of campaign `id`
  // and applies the action the campaign's `dispositions` config gives it,
  // in one transaction: callback (the customer is pending again on the
  // same phone at `callback_at`, or `now` + the code's delay), retry (the
  // same after the delay), dnc (the number joins the do-not-call list,
  // source "disposition", and the customer is done), done (no more calls).
  // A later code replaces an earlier one. finish() applies the action the
  // same way when the attempt ends with a code (AttemptEnd::disposition)
  // or had one set while the call was going. kNotFound: no such attempt in
  // the campaign. kInvalidArgument: an empty or malformed code, or
  // `callback_at` for a code that is not a callback.
  virtual absl::StatusOr<DispositionApplied> set_disposition(CampaignId id, AttemptId attempt,
                                                             std::string_view code,
                                                             std::optional<WallTime> callback_at,
                                                             WallTime now) = 0;
  // The campaign's abandon rates on the day of `now` and the 30 days to it.
  virtual absl::StatusOr<AbandonRates> abandon_rates(CampaignId id, WallTime now) = 0;
  // When the next pending customer becomes callable; nullopt when no
  // customer is pending (cheap: an index lookup).
  virtual absl::StatusOr<std::optional<WallTime>> next_callable_at(CampaignId id) = 0;
  // Attempts not yet ended (to resume or reconcile after a crash).
  virtual absl::StatusOr<std::vector<AttemptRecord>> open_attempts(CampaignId id) = 0;
  virtual absl::StatusOr<std::optional<AttemptRecord>> find_attempt_by_contact(
      std::string_view contact_id) = 0;
  // The latest time recorded for any attempt of any campaign (start, answer
  // or end); nullopt when there is none. A simulated clock starts no earlier,
  // so results stay in order across restarts (cheap: an index lookup).
  virtual absl::StatusOr<std::optional<WallTime>> latest_recorded_time() = 0;

  // --- group commit ---------------------------------------------------
  // Runs the operations between begin_batch() and commit_batch() in one
  // transaction, so a busy dialer pays one disk sync for many changes. An
  // operation that fails inside leaves nothing of itself in the batch, or
  // else makes commit_batch() fail (SQLite, when it failed after changing
  // rows: the caller aborts, and may run the operations again one by one);
  // nothing in the batch is durable (or may be acted on) before
  // commit_batch() returns OK.
  virtual absl::Status begin_batch() = 0;
  virtual absl::Status commit_batch() = 0;
  virtual void abort_batch() = 0;

  // --- reporting ------------------------------------------------------
  virtual absl::StatusOr<CampaignStatus> status(CampaignId id) = 0;
  // A number that changes whenever another connection (this process's or
  // another's) commits to the store, and stays the same while no one does,
  // so a reader may keep what it computed until it changes. Commits made
  // through this Store do not change it.
  virtual absl::StatusOr<uint64_t> data_version() = 0;
  // Calls `fn` for every attempt in order, streaming (memory stays flat).
  virtual absl::Status for_each_attempt(CampaignId id,
                                        const std::function<void(const AttemptRecord&)>& fn) = 0;
  // Rejected rows kept from the last load, in line order, streaming.
  virtual absl::Status for_each_reject(
      CampaignId id, const std::function<void(int64_t line, std::string_view reason)>& fn) = 0;
  // How many rows the last load rejected, by reason, and how many are kept.
  virtual absl::StatusOr<RejectCounts> reject_counts(CampaignId id) = 0;

  // --- compliance proof (read only) ------------------------------------
  // Per rule name (compliance/policy.h), what campaign `id`'s claims checked
  // and held back; rules that never ran are absent.
  virtual absl::StatusOr<std::map<std::string, RuleCount>> compliance_counts(CampaignId id) = 0;
  // The campaign's abandon ledger, oldest day first.
  virtual absl::StatusOr<std::vector<AbandonDay>> abandon_ledger(CampaignId id) = 0;
  // Calls `fn` for every attempt of campaign `id` that placed (or was about
  // to place) a call, that is every attempt but the suppressed ones, in
  // order, streaming.
  virtual absl::Status for_each_attempt_audit(
      CampaignId id, const std::function<void(const AttemptAudit&)>& fn) = 0;

  // --- event stream checkpoints ---------------------------------------
  virtual absl::StatusOr<std::optional<std::string>> checkpoint(std::string_view stream,
                                                                std::string_view shard) = 0;
  virtual absl::Status set_checkpoint(std::string_view stream, std::string_view shard,
                                      std::string_view sequence_number) = 0;

  // --- leases (one dialer process per campaign at a time) --------------
  // Takes or renews the campaign's lease for `owner` until `until`, and
  // returns its fencing token; nullopt when another owner holds an
  // unexpired lease. A renewal keeps the token; a lease that changes hands
  // (or is taken after a release or break) gets a new, larger one, never
  // reused in this store.
  virtual absl::StatusOr<std::optional<int64_t>> acquire_lease(CampaignId id,
                                                               std::string_view owner,
                                                               WallTime now, WallTime until) = 0;
  virtual absl::Status release_lease(CampaignId id, std::string_view owner) = 0;
  // The current holder, expiry and token, if any (expired leases included).
  virtual absl::StatusOr<std::optional<Lease>> lease(CampaignId id) = 0;
  // Drops the lease whoever holds it (its holder is known to be dead).
  virtual absl::Status break_lease(CampaignId id) = 0;

  // --- dialer nodes -----------------------------------------------------
  // `serve` processes sharing this store record themselves here, so each
  // can tell how many live nodes share the running campaigns. Not fenced:
  // a node is not a campaign's dialer.
  //
  // Records that node `id` is alive until `until` (its heartbeat) and
  // whether it is draining.
  virtual absl::Status heartbeat_node(std::string_view id, WallTime now, WallTime until,
                                      bool draining) = 0;
  // Every node whose heartbeat has not lapsed at `now`, by id.
  virtual absl::StatusOr<std::vector<Node>> live_nodes(WallTime now) = 0;
  // Forgets node `id` (it shut down).
  virtual absl::Status remove_node(std::string_view id) = 0;

  // --- fencing ----------------------------------------------------------
  // Makes this Store object a dialer's: from now on every write it makes
  // (all but the lease methods above) first checks, in the same
  // transaction, that campaign `id`'s lease is still `owner`'s with fencing
  // token `token`, and fails with kAborted, changing nothing, when it is not
  // (the dialer was paused or cut off, and another took the campaign over).
  void fence(CampaignId id, std::string owner, int64_t token) {
    fence_ = Fence{id, std::move(owner), token};
  }
  void unfence() { fence_.reset(); }

  // --- store-wide settings ---------------------------------------------
  // Settings shared by every campaign of the store (e.g. "region-rules",
  // the region rules text the claim applies); nullopt when never set.
  virtual absl::StatusOr<std::optional<std::string>> setting(std::string_view key) = 0;
  virtual absl::Status set_setting(std::string_view key, std::string_view value) = 0;

  // --- HTTP API tokens (hashes only) ------------------------------------
  // kAlreadyExists when a token named `token.name` exists.
  virtual absl::Status add_api_token(const ApiToken& token) = 0;
  // Every token, oldest first.
  virtual absl::StatusOr<std::vector<ApiToken>> api_tokens() = 0;
  // kNotFound when there is no token `name`.
  virtual absl::Status revoke_api_token(std::string_view name) = 0;

  // --- do-not-call list (store-wide, shared by every campaign; store/dnc.h)
  // A writer for entries: one transaction from here to commit(), which is
  // when claims start to see them (a bulk load of millions of numbers is
  // staged first and holds the write lock only while it merges).
  virtual absl::StatusOr<std::unique_ptr<DncWriter>> begin_dnc(const DncLoadOptions& options) = 0;
  // Takes these numbers (E.164) off the list in one transaction; returns
  // how many were on it.
  virtual absl::StatusOr<int64_t> remove_dnc(const std::vector<std::string>& numbers) = 0;
  // The entry for `e164`, expired or not; nullopt when the list has none.
  virtual absl::StatusOr<std::optional<DncEntry>> find_dnc(std::string_view e164) = 0;
  // Entries in number order, streaming (memory stays flat): those of
  // `query.source` only when it is set, after `query.after` (E.164) when it
  // is set, at most `query.limit` when it is above 0.
  virtual absl::Status for_each_dnc(const DncQuery& query,
                                    const std::function<void(const DncEntry&)>& fn) = 0;
  // How many entries, by source, and how many have expired at `now`.
  virtual absl::StatusOr<DncCounts> dnc_counts(WallTime now) = 0;

  // --- moving a store (`powerdialer migrate`, store/store_copy.h) --------
  // Streams every row of `table` (store_tables() or store_meta_table()),
  // values as text in `table.columns` order; stops at fn's first error and
  // returns it.
  virtual absl::Status for_each_row(const StoreTable& table,
                                    const std::function<absl::Status(const StoreRow&)>& fn) = 0;
  // Adds `rows` to `table` as they are, ids included.
  // REQUIRES: inside a batch (begin_batch), which commits them together.
  virtual absl::Status insert_rows(const StoreTable& table, const std::vector<StoreRow>& rows) = 0;
  // Ends a copy, inside its batch: takes the source's instance id (so client
  // tokens of calls placed before the move are still recognised) and makes
  // the counters that hand out ids and fencing tokens continue after
  // everything copied. `meta` is the source's store_meta_table() rows.
  virtual absl::Status after_copy(const std::vector<StoreRow>& meta) = 0;

 protected:
  struct Fence {
    CampaignId campaign = 0;
    std::string owner;
    int64_t token = 0;
  };
  // Set by fence(): implementations check it in every write's transaction.
  std::optional<Fence> fence_;
};

// kAborted: a fenced write refused because the dialer lost the lease.
absl::Status lost_lease_error(CampaignId id, std::string_view owner, int64_t token);

// Opens the store named by `url`: a postgresql:// or postgres:// URL (a
// PostgreSQL server; `create` creates or upgrades its schema, otherwise it
// must have been initialised), or a file path (SQLite; created when
// `create` is set, otherwise it must exist).
absl::StatusOr<std::unique_ptr<Store>> open_store(const std::string& url, bool create);
// True when `url` names a PostgreSQL server (postgresql:// or postgres://)
// rather than an SQLite file.
bool is_server_url(std::string_view url);
// `url` as messages may show it: a server URL with its password masked.
std::string store_display_name(std::string_view url);

}  // namespace pd
