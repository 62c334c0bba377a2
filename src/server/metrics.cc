#include "server/metrics.h"

#include <fmt/format.h>

#include <functional>
#include <iterator>

#include "io/status_json.h"

namespace pd {

void HttpCounters::count(int status) {
  std::lock_guard<std::mutex> lock(mu_);
  ++by_status_[status];
}

std::map<int, int64_t> HttpCounters::by_status() const {
  std::lock_guard<std::mutex> lock(mu_);
  return by_status_;
}

std::string prometheus_label(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

namespace {

class Writer {
 public:
  explicit Writer(std::string& out) : out_(out) {}
  void family(std::string_view name, std::string_view type, std::string_view help) {
    fmt::format_to(std::back_inserter(out_), "# HELP {} {}\n# TYPE {} {}\n", name, help, name,
                   type);
  }
  void sample(std::string_view name, std::string_view labels, double value) {
    if (labels.empty()) {
      fmt::format_to(std::back_inserter(out_), "{} {}\n", name, value);
    } else {
      fmt::format_to(std::back_inserter(out_), "{}{{{}}} {}\n", name, labels, value);
    }
  }

 private:
  std::string& out_;
};

std::string campaign_label(const CampaignFrame& f) {
  return fmt::format("campaign=\"{}\"", prometheus_label(f.status.campaign.name));
}

}  // namespace

std::string format_metrics(const std::vector<CampaignFrame>& campaigns,
                           const ServerFigures& server) {
  std::string out;
  Writer w(out);
  auto per_campaign = [&](std::string_view name, std::string_view type, std::string_view help,
                          const std::function<double(const CampaignFrame&)>& value) {
    w.family(name, type, help);
    for (const CampaignFrame& f : campaigns) w.sample(name, campaign_label(f), value(f));
  };
  auto per_live = [&](std::string_view name, std::string_view type, std::string_view help,
                      const std::function<double(const LiveStats&)>& value) {
    w.family(name, type, help);
    for (const CampaignFrame& f : campaigns) {
      if (f.live) w.sample(name, campaign_label(f), value(*f.live));
    }
  };

  w.family("powerdialer_campaign_state", "gauge",
           "1 for the campaign's current state (idle, running, stopping, stopped, done)");
  for (const CampaignFrame& f : campaigns) {
    for (auto s : {CampaignState::kIdle, CampaignState::kRunning, CampaignState::kStopping,
                   CampaignState::kStopped, CampaignState::kDone}) {
      w.sample("powerdialer_campaign_state",
               fmt::format("{},state=\"{}\"", campaign_label(f), to_string(s)),
               f.status.campaign.state == s ? 1 : 0);
    }
  }
  w.family("powerdialer_customers", "gauge", "Customers on the dialing list, by state");
  for (const CampaignFrame& f : campaigns) {
    for (auto s : {CustomerState::kPending, CustomerState::kDialing, CustomerState::kReached,
                   CustomerState::kExhausted, CustomerState::kSuppressed}) {
      w.sample("powerdialer_customers",
               fmt::format("{},state=\"{}\"", campaign_label(f), to_string(s)),
               static_cast<double>(customers_in(f.status, s)));
    }
  }
  w.family("powerdialer_attempts_total", "counter",
           "Dial attempts that ended, by outcome (reset when a list is reloaded)");
  for (const CampaignFrame& f : campaigns) {
    for (int i = 0; i < kOutcomeCount; ++i) {
      const auto o = static_cast<Outcome>(i);
      auto it = f.status.attempts_by_outcome.find(o);
      w.sample("powerdialer_attempts_total",
               fmt::format("{},outcome=\"{}\"", campaign_label(f), to_string(o)),
               static_cast<double>(it == f.status.attempts_by_outcome.end() ? 0 : it->second));
    }
  }
  per_campaign("powerdialer_attempts_in_flight", "gauge", "Attempts not yet ended",
               [](const CampaignFrame& f) { return f.status.attempts_in_flight; });
  per_campaign("powerdialer_abandon_rate_today", "gauge",
               "Abandoned over answered calls today (the campaign's default-timezone, else UTC)",
               [](const CampaignFrame& f) { return f.status.abandon.rate_today(); });
  per_campaign("powerdialer_abandon_rate_30d", "gauge",
               "Abandoned over answered calls in the last 30 days (TCPA's measure)",
               [](const CampaignFrame& f) { return f.status.abandon.rate_30d(); });
  per_campaign("powerdialer_max_abandon_rate", "gauge",
               "The campaign's max-abandon-rate: at it, the campaign stops dialing",
               [](const CampaignFrame& f) { return f.status.abandon.max_rate; });

  // Pacing: the mode as a labelled 1 (as campaign_state), the level the
  // pacer aims for while it dials, the abandon rates against the target.
  w.family("powerdialer_pacing_mode", "gauge",
           "1 for the campaign's pacing mode (power, progressive, predictive, vicidial-adapt)");
  for (const CampaignFrame& f : campaigns) {
    for (std::string_view mode : {"power", "progressive", "predictive", "vicidial-adapt"}) {
      w.sample("powerdialer_pacing_mode",
               fmt::format("{},mode=\"{}\"", campaign_label(f), mode),
               f.pacing.config.pacing == mode ? 1 : 0);
    }
  }
  w.family("powerdialer_lines_per_agent", "gauge",
           "Calls in flight per logged-in agent the pacer aims for (1 = power mode), while the "
           "campaign dials");
  for (const CampaignFrame& f : campaigns) {
    if (f.pacing.live) {
      w.sample("powerdialer_lines_per_agent", campaign_label(f), f.pacing.live->lines_per_agent);
    }
  }
  w.family("powerdialer_abandon_rate", "gauge",
           "Abandoned over answered calls, today and over the last 30 days (window)");
  for (const CampaignFrame& f : campaigns) {
    w.sample("powerdialer_abandon_rate", fmt::format("{},window=\"today\"", campaign_label(f)),
             f.status.abandon.rate_today());
    w.sample("powerdialer_abandon_rate", fmt::format("{},window=\"30d\"", campaign_label(f)),
             f.status.abandon.rate_30d());
  }
  per_campaign("powerdialer_target_abandon_rate", "gauge",
               "The campaign's target-abandon-rate: predictive pacing steers to it",
               [](const CampaignFrame& f) { return f.pacing.config.target_abandon_rate; });

  per_live("powerdialer_dials_total", "counter", "Calls placed by this run of the campaign",
           [](const LiveStats& l) { return l.dials; });
  per_live("powerdialer_connects_total", "counter", "Calls connected to an agent",
           [](const LiveStats& l) { return l.connects; });
  per_live("powerdialer_abandons_total", "counter", "Calls answered with no agent to take them",
           [](const LiveStats& l) { return l.abandons; });
  per_live("powerdialer_api_throttles_total", "counter",
           "Call requests the contact centre refused as throttled (retried)",
           [](const LiveStats& l) { return l.throttled; });
  w.family("powerdialer_agents", "gauge", "Agents by state (available, busy, after_call_work)");
  for (const CampaignFrame& f : campaigns) {
    if (!f.live) continue;
    const std::string c = campaign_label(f);
    w.sample("powerdialer_agents", fmt::format("{},state=\"available\"", c),
             f.live->agents_available);
    w.sample("powerdialer_agents", fmt::format("{},state=\"busy\"", c), f.live->agents_busy);
    w.sample("powerdialer_agents", fmt::format("{},state=\"after_call_work\"", c),
             f.live->agents_after_call_work);
  }
  w.family("powerdialer_calls", "gauge", "Calls in progress (dialing, talking)");
  for (const CampaignFrame& f : campaigns) {
    if (!f.live) continue;
    const std::string c = campaign_label(f);
    w.sample("powerdialer_calls", fmt::format("{},state=\"dialing\"", c), f.live->dialing);
    w.sample("powerdialer_calls", fmt::format("{},state=\"talking\"", c), f.live->talking);
  }
  w.family("powerdialer_event_lag_seconds", "summary",
           "How late contact-centre events were when the engine handled them");
  for (const CampaignFrame& f : campaigns) {
    if (!f.live) continue;
    const std::string c = campaign_label(f);
    w.sample("powerdialer_event_lag_seconds_sum", c, f.live->event_lag_seconds_sum);
    w.sample("powerdialer_event_lag_seconds_count", c, static_cast<double>(f.live->events));
  }
  per_live("powerdialer_event_lag_last_seconds", "gauge", "Lag of the last event handled",
           [](const LiveStats& l) { return l.event_lag_seconds_last; });

  w.family("powerdialer_http_requests_total", "counter", "HTTP requests answered, by status");
  for (const auto& [code, n] : server.requests_by_status) {
    w.sample("powerdialer_http_requests_total", fmt::format("code=\"{}\"", code),
             static_cast<double>(n));
  }
  w.family("powerdialer_live_feed_clients", "gauge", "Clients connected to /api/events");
  w.sample("powerdialer_live_feed_clients", "", static_cast<double>(server.live_feed_clients));
  return out;
}

}  // namespace pd
