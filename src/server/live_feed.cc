#include "server/live_feed.h"

#include <iostream>

#include "core/clock.h"
#include "core/strings.h"
#include "io/status_json.h"

namespace pd {

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
      {"attempts", st.attempts},
      {"in_flight", st.attempts_in_flight},
      {"attempts_by_outcome", outcomes_json(st.attempts_by_outcome)},
      {"live", live_json(frame.live)},
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
  while (true) {
    auto frames = source_();
    if (frames.ok()) {
      auto snap = std::make_shared<FeedSnapshot>();
      snap->generation = ++generation;
      snap->at = system_clock().wall_now();
      snap->campaigns = std::move(*frames);
      snap->events.reserve(snap->campaigns.size());
      for (const CampaignFrame& f : snap->campaigns) {
        snap->events.push_back(sse_event("campaign", campaign_event_json(f, snap->at).dump()));
      }
      std::lock_guard<std::mutex> lock(mu_);
      latest_ = std::move(snap);
      warned = false;
    } else if (!warned) {
      // The store is busy or gone; keep serving the last snapshot.
      std::cerr << "powerdialer: live feed: " << sv(frames.status().message()) << "\n";
      warned = true;
    }
    changed_.notify_all();
    notify_listener();
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

}  // namespace pd
