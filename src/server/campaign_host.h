// Runs the engines of several campaigns in one process, for `serve`: one
// RealTimeLoop thread drives every campaign's Engine, each with its own
// ThreadedStoreExecutor (store thread) and ContactCenter. HTTP threads never
// touch an engine: they start and stop campaigns through this class (which
// posts to the loop) and read a copy of each engine's stats that the loop
// takes every `snapshot_every`.
//
// Thread-safety: every public method may be called from any thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/event_loop.h"
#include "engine/campaign_control.h"
#include "engine/engine.h"
#include "io/status_json.h"
#include "telephony/backend.h"

namespace pd {

// The engine figures the API and /metrics show for a running campaign.
struct LiveStats {
  int64_t dials = 0;
  int64_t connects = 0;
  int64_t abandons = 0;
  int64_t throttled = 0;
  int agents_available = 0;
  int agents_busy = 0;
  int agents_after_call_work = 0;
  int dialing = 0;
  int talking = 0;
  int64_t events = 0;
  double event_lag_seconds_sum = 0;
  double event_lag_seconds_last = 0;
  // The pacer's mode and level now (Engine::pacing()).
  std::optional<LivePacing> pacing;

  static LiveStats from(const EngineStats& e);
};

struct HostOptions {
  std::string db_path;
  BackendOptions backend;
  double speed = 1.0;           // simulator: virtual seconds per real second
  WallTime clock_not_before{};  // the loop's wall clock starts no earlier
  // ... or exactly here (`serve --start`, simulator only).
  std::optional<WallTime> clock_start;
  // The canonical files folder (io/files_folder.h): a campaign run here
  // writes its local results file only inside it. Empty: anywhere (tests).
  std::string files_folder;
  std::chrono::milliseconds snapshot_every{250};  // real time
  // The dialer node this host is (`serve`): its engines hold campaign
  // leases, and own their attempts, in its name. Empty: each run gets a new
  // new_dialer_owner_id().
  std::string node_id;
  // The campaign lease the engines take (real time); they renew it every
  // third of it, at most every 500 ms.
  std::chrono::milliseconds lease{std::chrono::seconds(15)};
};

class CampaignHost {
 public:
  // Starts the loop thread. REQUIRES: validate_backend(options.backend).ok().
  explicit CampaignHost(HostOptions options);
  // Stops every campaign and waits for them (see shutdown()).
  ~CampaignHost();
  CampaignHost(const CampaignHost&) = delete;
  CampaignHost& operator=(const CampaignHost&) = delete;

  // Starts dialing campaign `name` here. kFailedPrecondition when it runs
  // here already, has no list, its local `outputfile` is outside the files
  // folder, or another live process holds it;
  // kNotFound; kUnavailable while shutting down. The engine's own start
  // (lease, recovery) completes on the loop; a failure there is logged and
  // leaves the campaign not running.
  // With `takeover` (a node taking over a campaign whose dialer died or
  // handed it over), it starts only if the campaign is still running or
  // stopping (EngineOptions::takeover). kFailedPrecondition while draining.
  absl::Status start(std::string_view name, bool takeover = false);
  // Graceful stop: nothing new is dialled, calls in flight finish. For a
  // campaign another process runs, the request goes through the store as
  // `powerdialer stop` does. kFailedPrecondition when it is not running.
  absl::StatusOr<StopResult> stop(std::string_view name);
  // True while campaign `name` runs (or is starting/stopping) here.
  bool running_here(std::string_view name) const;
  // The last stats snapshot of campaign `name`; nullopt unless it runs here.
  std::optional<LiveStats> live(std::string_view name) const;
  std::map<std::string, LiveStats> live_all() const;
  // The contact centre this host dials: "sim" or "connect".
  const std::string& backend() const { return options_.backend.backend; }
  // Runs started since the host began (for tests and logs).
  int64_t runs_started() const;
  // The campaigns that run (or are starting/stopping) here, by name.
  std::vector<std::string> active() const;

  // --- dialer nodes ------------------------------------------------------
  // Hands campaign `name` over (Engine::request_handover): its calls in
  // flight finish, then its lease is given up with the campaign left
  // running, for another node to take. False when it does not run here.
  bool hand_over(std::string_view name);
  // Drains this host: refuses new starts from now on and hands every
  // campaign over. Returns the names handed over. Idempotent.
  std::vector<std::string> drain();
  bool draining() const;
  // True once stop_all() or shutdown() began: no campaign starts here again.
  bool closing() const;
  // Waits until no campaign runs here.
  void wait_idle();

  // Refuses new starts, asks every engine to stop gracefully, waits until
  // all have finished (calls in flight end), then stops the loop thread.
  // Idempotent.
  void shutdown();
  // The first half of shutdown(), without waiting.
  void stop_all();

 private:
  struct Run;   // loop thread only
  struct Slot;  // guarded by mu_

  void create_run(uint64_t run_id, StartPlan plan, std::unique_ptr<Run> run,
                  bool takeover);  // on the loop
  void on_finished(uint64_t run_id, const std::string& name, absl::Status status,
                   CampaignState state);  // on the loop
  void snapshot();                        // on the loop
  absl::Status check_output_in_folder(const StartPlan& plan) const;
  Micros loop_time(std::chrono::milliseconds real) const;

  const HostOptions options_;
  RealTimeLoop loop_;
  std::map<uint64_t, std::unique_ptr<Run>> runs_;  // loop thread only
  uint64_t next_run_id_ = 1;                       // guarded by mu_

  mutable std::mutex mu_;
  std::condition_variable idle_;
  std::map<std::string, Slot, std::less<>> slots_;  // guarded by mu_
  bool closing_ = false;                            // guarded by mu_
  bool draining_ = false;                           // guarded by mu_
  bool shut_down_ = false;                          // guarded by mu_
  int64_t runs_started_ = 0;                        // guarded by mu_
  std::thread thread_;
};

}  // namespace pd
