#include "server/live_feed.h"

#include <time.h>

#include <iostream>

#include "core/clock.h"
#include "core/strings.h"
#include "io/status_json.h"

namespace pd {
namespace {

// CPU time of the calling thread: what the feed's own reads cost, without
// the time it waited for an API request's read of the same data (which it
// then reuses).
std::chrono::nanoseconds thread_cpu_time() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return std::chrono::seconds(ts.tv_sec) + std::chrono::nanoseconds(ts.tv_nsec);
}

}  // namespace

nlohmann::json live_json(const std::optional<LiveStats>& live) {
  if (!live) return nullptr;
  return {
      {"dials", live->dials},
      {"connects", live->connects},
      {"abandons", live->abandons},
      {"throttled", live->throttled},
      {"agents_available", live->agents_available},
      {"agents_busy", live->agents_busy},
      {"agents_after_call_work", live->agents_after_call_work},
      {"dialing", live->dialing},
      {"talking", live->talking},
  };
}

nlohmann::json campaign_event_json(const CampaignFrame& frame, WallTime t) {
  const CampaignStatus& st = frame.status;
  return {
      {"name", st.campaign.name},
      {"state", to_string(st.campaign.state)},
      {"t", std::chrono::duration_cast<Millis>(t.time_since_epoch()).count()},
      {"customers", st.customers},
      {"pending",
       customers_in(st, CustomerState::kPending) + customers_in(st, CustomerState::kDialing)},
      {"reached", customers_in(st, CustomerState::kReached)},
      {"exhausted", customers_in(st, CustomerState::kExhausted)},
      {"suppressed", customers_in(st, CustomerState::kSuppressed)},
      {"attempts", st.attempts},
      {"in_flight", st.attempts_in_flight},
      {"attempts_by_outcome", outcomes_json(st.attempts_by_outcome)},
      {"live", live_json(frame.live)},
      {"dialer", dialer_json(st.dialer)},
      {"abandon_rate", abandon_rates_json(st.abandon)},
      // null when nothing holds the list: the dashboard merges snapshots.
      {"waiting", waiting_json(st)},
      {"pacing", pacing_json(frame.pacing.config, st.abandon, frame.pacing.live)},
  };
}

std::string sse_event(std::string_view event, std::string_view data) {
  return cat("event: ", event, "\ndata: ", data, "\n\n");
}

LiveFeed::LiveFeed(Source source, std::chrono::milliseconds every)
    : source_(std::move(source)), every_(every) {}

LiveFeed::~LiveFeed() { shutdown(); }

void LiveFeed::start() {
  thread_ = std::thread([this] { run(); });
}

void LiveFeed::shutdown() {
  std::lock_guard<std::mutex> join_lock(join_mu_);
  {
    std::lock_guard<std::mutex> lock(mu_);
    closed_ = true;
  }
  changed_.notify_all();
  notify_listener();
  if (thread_.joinable()) thread_.join();
}

void LiveFeed::set_listener(std::function<void()> listener) {
  std::lock_guard<std::mutex> lock(listener_mu_);
  listener_ = std::move(listener);
}

void LiveFeed::notify_listener() {
  std::lock_guard<std::mutex> lock(listener_mu_);
  if (listener_) listener_();
}

bool LiveFeed::closed() const {
  std::lock_guard<std::mutex> lock(mu_);
  return closed_;
}

void LiveFeed::run() {
  uint64_t generation = 0;
  auto next = std::chrono::steady_clock::now();
  bool warned = false;
  // Each campaign's last event without its time: what "changed" means.
  std::vector<std::string> last_bodies;
  while (true) {
    auto frames = source_();
    if (frames.ok()) {
      const WallTime at = system_clock().wall_now();
      std::vector<std::string> bodies;
      std::vector<std::string> events;
      bodies.reserve(frames->size());
      events.reserve(frames->size());
      bool active = false;
      for (const CampaignFrame& f : *frames) {
        nlohmann::json j = campaign_event_json(f, at);
        j.erase("t");
        bodies.push_back(j.dump());
        j["t"] = std::chrono::duration_cast<Millis>(at.time_since_epoch()).count();
        events.push_back(sse_event("campaign", j.dump()));
        active = active || f.status.campaign.state == CampaignState::kRunning ||
                 f.status.campaign.state == CampaignState::kStopping;
      }
      // A running campaign is published every tick even when its figures
      // stand still: the dashboard reads a silent feed as a stuck one.
      if (generation == 0 || active || bodies != last_bodies) {
        auto snap = std::make_shared<FeedSnapshot>();
        snap->generation = ++generation;
        snap->at = at;
        snap->campaigns = std::move(*frames);
        snap->events = std::move(events);
        last_bodies = std::move(bodies);
        {
          std::lock_guard<std::mutex> lock(mu_);
          latest_ = std::move(snap);
        }
        changed_.notify_all();
        notify_listener();
      }
      warned = false;
    } else if (!warned) {
      // The store is busy or gone; keep serving the last snapshot.
      std::cerr << "powerdialer: live feed: " << sv(frames.status().message()) << "\n";
      warned = true;
    }
    next += every_;
    const auto now = std::chrono::steady_clock::now();
    if (next < now) next = now;  // fell behind: no burst to catch up
    std::unique_lock<std::mutex> lock(mu_);
    if (changed_.wait_until(lock, next, [this] { return closed_; })) return;
  }
}

std::shared_ptr<const FeedSnapshot> LiveFeed::wait_newer(
    uint64_t after, std::chrono::steady_clock::time_point deadline) {
  std::unique_lock<std::mutex> lock(mu_);
  changed_.wait_until(lock, deadline,
                      [&] { return closed_ || (latest_ && latest_->generation > after); });
  if (closed_ || !latest_ || latest_->generation <= after) return nullptr;
  return latest_;
}

std::shared_ptr<const FeedSnapshot> LiveFeed::latest() const {
  std::lock_guard<std::mutex> lock(mu_);
  return latest_;
}

LiveFeed::Source campaign_frames(StatusCache& statuses, LiveStatsSource live) {
  // Reading the store costs a few index lookups per campaign (the kept
  // counts; a scan of the rows before schema version 6), and the engines'
  // figures cost nothing. Should a read still be slow (a store busy with
  // many campaigns), the store is read again only once three times its CPU
  // time has passed (the feed takes at most a quarter of a core), and the
  // frames in between carry the last statuses with fresh figures.
  struct Paced {
    std::optional<std::vector<CampaignStatus>> statuses;
    std::chrono::steady_clock::time_point next_read{};
  };
  auto paced = std::make_shared<Paced>();
  return
      [&statuses, live = std::move(live), paced]() -> absl::StatusOr<std::vector<CampaignFrame>> {
        if (!paced->statuses || std::chrono::steady_clock::now() >= paced->next_read) {
          const auto began = thread_cpu_time();
          auto all = statuses.all();
          if (!all.ok()) return all.status();
          paced->statuses = std::move(*all);
          paced->next_read = std::chrono::steady_clock::now() + 3 * (thread_cpu_time() - began);
        }
        const auto running = live ? live() : std::map<std::string, LiveStats>{};
        std::vector<CampaignFrame> frames;
        frames.reserve(paced->statuses->size());
        for (const CampaignStatus& st : *paced->statuses) {
          CampaignFrame f;
          f.status = st;
          const bool active = f.status.campaign.state == CampaignState::kRunning ||
                              f.status.campaign.state == CampaignState::kStopping;
          auto pacing = statuses.pacing(f.status);
          if (!pacing.ok()) return pacing.status();
          f.pacing = std::move(*pacing);
          if (auto it = running.find(f.status.campaign.name); active && it != running.end()) {
            f.live = it->second;
            // The engine here is fresher than its last heartbeat's word.
            if (it->second.pacing) f.pacing.live = it->second.pacing;
          }
          // Fresh each tick: a dialer's lease lapses without any commit.
          if (active) {
            auto dialer = statuses.dialer(f.status.campaign, system_clock().wall_now());
            if (!dialer.ok()) return dialer.status();
            f.status.dialer = *dialer;
          }
          frames.push_back(std::move(f));
        }
        return frames;
      };
}

}  // namespace pd
