// The Store seam held in this process's memory: each table a container,
// each index a map, so a claim is a few lookups instead of SQLite's B-tree
// writes. For the simulator's runs (`simulate`, the pacing lab), whose
// store is thrown away when the run ends and whose virtual clock otherwise
// spends most of its time in SQLite (bench/README.md, "Pacing").
//
// It keeps the Store contract (store/store.h, the shared contract suites)
// except what memory cannot: nothing survives the process, and only Store
// objects of this process share a database (open_another()). It has no
// SQL, so `powerdialer migrate` cannot copy it (for_each_row/insert_rows
// say so).
//
// Thread-safety: as store.h: one thread per Store object; Store objects
// sharing a database (open_another()) may be used from different threads.
// A batch (begin_batch) holds the database until it commits or aborts, as
// SQLite's write lock does.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "store/store.h"

namespace pd {

class MemoryStore final : public Store {
 public:
  // A new, empty database (its schema needs no migrate()) with a random
  // instance id.
  static std::unique_ptr<MemoryStore> create();
  // Another Store object on this one's database (as another connection).
  std::unique_ptr<MemoryStore> open_another();
  // Fixes the instance id client tokens are made from (the simulator's
  // choices depend on them: a seed must repeat).
  void pin_instance_id(std::string_view id);

  ~MemoryStore() override;

  absl::Status migrate() override { return absl::OkStatus(); }
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

  absl::StatusOr<std::optional<std::string>> setting(std::string_view key) override;
  absl::Status set_setting(std::string_view key, std::string_view value) override;

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

 private:
  struct Db;     // the shared database: tables, indexes and its lock
  struct State;  // the tables and indexes
  class Writer;
  class DncStage;
  class Access;  // holds the database for one call (or finds the batch holding it)

  explicit MemoryStore(std::shared_ptr<Db> db);
  absl::Status check_fence(const State& s) const;
  void committed();  // a change of this Store's is in (see data_version())

  std::shared_ptr<Db> db_;
  // A batch holds the database from begin_batch() to its end, and keeps a
  // copy of the tables as they were to go back to on abort_batch().
  std::unique_lock<std::mutex> batch_lock_;
  std::unique_ptr<State> before_batch_;
  uint64_t own_commits_ = 0;
};

}  // namespace pd
