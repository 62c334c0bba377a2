#include "server/node_agent.h"

#include <algorithm>
#include <iostream>

#include "core/clock.h"
#include "core/status_macros.h"
#include "core/strings.h"
#include "engine/campaign_control.h"

namespace pd {
namespace {

bool is_running(const Campaign& c) {
  return c.state == CampaignState::kRunning || c.state == CampaignState::kStopping;
}

}  // namespace

absl::StatusOr<NodesView> read_nodes(Store& store, WallTime now) {
  NodesView out;
  PD_ASSIGN_OR_RETURN(std::vector<Node> nodes, store.live_nodes(now));
  std::map<std::string, size_t> index;
  for (Node& n : nodes) {
    index[n.id] = out.nodes.size();
    out.nodes.push_back({std::move(n), {}});
  }
  PD_ASSIGN_OR_RETURN(std::vector<Campaign> campaigns, store.list_campaigns());
  for (const Campaign& c : campaigns) {
    if (!is_running(c)) continue;
    PD_ASSIGN_OR_RETURN(std::optional<DialerHealth> health, dialer_health(store, c, now));
    if (!health || !health->responding) {
      out.unheld.push_back(c.name);
      continue;
    }
    // A live lease whose owner is no node (a `powerdialer run`): neither.
    if (auto it = index.find(health->owner); it != index.end()) {
      out.nodes[it->second].campaigns.push_back(c.name);
    }
  }
  return out;
}

NodeAgent::NodeAgent(std::unique_ptr<Store> store, CampaignHost& host, NodeOptions options)
    : options_([&] {
        NodeOptions o = std::move(options);
        if (o.heartbeat.count() <= 0) o.heartbeat = std::max(std::chrono::milliseconds(1), o.lease / 3);
        return o;
      }()),
      host_(host),
      store_(std::move(store)) {}

NodeAgent::~NodeAgent() { stop(); }

absl::Status NodeAgent::start() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    PD_RETURN_IF_ERROR(step_locked());
  }
  thread_ = std::thread([this] { run(); });
  return absl::OkStatus();
}

void NodeAgent::run() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stopping_) {
    // Timed on the steady clock: after a pause (SIGSTOP) the wait ends at
    // once and the next step sees the world as it is now.
    wake_.wait_for(lock, options_.heartbeat, [this] { return stopping_; });
    if (stopping_) break;
    if (absl::Status s = step_locked(); !s.ok()) {
      // The store is busy or unreachable: the next heartbeat tries again.
      // Meanwhile this node's record lapses and the engines' leases tell.
      std::cerr << "powerdialer: node " << options_.id << ": heartbeat failed: "
                << sv(s.message()) << "\n";
    }
  }
}

absl::Status NodeAgent::step() {
  std::lock_guard<std::mutex> lock(mu_);
  return step_locked();
}

absl::Status NodeAgent::step_locked() {
  if (stopped_) return absl::OkStatus();
  const WallTime now = system_clock().wall_now();
  // A node shutting down counts as draining: no node counts on it.
  const bool draining = host_.draining() || host_.closing();
  PD_RETURN_IF_ERROR(store_->heartbeat_node(options_.id, now, now + options_.lease, draining));
  if (draining) return absl::OkStatus();
  PD_ASSIGN_OR_RETURN(NodesView view, read_nodes(*store_, now));

  const std::vector<std::string> active = host_.active();
  const std::set<std::string> here(active.begin(), active.end());
  for (auto it = leaving_.begin(); it != leaving_.end();) {
    it = here.count(*it) ? std::next(it) : leaving_.erase(it);
  }
  int64_t serving = 0;
  int64_t running = static_cast<int64_t>(view.unheld.size());
  bool self_listed = false;
  for (const NodeView& n : view.nodes) {
    running += static_cast<int64_t>(n.campaigns.size());
    if (!n.node.draining) ++serving;
    self_listed = self_listed || n.node.id == options_.id;
  }
  if (!self_listed) ++serving;  // (a clock far behind the store's)
  const int64_t share = (running + serving - 1) / serving;
  // Campaigns here, starting ones included, less those leaving.
  int64_t mine = static_cast<int64_t>(here.size() - leaving_.size());

  // Take over what no live dialer holds, up to this node's share.
  for (const std::string& name : view.unheld) {
    if (mine >= share) break;
    if (here.count(name)) continue;  // ours, being started or handed over
    absl::Status started = host_.start(name, /*takeover=*/true);
    if (started.ok()) {
      ++mine;
      last_failure_.erase(name);
      std::cerr << "powerdialer: node " << options_.id << " is taking campaign '" << name
                << "' over\n";
      continue;
    }
    // Another node won the lease, or the campaign cannot start (it is
    // logged once per reason, not every heartbeat).
    std::string why(sv(started.message()));
    auto [it, inserted] = last_failure_.try_emplace(name, why);
    if (inserted || it->second != why) {
      it->second = why;
      std::cerr << "powerdialer: node " << options_.id << " cannot take campaign '" << name
                << "' over: " << why << "\n";
    }
  }

  // Spread: more than the share here while another serving node runs less
  // than it: hand one campaign over (one per heartbeat, so the counts
  // settle between moves).
  if (mine > share) {
    const bool room_elsewhere =
        std::any_of(view.nodes.begin(), view.nodes.end(), [&](const NodeView& n) {
          return n.node.id != options_.id && !n.node.draining &&
                 static_cast<int64_t>(n.campaigns.size()) < share;
        });
    if (room_elsewhere) {
      for (auto it = active.rbegin(); it != active.rend(); ++it) {
        if (leaving_.count(*it)) continue;
        if (host_.hand_over(*it)) {
          leaving_.insert(*it);
          std::cerr << "powerdialer: node " << options_.id << " runs " << mine
                    << " campaigns, more than its share of " << share << ": handing campaign '"
                    << *it << "' over\n";
          break;
        }
      }
    }
  }
  return absl::OkStatus();
}

std::vector<std::string> NodeAgent::drain() {
  std::vector<std::string> names = host_.drain();
  std::lock_guard<std::mutex> lock(mu_);
  if (!stopped_) {
    const WallTime now = system_clock().wall_now();
    // Said at once, so no node counts on this one from now on; should it
    // fail, the next heartbeat says it.
    (void)store_->heartbeat_node(options_.id, now, now + options_.lease, true);
  }
  return names;
}

bool NodeAgent::draining() const { return host_.draining(); }

absl::StatusOr<bool> NodeAgent::others_serving() {
  std::lock_guard<std::mutex> lock(mu_);
  if (stopped_) return absl::FailedPreconditionError("this node has stopped");
  PD_ASSIGN_OR_RETURN(std::vector<Node> nodes, store_->live_nodes(system_clock().wall_now()));
  return std::any_of(nodes.begin(), nodes.end(),
                     [&](const Node& n) { return n.id != options_.id && !n.draining; });
}

void NodeAgent::stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopped_) return;
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
  std::lock_guard<std::mutex> lock(mu_);
  stopped_ = true;
  if (absl::Status s = store_->remove_node(options_.id); !s.ok()) {
    std::cerr << "powerdialer: node " << options_.id
              << " could not remove itself from the store (it lapses by itself): "
              << sv(s.message()) << "\n";
  }
}

}  // namespace pd
