// A `serve` process as one dialer node among several sharing one store.
//
// Each node records itself in the store (Store::heartbeat_node) every
// heartbeat, a third of the lease, and on every heartbeat takes over
// campaigns no live dialer holds: every campaign that is running or stopping
// whose lease has lapsed, was given up, or names a process on this machine
// that has exited (dialer_health), provided this node is not draining and
// runs fewer than its share, ceil(running campaigns / live non-draining
// nodes). acquire_lease is atomic, so when several nodes try at once one
// wins and the others' starts are refused. The engine's start resolves the
// calls the previous dialer left in flight (engine/engine.h).
//
// Campaigns spread: a node that runs more than its share while another
// live node runs less hands one over per heartbeat (its calls finish, then
// its lease is given up with the campaign left running).
//
// Draining (POST /api/node/drain, SIGTERM) refuses new starts and hands
// every campaign over; the node keeps heartbeating as draining, so no node
// counts on it.
//
// Only Store methods are used: the same logic runs on any store.
//
// Thread-safety: every public method may be called from any thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "server/campaign_host.h"
#include "store/store.h"

namespace pd {

struct NodeOptions {
  std::string id;  // new_dialer_owner_id() or --node-id; the engines' lease owner
  // A node is alive until this long after its last heartbeat; the campaign
  // lease is the same length (HostOptions::lease).
  std::chrono::milliseconds lease{std::chrono::seconds(10)};
  // Zero: a third of the lease.
  std::chrono::milliseconds heartbeat{0};
};

// One live node as GET /api/nodes shows it.
struct NodeView {
  Node node;
  std::vector<std::string> campaigns;  // whose unexpired lease it holds, by name
};
struct NodesView {
  std::vector<NodeView> nodes;  // by id
  // Running or stopping campaigns no live dialer holds now: a node takes
  // them over at its next heartbeat.
  std::vector<std::string> unheld;
};
// What the store says about the live nodes and what each runs, at `now`.
absl::StatusOr<NodesView> read_nodes(Store& store, WallTime now);

class NodeAgent {
 public:
  // `store` is this agent's own connection. `host` runs the campaigns and
  // outlives the agent.
  NodeAgent(std::unique_ptr<Store> store, CampaignHost& host, NodeOptions options);
  ~NodeAgent();  // stop()
  NodeAgent(const NodeAgent&) = delete;
  NodeAgent& operator=(const NodeAgent&) = delete;

  // Records this node, runs a first step and starts the heartbeat thread.
  absl::Status start();
  // One heartbeat: records this node, then takes campaigns over and hands
  // one over when this node runs more than its share (see above). Run by
  // the heartbeat thread; public for tests.
  absl::Status step();
  // Marks this node draining (in the store at once) and hands every
  // campaign over. Returns the campaigns handed over. Idempotent.
  std::vector<std::string> drain();
  bool draining() const;
  // Whether another live node that is not draining shares the store.
  absl::StatusOr<bool> others_serving();
  // Ends the heartbeat thread and removes this node from the store.
  // Idempotent.
  void stop();

  const std::string& id() const { return options_.id; }
  std::chrono::milliseconds heartbeat() const { return options_.heartbeat; }

 private:
  absl::Status step_locked();  // REQUIRES: mu_ held
  void run();

  const NodeOptions options_;
  CampaignHost& host_;

  mutable std::mutex mu_;
  std::condition_variable wake_;
  std::unique_ptr<Store> store_;  // guarded by mu_
  bool stopping_ = false;         // guarded by mu_
  bool stopped_ = false;          // guarded by mu_
  // Campaigns this node asked to hand over (they may still run here while
  // their calls end): not counted as its own.
  std::set<std::string> leaving_;  // guarded by mu_
  // The last takeover failure logged per campaign, so a campaign that
  // cannot start says so once, not every heartbeat.
  std::map<std::string, std::string> last_failure_;  // guarded by mu_
  std::thread thread_;
};

}  // namespace pd
