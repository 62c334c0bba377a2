// The live feed behind GET /api/events and /metrics: one thread asks its
// Source about once a second for every campaign's status (from the store,
// through a StatusCache) and the engines' stats (from the CampaignHost),
// renders each campaign's event once, and hands the same snapshot to every
// subscriber. So the cost is independent of the number of clients watching;
// and with a StatusCache, a campaign's status (the store's kept counts, not
// a scan of its rows) is read again only after the store changed. A new snapshot is published only when something changed or
// a campaign runs (its live figures move), so an idle server stays idle.
//
// Thread-safety: LiveFeed is thread-safe; the free functions are pure.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "server/campaign_host.h"
#include "server/status_cache.h"
#include "store/store.h"

namespace pd {

// One campaign as the feed sees it.
struct CampaignFrame {
  CampaignStatus status;
  std::optional<LiveStats> live;
  // Pacing: the configuration, and the live level (the engine here, else
  // what the campaign's dialer last wrote to the store).
  CampaignPacing pacing;
};

// {"dials", "connects", ...}: the "live" object of the API.
nlohmann::json live_json(const std::optional<LiveStats>& live);
// The `campaign` event's data: name, state, t (unix ms), customers, pending
// (pending + dialing), reached, exhausted, attempts, in_flight,
// attempts_by_outcome, live, dialer, abandon_rate, waiting, pacing
// (io/status_json.h pacing_json).
nlohmann::json campaign_event_json(const CampaignFrame& frame, WallTime t);
// "event: <event>\ndata: <data>\n\n" (data must be one line, as dump() is).
std::string sse_event(std::string_view event, std::string_view data);

struct FeedSnapshot {
  uint64_t generation = 0;
  WallTime at{};
  std::vector<CampaignFrame> campaigns;
  std::vector<std::string> events;  // one SSE event per campaign, same order
};

class LiveFeed {
 public:
  // Called on the feed thread only.
  using Source = std::function<absl::StatusOr<std::vector<CampaignFrame>>()>;
  explicit LiveFeed(Source source, std::chrono::milliseconds every = std::chrono::seconds(1));
  ~LiveFeed();
  LiveFeed(const LiveFeed&) = delete;
  LiveFeed& operator=(const LiveFeed&) = delete;

  // Starts the feed thread (the first snapshot is taken at once).
  void start();
  // Wakes every waiter; wait_newer returns nullptr from then on. Idempotent.
  void shutdown();
  bool closed() const;

  // The newest snapshot with a generation above `after`, waiting until
  // `deadline`; nullptr on timeout or shutdown.
  std::shared_ptr<const FeedSnapshot> wait_newer(uint64_t after,
                                                 std::chrono::steady_clock::time_point deadline);
  // The newest snapshot (nullptr before the first).
  std::shared_ptr<const FeedSnapshot> latest() const;

  // Called on the feed thread after each new snapshot (and once at
  // shutdown), so the HTTP layer's watchers wait without a thread each.
  // Must not block. nullptr removes it.
  void set_listener(std::function<void()> listener);

  // Live-feed clients connected now (maintained by the HTTP layer).
  std::atomic<int64_t> subscribers{0};

 private:
  void run();
  void notify_listener();

  Source source_;
  std::chrono::milliseconds every_;
  std::mutex join_mu_;  // shutdown() from two threads joins once
  mutable std::mutex mu_;
  std::condition_variable changed_;
  std::shared_ptr<const FeedSnapshot> latest_;  // guarded by mu_
  bool closed_ = false;                         // guarded by mu_
  std::thread thread_;
  std::mutex listener_mu_;          // held while the listener runs, so removing it waits
  std::function<void()> listener_;  // guarded by listener_mu_
};

// The engine figures of every campaign running here, by name.
using LiveStatsSource = std::function<std::map<std::string, LiveStats>()>;
// The feed's view of every campaign: statuses from `statuses` (read again
// only when the store changed, and after a costly read not before three
// times its CPU time has passed), engine figures from `live` (fresh each
// call) for campaigns the store says are running or stopping. `statuses`
// must outlive the Source.
LiveFeed::Source campaign_frames(StatusCache& statuses, LiveStatsSource live);

}  // namespace pd
