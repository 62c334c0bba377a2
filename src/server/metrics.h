// /metrics: campaign and server figures in the Prometheus text exposition
// format (version 0.0.4), labelled campaign="<name>". Formatting is a pure
// function over a snapshot, so it is unit-tested without a server; the
// counters the HTTP layer keeps are thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "server/live_feed.h"

namespace pd {

// Requests answered, by HTTP status. Thread-safe.
class HttpCounters {
 public:
  void count(int status);
  std::map<int, int64_t> by_status() const;

 private:
  mutable std::mutex mu_;
  std::map<int, int64_t> by_status_;  // guarded by mu_
};

struct ServerFigures {
  std::map<int, int64_t> requests_by_status;
  int64_t live_feed_clients = 0;
};

// A label value with \, " and newline escaped.
std::string prometheus_label(std::string_view value);

// Every metric, with HELP and TYPE lines. Engine counters (dials, connects,
// abandons, throttles, events) count from the start of the campaign's
// current run in this process and are absent when it does not run here.
std::string format_metrics(const std::vector<CampaignFrame>& campaigns,
                           const ServerFigures& server);

}  // namespace pd
