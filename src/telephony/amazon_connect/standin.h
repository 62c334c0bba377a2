// A local stand-in for Amazon Connect, for tests and for trying the Connect
// backend without an AWS account (`powerdialer connect-standin`).
//
// It speaks Connect's REST+JSON protocol for the calls the dialer makes —
// StartOutboundVoiceContact, GetCurrentMetricData, DescribeContact,
// StopContact — verifies SigV4 on every request, and is driven by the same
// Simulator model as `--backend sim`: agents, talk and after-call work,
// answer/busy/invalid/no-answer rates. What the simulated contact centre
// does is written as Connect writes it: agent events and contact trace
// records, in Connect's JSON formats, into Kinesis streams (moto_server in
// the tests). It can inject faults: throttling (429
// TooManyRequestsException), 5xx, latency, and duplicated and reordered
// stream records. A ledger file (JSON lines, one per ended contact) records
// what it did, so a test can check the dialer's results against it.
//
// Threading: HTTP requests on the server's threads; the simulator on its own
// RealTimeLoop thread; stream writes on a writer thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "telephony/simulator/simulator.h"

namespace pd::connect {

struct StandinOptions {
  std::string host = "127.0.0.1";
  int port = 0;  // 0: any free port (printed at start)
  std::string region = "us-east-1";
  std::string access_key_id = "test";  // the credentials it accepts
  std::string secret_access_key = "test";
  std::string instance_id = "11111111-2222-3333-4444-555555555555";
  std::string queue_id = "aaaaaaaa-1111-2222-3333-444444444444";
  std::string account_id = "123456789012";
  // Where events go: Kinesis streams (created when missing) at
  // `kinesis_endpoint` (empty: the AWS_ENDPOINT_URL* rules).
  std::string agent_stream = "connect-agent-events";
  std::string ctr_stream = "connect-ctr";
  std::string kinesis_endpoint;
  SimConfig sim;
  std::chrono::milliseconds heartbeat{120000};  // HEART_BEAT per agent, as Connect
  // Faults.
  double throttle_rate = 0;  // StartOutboundVoiceContact answered 429
  double error_rate = 0;     // any API answered 500 InternalServiceException
  std::chrono::milliseconds latency{0};
  double duplicate_rate = 0;  // a record is written twice
  double reorder_rate = 0;    // a record is held back and written after later ones
  // Agent events without AgentStatus.Type, as in Connect's documented
  // example (the status is told by its Name alone).
  bool omit_status_type = false;
  std::string ledger;  // JSON lines of ended contacts; empty: none
  // Its clock (event and record times) starts here instead of now, to match
  // a dialer run with the same `--start`.
  std::optional<WallTime> start;
  uint64_t seed = 1;
};

// Runs until SIGINT/SIGTERM; prints "listening on http://HOST:PORT" on
// stdout once it serves. Errors: the streams cannot be created, the port is
// taken.
absl::Status run_standin(const StandinOptions& options);

}  // namespace pd::connect
