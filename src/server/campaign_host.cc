#include "server/campaign_host.h"

#include <iostream>

#include "core/advice.h"
#include "core/strings.h"
#include "engine/pacing_report.h"
#include "io/files_folder.h"
#include "io/object_io.h"
#include "store/store_executor.h"
#include "store/store.h"

namespace pd {

LiveStats LiveStats::from(const EngineStats& e) {
  LiveStats s;
  s.dials = e.dials;
  s.connects = e.connects;
  s.abandons = e.abandons;
  s.throttled = e.throttled;
  s.agents_available = e.agents_available;
  s.agents_busy = e.agents_busy;
  s.agents_after_call_work = e.agents_after_call_work;
  s.dialing = e.dialing;
  s.talking = e.talking;
  s.events = e.events;
  s.event_lag_seconds_sum = e.event_lag_seconds_sum;
  s.event_lag_seconds_last = e.event_lag_seconds_last;
  return s;
}

// One campaign's dialer: destroyed on the loop thread once it has finished.
struct CampaignHost::Run {
  std::string name;
  bool takeover = false;  // started by a node's takeover, not a request
  std::unique_ptr<ThreadedStoreExecutor> executor;
  std::unique_ptr<ContactCenter> contact_center;
  std::unique_ptr<Engine> engine;
};

struct CampaignHost::Slot {
  uint64_t run_id = 0;
  bool active = false;  // starting, running or stopping here
  bool stop_requested = false;
  bool hand_over_requested = false;
  std::optional<LiveStats> live;
};

CampaignHost::CampaignHost(HostOptions options)
    : options_(std::move(options)),
      loop_(options_.speed, system_clock(),
            RealTimeLoop::StartAt{options_.clock_start.value_or(
                std::max(system_clock().wall_now(), options_.clock_not_before))}) {
  loop_.post([this] { snapshot(); });
  thread_ = std::thread([this] { loop_.run(); });
}

CampaignHost::~CampaignHost() { shutdown(); }

// Refused before dialing rather than when the results are written at the
// end: an `outputfile` set from the command line may lie anywhere.
absl::Status CampaignHost::check_output_in_folder(const StartPlan& plan) const {
  const std::string& output = plan.config.output_file;
  if (options_.files_folder.empty() || output.empty() || is_s3_location(output)) {
    return absl::OkStatus();
  }
  auto inside = path_in_folder(options_.files_folder, "outputfile", output);
  if (inside.ok()) return absl::OkStatus();
  return with_advice(
      absl::FailedPreconditionError(cat("campaign '", plan.campaign.name,
                                        "' cannot start here: ", sv(inside.status().message()))),
      {Remedy::kSetConfig, plan.campaign.name, "outputfile"});
}

Micros CampaignHost::loop_time(std::chrono::milliseconds real) const {
  return std::chrono::duration_cast<Micros>(real * options_.speed);
}

absl::Status CampaignHost::start(std::string_view name, bool takeover) {
  if (auto s = check_campaign_name(name); !s.ok()) return s;
  uint64_t run_id = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (closing_) return absl::UnavailableError("the server is shutting down");
    if (draining_) {
      return absl::FailedPreconditionError(
          cat("this node is draining (handing its campaigns over to the other nodes): start "
              "campaign '",
              name, "' through another node"));
    }
    Slot& slot = slots_[std::string(name)];
    if (slot.active) {
      return absl::FailedPreconditionError(cat("campaign '", name, "' is already running"));
    }
    slot.active = true;  // reserved: a concurrent start is refused
    slot.stop_requested = false;
    slot.hand_over_requested = false;
    slot.live.reset();
    slot.run_id = run_id = next_run_id_++;
  }
  auto release = [&](absl::Status s) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = slots_.find(name);
    if (it != slots_.end() && it->second.run_id == run_id) it->second.active = false;
    idle_.notify_all();
    return s;
  };
  auto store = open_store(options_.db_path, /*create=*/false);
  if (!store.ok()) return release(store.status());
  auto plan = prepare_campaign_start(**store, name);
  if (!plan.ok()) return release(plan.status());
  if (auto s = check_output_in_folder(*plan); !s.ok()) return release(s);
  store->reset();
  // The store thread and the contact centre are made here, on the caller's
  // thread: Amazon Connect's set-up makes network calls (credentials, the
  // event streams), which must not stall the loop every campaign shares, and
  // its errors (a missing key or stream) belong in the caller's answer.
  auto exec_store = open_store(options_.db_path, /*create=*/false);
  if (!exec_store.ok()) return release(exec_store.status());
  auto run = std::make_shared<std::unique_ptr<Run>>(std::make_unique<Run>());
  (*run)->name = plan->campaign.name;
  (*run)->executor = std::make_unique<ThreadedStoreExecutor>(std::move(*exec_store), loop_);
  auto cc = make_contact_center(options_.backend, loop_, plan->config,
                                {plan->campaign.name, options_.db_path, (*run)->executor.get()});
  if (!cc.ok()) return release(cc.status());
  (*run)->contact_center = std::move(*cc);
  {
    std::lock_guard<std::mutex> lock(mu_);
    ++runs_started_;
  }
  auto shared_plan = std::make_shared<StartPlan>(std::move(*plan));
  loop_.post([this, run_id, shared_plan, run, takeover] {
    create_run(run_id, std::move(*shared_plan), std::move(*run), takeover);
  });
  return absl::OkStatus();
}

void CampaignHost::create_run(uint64_t run_id, StartPlan plan, std::unique_ptr<Run> run,
                              bool takeover) {
  const std::string name = plan.campaign.name;
  EngineOptions eo;
  eo.owner = options_.node_id.empty() ? new_dialer_owner_id() : options_.node_id;
  eo.lease_duration = options_.lease;
  eo.heartbeat = loop_time(std::min(std::chrono::milliseconds(500), options_.lease / 3));
  eo.takeover = takeover;
  run->takeover = takeover;
  eo.seed = options_.backend.sim.seed;
  eo.files_folder = options_.files_folder;
  run->engine = std::make_unique<Engine>(loop_, *run->executor, *run->contact_center, plan.campaign,
                                         plan.config, eo);
  Engine& engine = *run->engine;
  runs_[run_id] = std::move(run);
  bool stop_first = false;
  bool hand_over_first = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = slots_.find(name);
    stop_first = closing_ || (it != slots_.end() && it->second.stop_requested);
    hand_over_first = draining_ || (it != slots_.end() && it->second.hand_over_requested);
    if (it != slots_.end()) it->second.live = LiveStats{};
  }
  engine.start([this, run_id, name](absl::Status s, CampaignState state) {
    on_finished(run_id, name, std::move(s), state);
  });
  if (stop_first) {
    engine.request_stop();
  } else if (hand_over_first) {
    engine.request_handover();
  }
}

void CampaignHost::on_finished(uint64_t run_id, const std::string& name, absl::Status status,
                               CampaignState state) {
  auto run = runs_.find(run_id);
  const bool never_started =
      run != runs_.end() && run->second->engine && !run->second->engine->started();
  if (!status.ok() && never_started && run->second->takeover) {
    // Another node won the lease, or the campaign was settled meanwhile.
    std::cerr << "powerdialer: campaign '" << name
              << "' was not taken over here: " << sv(status.message()) << "\n";
  } else if (!status.ok() && state == CampaignState::kRunning) {
    // Let go of (its lease lost, or the store unreachable): still running,
    // for whichever node takes it over.
    std::cerr << "powerdialer: campaign '" << name << "' left this node: " << sv(status.message())
              << "\n";
  } else if (!status.ok()) {
    std::cerr << "powerdialer: campaign '" << name << "' stopped: " << sv(status.message()) << "\n";
  } else if (state == CampaignState::kRunning) {
    std::cerr << "powerdialer: campaign '" << name
              << "' handed over (its calls here have ended; another node dials it on)\n";
  } else {
    std::cerr << "powerdialer: campaign '" << name << "' is " << to_string(state) << "\n";
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = slots_.find(name);
    if (it != slots_.end() && it->second.run_id == run_id) {
      it->second.active = false;
      it->second.live.reset();
    }
    idle_.notify_all();
  }
  // Not destroyed from inside its own callback: a moment later, when every
  // completion and timer of the finished engine has run.
  loop_.schedule_after(loop_time(std::chrono::milliseconds(1000)), [this, run_id] {
    auto it = runs_.find(run_id);
    if (it == runs_.end()) return;
    it->second->executor->drain();
    it->second->engine.reset();
    it->second->contact_center.reset();
    runs_.erase(it);
  });
}

void CampaignHost::snapshot() {
  std::map<std::string, LiveStats> now;
  for (const auto& [id, run] : runs_) {
    if (run->engine && !run->engine->finished()) {
      LiveStats stats = LiveStats::from(run->engine->stats());
      stats.pacing = live_pacing(run->engine->pacing(), loop_.wall_now());
      now[run->name] = std::move(stats);
    }
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& [name, stats] : now) {
      auto it = slots_.find(name);
      if (it != slots_.end() && it->second.active) it->second.live = stats;
    }
  }
  loop_.schedule_after(loop_time(options_.snapshot_every), [this] { snapshot(); });
}

absl::StatusOr<StopResult> CampaignHost::stop(std::string_view name) {
  if (auto s = check_campaign_name(name); !s.ok()) return s;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = slots_.find(name);
    if (it != slots_.end() && it->second.active) {
      if (it->second.stop_requested) return StopResult::kAlreadyStopping;
      it->second.stop_requested = true;
      const uint64_t run_id = it->second.run_id;
      // Posted after the run's creation, so the engine exists when it runs.
      loop_.post([this, run_id] {
        auto run = runs_.find(run_id);
        if (run != runs_.end() && run->second->engine) run->second->engine->request_stop();
      });
      return StopResult::kRequested;
    }
  }
  // Not ours: another process (or a dead one) runs it.
  auto store = open_store(options_.db_path, /*create=*/false);
  if (!store.ok()) return store.status();
  auto campaign = (*store)->find_campaign(name);
  if (!campaign.ok()) return campaign.status();
  return request_campaign_stop(**store, *campaign);
}

bool CampaignHost::running_here(std::string_view name) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = slots_.find(name);
  return it != slots_.end() && it->second.active;
}

std::optional<LiveStats> CampaignHost::live(std::string_view name) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = slots_.find(name);
  if (it == slots_.end() || !it->second.active) return std::nullopt;
  return it->second.live;
}

std::map<std::string, LiveStats> CampaignHost::live_all() const {
  std::map<std::string, LiveStats> out;
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& [name, slot] : slots_) {
    if (slot.active && slot.live) out[name] = *slot.live;
  }
  return out;
}

int64_t CampaignHost::runs_started() const {
  std::lock_guard<std::mutex> lock(mu_);
  return runs_started_;
}

std::vector<std::string> CampaignHost::active() const {
  std::vector<std::string> out;
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& [name, slot] : slots_) {
    if (slot.active) out.push_back(name);
  }
  return out;
}

bool CampaignHost::hand_over(std::string_view name) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = slots_.find(name);
  if (it == slots_.end() || !it->second.active) return false;
  if (it->second.stop_requested || it->second.hand_over_requested) return true;
  it->second.hand_over_requested = true;
  const uint64_t run_id = it->second.run_id;
  // Posted after the run's creation, so the engine exists when it runs.
  loop_.post([this, run_id] {
    auto run = runs_.find(run_id);
    if (run != runs_.end() && run->second->engine) run->second->engine->request_handover();
  });
  return true;
}

std::vector<std::string> CampaignHost::drain() {
  std::vector<std::string> names;
  {
    std::lock_guard<std::mutex> lock(mu_);
    draining_ = true;
    for (const auto& [name, slot] : slots_) {
      if (slot.active && !slot.stop_requested) names.push_back(name);
    }
  }
  for (const std::string& name : names) hand_over(name);
  return names;
}

bool CampaignHost::draining() const {
  std::lock_guard<std::mutex> lock(mu_);
  return draining_;
}

bool CampaignHost::closing() const {
  std::lock_guard<std::mutex> lock(mu_);
  return closing_;
}

void CampaignHost::wait_idle() {
  std::unique_lock<std::mutex> lock(mu_);
  idle_.wait(lock, [this] {
    for (const auto& [name, slot] : slots_) {
      if (slot.active) return false;
    }
    return true;
  });
}

void CampaignHost::stop_all() {
  std::lock_guard<std::mutex> lock(mu_);
  closing_ = true;
  for (auto& [name, slot] : slots_) {
    if (slot.active) slot.stop_requested = true;
  }
  loop_.post([this] {
    for (auto& [id, run] : runs_) {
      if (run->engine && !run->engine->finished()) run->engine->request_stop();
    }
  });
}

void CampaignHost::shutdown() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (shut_down_) return;
  }
  stop_all();
  {
    std::unique_lock<std::mutex> lock(mu_);
    idle_.wait(lock, [this] {
      for (const auto& [name, slot] : slots_) {
        if (slot.active) return false;
      }
      return true;
    });
    shut_down_ = true;
  }
  // Let the finished engines' last completions run, then end the loop.
  loop_.post([this] {
    for (auto& [id, run] : runs_) run->executor->drain();
  });
  loop_.post([this] { loop_.stop(); });
  thread_.join();
  for (auto& [id, run] : runs_) {
    run->engine.reset();
    run->contact_center.reset();
    run->executor.reset();
  }
  runs_.clear();
}

}  // namespace pd
