// The PostgreSQL Store: several dialer nodes share one database (Amazon RDS
// or Aurora PostgreSQL, or a self-run server). Same contract as SqliteStore
// (store.h), checked by the same contract test suite.
//
// The schema mirrors SQLite's: the same tables and column names, with
// integers and times (ms since the epoch) as BIGINT and text as TEXT, so
// `powerdialer migrate` copies a table column for column. Claims take
// customers with FOR UPDATE SKIP LOCKED, so nodes never wait on each other's
// rows; lists and do-not-call files load with COPY; every state change is
// one transaction. Status counts (campaign_counts) are kept by statement
// triggers in the transaction of every change, so status() reads a handful
// of rows whatever the list's size.
//
// Source files: pg_store.cc (schema, campaigns, configuration, lists,
// claims with compliance, attempts, batches, checkpoints, leases and
// fencing, settings, API tokens, status and every read-only report),
// pg_dnc.cc (the do-not-call list), pg_copy.cc (moving a store).
//
// Thread-safety: one PgStore per thread (one connection each).
#pragma once

#include <map>
#include <memory>
#include <string>
#include <utility>

#include "store/postgres/pg_db.h"
#include "store/store.h"

namespace pd {

class PgStore final : public Store {
 public:
  // The schema version this build writes; `init` creates or upgrades it.
  // The SQLite schema 6 it mirrors, then 7: the count triggers leave a
  // transaction's counting to it when it says so (a list load's merge, a
  // migrate's copy), and customers has no foreign key to campaigns. A
  // version-6 store must be upgraded (`init`) before this build writes to
  // it: its triggers would count a load's rows a second time. 8:
  // customers is partitioned by campaign, so a new list is indexed once
  // (PgStore::Writer); `init` moves a version-7 store's rows over.
  static constexpr int kSchemaVersion = 8;

  // True for the URLs this store opens ("postgresql://", "postgres://").
  static bool is_url(std::string_view url);

  // Connects. Without `create`, a database with no powerdialer schema (or
  // an older one) is kFailedPrecondition telling the user to run
  // `powerdialer init --db URL`. An unreachable server is kUnavailable,
  // naming the URL with its password masked.
  static absl::StatusOr<std::unique_ptr<PgStore>> open(const std::string& url, bool create);

  absl::Status migrate() override;
  absl::StatusOr<Campaign> init_campaign(std::string_view name) override;
  absl::StatusOr<Campaign> find_campaign(std::string_view name) override;
  absl::StatusOr<Campaign> campaign(CampaignId id) override;
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
  absl::StatusOr<std::optional<AttemptRecord>> find_attempt_by_contact(
      std::string_view contact_id) override;
  absl::StatusOr<std::optional<WallTime>> latest_recorded_time() override;

  absl::Status begin_batch() override;
  absl::Status commit_batch() override;
  void abort_batch() override;

  // --- reports ----------------------------------------------------------
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

  // --- pg_store.cc --------------------------------------------------------
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

  absl::StatusOr<std::optional<std::string>> setting(std::string_view key) override;
  absl::Status set_setting(std::string_view key, std::string_view value) override;

  absl::Status add_api_token(const ApiToken& token) override;
  absl::StatusOr<std::vector<ApiToken>> api_tokens() override;
  absl::Status revoke_api_token(std::string_view name) override;

  // --- pg_dnc.cc ----------------------------------------------------------
  absl::StatusOr<std::unique_ptr<DncWriter>> begin_dnc(const DncLoadOptions& options) override;
  absl::StatusOr<int64_t> remove_dnc(const std::vector<std::string>& numbers) override;
  absl::StatusOr<std::optional<DncEntry>> find_dnc(std::string_view e164) override;
  absl::Status for_each_dnc(const DncQuery& query,
                            const std::function<void(const DncEntry&)>& fn) override;
  absl::StatusOr<DncCounts> dnc_counts(WallTime now) override;

  // --- pg_copy.cc ---------------------------------------------------------
  absl::Status for_each_row(const StoreTable& table,
                            const std::function<absl::Status(const StoreRow&)>& fn) override;
  absl::Status insert_rows(const StoreTable& table, const std::vector<StoreRow>& rows) override;
  absl::Status after_copy(const std::vector<StoreRow>& meta) override;

  // Fixes the random instance id that prefixes client tokens (as
  // SqliteStore::pin_instance_id).
  absl::Status pin_instance_id(std::string_view id);

 private:
  PgStore() = default;

  // --- pg_dnc.cc ----------------------------------------------------------
  class DncStage;  // the DncWriter
  // The source of `e164`'s entry when one forbids calling it at `now`
  // (the claim's do-not-call check: one primary-key lookup).
  absl::StatusOr<std::optional<std::string>> dnc_source_if_listed(std::string_view e164,
                                                                  WallTime now);
  // Puts `phone` on the do-not-call list, source "disposition".
  // REQUIRES: inside a transaction.
  absl::Status add_dnc_from_disposition(std::string_view phone, WallTime now);

  // --- pg_store.cc --------------------------------------------------------
  class Writer;  // the ListWriter
  // Inside a write's transaction: kAborted when this store is fenced
  // (Store::fence) and its dialer no longer holds the lease. Takes the
  // lease row FOR SHARE, so a takeover waits for the write to commit.
  absl::Status check_fence();

  absl::Status check_schema();
  absl::StatusOr<int> schema_version();
  // Fills campaign_counts from a scan of customers, phones and attempts.
  absl::Status recount_campaigns();
  absl::StatusOr<Campaign> campaign_by_id(CampaignId id);
  absl::StatusOr<DispositionRules> disposition_rules(CampaignId id);

  // --- compliance, inside claim's transaction (compliance/policy.h) -------
  struct Candidate {
    int64_t customer_id = 0;
    Claim claim;  // attempt_id and client_token not yet known
    CalleeFacts callee;
  };
  using RuleCounts = std::map<std::string_view, RuleCount>;
  // The campaign's policy, read in the caller's transaction and parsed
  // again only when its configuration or the region rules changed.
  absl::StatusOr<const CompliancePolicy*> policy_for(CampaignId id);
  absl::StatusOr<AbandonRates> abandon_rates_under(CampaignId id, const CompliancePolicy& policy,
                                                   WallTime now);
  absl::StatusOr<Verdict> check_window(const CompliancePolicy& policy, Candidate& c, WallTime now);
  absl::StatusOr<Verdict> check_dnc(Candidate& c, WallTime now);
  absl::StatusOr<Verdict> check_lockout(const CompliancePolicy& policy, Candidate& c, WallTime now);
  absl::StatusOr<Verdict> check_caps(const CompliancePolicy& policy, Candidate& c, WallTime now);
  absl::StatusOr<std::optional<WallTime>> cap_lets_go(bool per_customer, std::string_view key,
                                                      int cap, Millis window, WallTime now);
  absl::Status defer(CampaignId id, const Candidate& c, const Verdict& v);
  absl::Status suppress(CampaignId id, const Candidate& c, const Verdict& v, WallTime now,
                        std::string_view owner);
  absl::Status add_rule_counts(CampaignId id, const RuleCounts& counts);
  absl::Status add_to_ledger(CampaignId id, Outcome outcome, WallTime at, bool answered);

  pg::Db db_;
  std::string instance_id_;  // random per database; prefixes client tokens
  bool in_batch_ = false;
  // Inside a batch, a claim's rule counts wait here and are written once at
  // commit_batch() (as SqliteStore does).
  std::map<std::pair<CampaignId, std::string>, RuleCount> pending_counts_;
  struct CachedPolicy {
    std::string source;  // the configuration and region rules it was parsed from
    CompliancePolicy policy;
  };
  std::map<CampaignId, CachedPolicy> policies_;
};

}  // namespace pd
