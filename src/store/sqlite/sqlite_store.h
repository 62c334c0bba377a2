// The embedded Store: one SQLite file in WAL mode, shared safely by several
// processes (claims use BEGIN IMMEDIATE, so they are serialised by SQLite's
// write lock). synchronous=FULL: a claim is on disk before its call is
// placed, even across a power cut.
// Thread-safety: one SqliteStore per thread.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "store/sqlite/sqlite_db.h"
#include "store/store.h"

namespace pd {

class SqliteStore final : public Store {
 public:
  // The schema version this build writes; `init` upgrades older files.
  static constexpr int kSchemaVersion = 6;

  // Opens (and with `create`, creates) the file. Without `create`, a
  // missing file or an un-initialised/older schema is kFailedPrecondition
  // telling the user to run `powerdialer init`.
  // How much a store gives up for speed; kNoSync only for stores no one
  // resumes from, such as `simulate --store`'s.
  enum class Durability {
    kFull,  // every commit synced: survives a power cut
    // No syncs (synchronous=OFF) and one user (exclusive lock): the file
    // survives its process crashing, not the machine.
    kNoSync,
  };
  static absl::StatusOr<std::unique_ptr<SqliteStore>> open(
      const std::string& path, bool create, Durability durability = Durability::kFull);

  absl::Status migrate() override;
  absl::StatusOr<Campaign> init_campaign(std::string_view name) override;
  absl::StatusOr<Campaign> find_campaign(std::string_view name) override;
  absl::StatusOr<Campaign> campaign(CampaignId id) override { return campaign_by_id(id); }
  absl::StatusOr<std::vector<Campaign>> list_campaigns() override;
  absl::StatusOr<Campaign> transition(CampaignId id, std::vector<CampaignState> from,
                                      CampaignState to) override;

  absl::StatusOr<std::map<std::string, std::string>> config(CampaignId id) override;
  absl::Status set_config(CampaignId id, std::string_view key, std::string_view value) override;
  absl::Status unset_config(CampaignId id, std::string_view key) override;

  absl::StatusOr<std::unique_ptr<ListWriter>> begin_list(CampaignId id, LoadMode mode) override;

  absl::StatusOr<std::vector<Claim>> claim(CampaignId id, int max, WallTime now,
                                           std::string_view owner) override;
  absl::Status release_claim(AttemptId attempt) override;
  absl::Status set_contact_id(AttemptId attempt, std::string_view contact_id) override;
  absl::Status mark_connected(AttemptId attempt, WallTime answered_at,
                              std::string_view agent_id) override;
  absl::StatusOr<Finished> finish(AttemptId attempt, const AttemptEnd& end,
                                  const RetryRules& rules) override;
  absl::StatusOr<DispositionApplied> set_disposition(CampaignId id, AttemptId attempt,
                                                     std::string_view code,
                                                     std::optional<WallTime> callback_at,
                                                     WallTime now) override;
  absl::StatusOr<AbandonRates> abandon_rates(CampaignId id, WallTime now) override;
  absl::StatusOr<std::optional<WallTime>> next_callable_at(CampaignId id) override;
  absl::StatusOr<std::vector<AttemptRecord>> open_attempts(CampaignId id) override;
  absl::Status begin_batch() override;
  absl::Status commit_batch() override;
  void abort_batch() override;
  absl::StatusOr<std::optional<AttemptRecord>> find_attempt_by_contact(
      std::string_view contact_id) override;
  absl::StatusOr<std::optional<WallTime>> latest_recorded_time() override;

  absl::StatusOr<CampaignStatus> status(CampaignId id) override;
  absl::StatusOr<uint64_t> data_version() override;
  absl::Status for_each_attempt(CampaignId id,
                                const std::function<void(const AttemptRecord&)>& fn) override;
  absl::Status for_each_reject(
      CampaignId id, const std::function<void(int64_t line, std::string_view reason)>& fn) override;
  absl::StatusOr<RejectCounts> reject_counts(CampaignId id) override;
  absl::StatusOr<std::map<std::string, RuleCount>> compliance_counts(CampaignId id) override;
  absl::StatusOr<std::vector<AbandonDay>> abandon_ledger(CampaignId id) override;
  absl::Status for_each_attempt_audit(CampaignId id,
                                      const std::function<void(const AttemptAudit&)>& fn) override;

  absl::StatusOr<std::optional<std::string>> checkpoint(std::string_view stream,
                                                        std::string_view shard) override;
  absl::Status set_checkpoint(std::string_view stream, std::string_view shard,
                              std::string_view sequence_number) override;

  absl::StatusOr<std::optional<int64_t>> acquire_lease(CampaignId id, std::string_view owner,
                                                       WallTime now, WallTime until) override;
  absl::Status release_lease(CampaignId id, std::string_view owner) override;
  absl::StatusOr<std::optional<Lease>> lease(CampaignId id) override;
  absl::Status break_lease(CampaignId id) override;

  absl::Status heartbeat_node(std::string_view id, WallTime now, WallTime until,
                              bool draining) override;
  absl::StatusOr<std::vector<Node>> live_nodes(WallTime now) override;
  absl::Status remove_node(std::string_view id) override;

  absl::Status add_api_token(const ApiToken& token) override;
  absl::StatusOr<std::vector<ApiToken>> api_tokens() override;
  absl::Status revoke_api_token(std::string_view name) override;

  absl::StatusOr<std::unique_ptr<DncWriter>> begin_dnc(const DncLoadOptions& options) override;
  absl::StatusOr<int64_t> remove_dnc(const std::vector<std::string>& numbers) override;
  absl::StatusOr<std::optional<DncEntry>> find_dnc(std::string_view e164) override;
  absl::Status for_each_dnc(const DncQuery& query,
                            const std::function<void(const DncEntry&)>& fn) override;
  absl::StatusOr<DncCounts> dnc_counts(WallTime now) override;

  absl::Status for_each_row(const StoreTable& table,
                            const std::function<absl::Status(const StoreRow&)>& fn) override;
  absl::Status insert_rows(const StoreTable& table, const std::vector<StoreRow>& rows) override;
  absl::Status after_copy(const std::vector<StoreRow>& meta) override;

  // Fixes the random instance id that prefixes client tokens, so a
  // simulation's tokens (and with them the simulator's choices) repeat.
  absl::Status pin_instance_id(std::string_view id);

  // Caps the file at `pages` pages (this connection only), so tests can
  // fill the "disk" without filling one.
  absl::Status limit_pages_for_testing(int64_t pages);
  // The file's pages as this connection sees them (its open transaction's
  // included), for a limit just above them.
  absl::StatusOr<int64_t> page_count_for_testing();

  // Do-not-call entries a writer sorts in memory before it stages them in a
  // file (32 bytes each: 32 MiB by default); smaller in tests, so they
  // stage without millions of numbers.
  void set_dnc_chunk_for_testing(size_t entries) { dnc_chunk_entries_ = entries; }
  absl::StatusOr<std::optional<std::string>> setting(std::string_view key) override;
  absl::Status set_setting(std::string_view key, std::string_view value) override;

 private:
  class Writer;
  class DncStage;  // the DncWriter (sqlite_dnc.cc)
  // The source of `e164`'s entry when one forbids calling it at `now`
  // (claim's do-not-call check: one primary-key lookup).
  absl::StatusOr<std::optional<std::string>> dnc_source_if_listed(std::string_view e164,
                                                                  WallTime now);
  SqliteStore() = default;
  absl::StatusOr<int> schema_version();
  // Inside a write's transaction: kAborted when this store is fenced
  // (Store::fence) and its dialer no longer holds the lease.
  absl::Status check_fence();
  absl::Status check_schema();
  absl::Status add_column(const char* table, const char* column, const char* declaration);
  // Fills campaign_counts from a scan of customers, phones and attempts
  // (after a copy wrote those rows without counting them).
  absl::Status recount_campaigns();
  // A prepared statement for `sql`, prepared once per connection. `sql` must
  // be a string literal (the cache is keyed by its address).
  absl::StatusOr<sqlite::Stmt*> stmt(const char* sql);
  absl::StatusOr<Campaign> campaign_by_id(CampaignId id);
  // The campaign's `dispositions` map as stored (empty when unset).
  absl::StatusOr<DispositionRules> disposition_rules(CampaignId id);
  // Puts `phone` (E.164) on the do-not-call list, source "disposition".
  // REQUIRES: inside a transaction.
  absl::Status add_dnc_from_disposition(std::string_view phone, WallTime now);
  // When one more call is allowed under `cap` calls in `window`, counting
  // the calls placed (not suppressed) to phone `key` (or, `per_customer`,
  // to customer id `key`) in every campaign; nullopt when one is allowed
  // now.
  absl::StatusOr<std::optional<WallTime>> cap_lets_go(bool per_customer, std::string_view key,
                                                      int cap, Millis window, WallTime now);
  absl::StatusOr<AbandonRates> abandon_rates_under(CampaignId id, const CompliancePolicy& policy,
                                                   WallTime now);
  // Counts an answered call (connected or abandoned) in the campaign's
  // abandon ledger, on the day of `at`.
  // Adds an end (abandoned: +1 abandoned) and, when `answered`, a call
  // answered by a person to the ledger of the day of `at`.
  absl::Status add_to_ledger(CampaignId id, Outcome outcome, WallTime at, bool answered);

  size_t dnc_chunk_entries_ = size_t{1} << 20;
  // --- compliance, inside claim's transaction (compliance/policy.h) -------
  // One customer the claim would hand out, with what the rules need.
  struct Candidate {
    int64_t customer_id = 0;
    Claim claim;  // attempt_id and client_token not yet known
    CalleeFacts callee;
  };
  // Per rule: customers it checked and held back (store.h's RuleCount),
  // added to the store's compliance_counts when the claim commits.
  using RuleCounts = std::map<std::string_view, RuleCount>;
  // The campaign's policy, parsed once while its configuration and the
  // store-wide region rules stay as they were.
  absl::StatusOr<const CompliancePolicy*> policy_for(CampaignId id);
  // Before any customer: may the campaign dial at all?
  absl::Status check_abandon_rate(CampaignId id, const CompliancePolicy& policy, WallTime now,
                                  RuleCounts& counts);
  // The per-customer rules, in the order claim applies them.
  absl::StatusOr<Verdict> check_window(CampaignId id, const CompliancePolicy& policy,
                                       Candidate& c, WallTime now);
  absl::StatusOr<Verdict> check_dnc(CampaignId id, const CompliancePolicy& policy, Candidate& c,
                                    WallTime now);
  absl::StatusOr<Verdict> check_lockout(CampaignId id, const CompliancePolicy& policy,
                                        Candidate& c, WallTime now);
  absl::StatusOr<Verdict> check_caps(CampaignId id, const CompliancePolicy& policy, Candidate& c,
                                     WallTime now);
  // A rule holds the customer until `v.until` (customers.next_at / held).
  absl::Status defer(const Candidate& c, const Verdict& v);
  // A rule forbids the number: an ended attempt with outcome suppressed, and
  // the customer moves on to their next phone (or ends suppressed).
  absl::Status suppress(CampaignId id, const Candidate& c, const Verdict& v, WallTime now,
                        std::string_view owner);
  absl::Status add_rule_counts(CampaignId id, const RuleCounts& counts);
  // Inside a batch, a claim's rule counts wait here and are written once at
  // commit_batch(): a handful of upserts per claim otherwise, about 8% of a
  // simulated campaign's time. compliance_counts() adds them in.
  bool in_batch_ = false;
  std::map<std::pair<CampaignId, std::string>, RuleCount> pending_counts_;

  // --- campaign_counts: status() in O(1) ---------------------------------
  // One change to a count: `what` is a key of campaign_counts ("customers",
  // "customer:pending", "outcome:busy", ...), a view of static storage
  // (count_key() and friends in the .cc), so counting allocates nothing.
  struct CountDelta {
    CampaignId campaign = 0;
    std::string_view what;
    int64_t n = 0;
  };
  // The counts the operation under way changes; end it with
  // commit_counted().
  std::vector<CountDelta> op_counts_;
  void count(CampaignId id, std::string_view what, int64_t n) {
    op_counts_.push_back(CountDelta{id, what, n});
  }
  // A customer moved from state `from` to `to` (nothing when equal).
  void count_customer_move(CampaignId id, CustomerState from, CustomerState to);
  // Commits `txn` with op_counts_: written in it outside a batch; inside
  // one, kept in pending_status_counts_ once the operation's savepoint is
  // released, and written at commit_batch() (an upsert or three per claim
  // and finish would otherwise slow the simulation down), as the rule
  // counts are.
  absl::Status commit_counted(sqlite::Transaction& txn);
  // Adds `deltas` to campaign_counts. REQUIRES: inside a transaction.
  absl::Status write_counts(const std::vector<CountDelta>& deltas);
  // Inside a batch, writes pending_status_counts_ now (before an operation
  // that rewrites the counts directly: a list load).
  absl::Status flush_status_counts();
  std::map<std::pair<CampaignId, std::string_view>, int64_t> pending_status_counts_;

  struct CachedPolicy {
    uint64_t data_version = 0;
    CompliancePolicy policy;
  };
  std::map<CampaignId, CachedPolicy> policies_;

  std::string path_;
  sqlite::Db db_;
  Durability durability_ = Durability::kFull;
  std::string instance_id_;  // random per database; prefixes client tokens
  std::unordered_map<const char*, sqlite::Stmt> stmts_;
};

}  // namespace pd
