#include "cli/serve_command.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <mutex>
#include <nlohmann/json.hpp>

#include "cli/signal_watcher.h"
#include "core/clock.h"
#include "core/start_time.h"
#include "core/strings.h"
#include "core/time_format.h"
#include "engine/campaign_control.h"
#include "io/files_folder.h"
#include "server/api.h"
#include "server/api_tokens.h"
#include "server/campaign_host.h"
#include "server/http_server.h"
#include "server/live_feed.h"
#include "server/metrics.h"
#include "server/node_agent.h"
#include "server/status_cache.h"
#include "store/store.h"

namespace pd::cli {

std::string files_folder_beside(const std::string& db_path) {
  // A server store has no folder of its own: the current one.
  if (is_server_url(db_path)) return "powerdialer-files";
  const std::filesystem::path db(db_path);
  return (db.parent_path() / cat(db.stem().string(), "-files")).string();
}

int cmd_serve(const Context& ctx, const ServeOptions& options) {
  if (auto s = validate_backend(options.backend); !s.ok()) return fail(ctx, s);
  if (auto s = validate_speed(options.backend, options.speed); !s.ok()) return fail(ctx, s);
  if (options.max_clients < 8 || options.max_clients > 20000) {
    return fail(ctx, absl::InvalidArgumentError("--max-clients must be from 8 to 20000"));
  }
  if (options.max_clients_per_address < 1 ||
      options.max_clients_per_address > options.max_clients) {
    return fail(ctx, absl::InvalidArgumentError(
                         "--max-clients-per-address must be from 1 to --max-clients"));
  }
  auto address = parse_listen_address(options.listen);
  if (!address.ok()) return fail(ctx, address.status());
  const auto& [host_name, port] = *address;
  const bool loopback = is_loopback_host(host_name);
  const bool tls = !options.tls_cert.empty() || !options.tls_key.empty();
  if (tls && (options.tls_cert.empty() || options.tls_key.empty())) {
    return fail(ctx, absl::InvalidArgumentError("--tls-cert and --tls-key go together"));
  }
  auto check = open_store(ctx.db_path, /*create=*/false);
  if (!check.ok()) return fail(ctx, check.status());
  auto existing_tokens = (*check)->api_tokens();
  if (!existing_tokens.ok()) return fail(ctx, existing_tokens.status());
  if (!loopback && existing_tokens->empty()) {
    return fail(ctx, absl::FailedPreconditionError(cat(
                         "refusing to listen on ", options.listen,
                         ", which other machines can reach, with no API token: create one with '",
                         ctx.program, " token create' first")));
  }
  // As for `run`: the simulator's clock resumes after the recorded times.
  WallTime clock_not_before{};
  std::optional<WallTime> clock_start;
  if (!options.start.empty()) {
    if (options.backend.backend != "sim") {
      return fail(ctx, absl::InvalidArgumentError(
                           "serve --start is for the simulator: against Amazon Connect a moved "
                           "clock would put calls outside the callees' calling windows"));
    }
    auto t = parse_start_time(options.start, "--start");
    if (!t.ok()) return fail(ctx, t.status());
    if (auto s = check_clock_start(**check, *t, "--start"); !s.ok()) return fail(ctx, s);
    clock_start = *t;
  }
  if (options.backend.backend == "sim" && !clock_start) {
    auto start = simulated_clock_start(**check);
    if (!start.ok()) return fail(ctx, start.status());
    clock_not_before = *start;
  }
  check->reset();
  // Bearer tokens and customer lists must not cross a network in clear
  // text; a TLS-terminating proxy in front is the operator's explicit call.
  if (!loopback && !tls && !options.insecure_http) {
    return fail(ctx, absl::FailedPreconditionError(cat(
                         "refusing to serve plain HTTP on ", options.listen,
                         ", which other machines can reach: API tokens and lists would cross the "
                         "network readable. Give --tls-cert FILE --tls-key FILE, or "
                         "--insecure-http when a TLS-terminating proxy on this machine is in "
                         "front (see README)")));
  }
  auto files_folder = make_files_folder(options.files_dir.empty() ? files_folder_beside(ctx.db_path)
                                                                  : options.files_dir);
  if (!files_folder.ok()) return fail(ctx, files_folder.status());
  // An API client could otherwise name the store (or its -wal file) as an
  // outputfile and overwrite it.
  if (!is_server_url(ctx.db_path) &&
      path_in_folder(*files_folder, "--db", std::filesystem::absolute(ctx.db_path).string()).ok()) {
    return fail(ctx, absl::InvalidArgumentError(cat("the files folder ", *files_folder,
                                                    " holds the store ", ctx.db_path,
                                                    "; give --files-dir a folder of its own")));
  }

  const std::string node_id = options.node_id.empty() ? new_dialer_owner_id() : options.node_id;
  if (node_id.size() > 200 || std::any_of(node_id.begin(), node_id.end(), [](char c) {
        return static_cast<unsigned char>(c) <= ' ' || c == 0x7f;
      })) {
    return fail(ctx, absl::InvalidArgumentError(
                         "--node-id must be 1-200 printable characters without spaces"));
  }
  if (!(options.lease_seconds >= 1 && options.lease_seconds <= 3600)) {
    return fail(ctx, absl::InvalidArgumentError("--lease must be from 1 to 3600 seconds"));
  }
  const auto lease = std::chrono::milliseconds(std::llround(options.lease_seconds * 1000));

  // Signals first, before any thread exists (see SignalWatcher).
  std::mutex mu;
  bool stop_requested = false;
  HttpServer* server_ptr = nullptr;
  LiveFeed* feed_ptr = nullptr;
  CampaignHost* host_ptr = nullptr;
  NodeAgent* node_ptr = nullptr;
  // A node that shares the store with other serving nodes hands its
  // campaigns over to them (they stay running); the last one stops them,
  // as a lone server always has.
  auto leave = [&] {
    if (host_ptr == nullptr) return;
    absl::StatusOr<bool> others = node_ptr ? node_ptr->others_serving() : false;
    if (others.ok() && *others) {
      *ctx.err << "stopping: no new requests; calls in flight finish, then the campaigns are "
                  "handed over to the other nodes (Ctrl-C again to quit now)\n";
      node_ptr->drain();
    } else {
      *ctx.err << "stopping: no new requests; calls in flight finish first (Ctrl-C again to "
                  "quit now)\n";
      host_ptr->stop_all();
    }
  };
  SignalWatcher signals([&] {
    std::lock_guard<std::mutex> lock(mu);
    stop_requested = true;
    if (feed_ptr) feed_ptr->shutdown();
    if (server_ptr) server_ptr->stop();
    leave();
  });

  HostOptions host_options;
  host_options.db_path = ctx.db_path;
  host_options.backend = options.backend;
  host_options.speed = options.speed;
  host_options.clock_not_before = clock_not_before;
  host_options.clock_start = clock_start;
  host_options.files_folder = *files_folder;
  host_options.node_id = node_id;
  host_options.lease = lease;
  CampaignHost host(host_options);
  auto node_store = open_store(ctx.db_path, /*create=*/false);
  if (!node_store.ok()) return fail(ctx, node_store.status());
  NodeAgent node(std::move(*node_store), host, NodeOptions{node_id, lease, {}});

  // One read-only connection for campaign statuses, shared by the feed and
  // the API, so each status is read once per change of the store.
  auto status_store = open_store(ctx.db_path, /*create=*/false);
  if (!status_store.ok()) return fail(ctx, status_store.status());
  StatusCache statuses(std::move(*status_store));
  LiveFeed feed(campaign_frames(statuses, [&host] { return host.live_all(); }));

  auto token_store = open_store(ctx.db_path, /*create=*/false);
  if (!token_store.ok()) return fail(ctx, token_store.status());
  std::shared_ptr<Store> tokens_db(std::move(*token_store));
  TokenVerifier tokens([tokens_db] { return tokens_db->api_tokens(); });

  StorePool stores(ctx.db_path);
  Api api(stores, &host, *files_folder, &statuses, &node);
  HttpCounters counters;
  HttpOptions http;
  http.host = host_name;
  http.port = port;
  http.max_connections = options.max_clients;
  http.max_connections_per_address = options.max_clients_per_address;
  http.header_timeout = std::chrono::seconds(options.header_timeout_seconds);
  http.allowed_hosts = options.allowed_hosts;
  http.tls_cert_file = options.tls_cert;
  http.tls_key_file = options.tls_key;
  http.max_list_bytes = static_cast<size_t>(options.max_list_bytes);
  http.max_body_bytes = static_cast<size_t>(options.max_body_bytes);
  http.io_timeout = std::chrono::seconds(options.io_timeout_seconds);
  http.body_timeout = std::chrono::seconds(options.body_timeout_seconds);
  http.metrics_need_token = !loopback;
  HttpServer server(http, api, feed, tokens, counters);
  if (auto s = server.bind(); !s.ok()) return fail(ctx, s);
  feed.start();
  // Joins the nodes: from here on it takes campaigns over.
  if (auto s = node.start(); !s.ok()) return fail(ctx, s);
  {
    std::lock_guard<std::mutex> lock(mu);
    server_ptr = &server;
    feed_ptr = &feed;
    host_ptr = &host;
    node_ptr = &node;
    if (stop_requested) {
      feed.shutdown();
      leave();
    }
  }
  const std::string shown_host =
      host_name.find(':') != std::string::npos ? cat("[", host_name, "]") : host_name;
  *ctx.err << fmt::format(
      "powerdialer serve: dashboard and API on {}://{}:{}/ (database {}, {} backend{}, up to {} "
      "clients; node {}, lease {}s)\n",
      tls ? "https" : "http", shown_host, server.port(), ctx.db_path, options.backend.backend,
      options.backend.backend == "sim" ? fmt::format(" at {}x", options.speed) : "",
      options.max_clients, node_id, options.lease_seconds);
  *ctx.err << "local inputfile and outputfile values set through the API stay in " << *files_folder
           << " (--files-dir)\n";
  if (existing_tokens->empty()) {
    *ctx.err << "note: no API token exists yet; create one with '" << ctx.program
             << " token create' (every /api request needs it)\n";
  }
  *ctx.err << std::flush;
  bool stop_now = false;
  {
    std::lock_guard<std::mutex> lock(mu);
    stop_now = stop_requested;
  }
  if (!stop_now) server.run();
  feed.shutdown();
  host.wait_idle();  // calls in flight end; campaigns are stopped or handed over
  {
    std::lock_guard<std::mutex> lock(mu);
    server_ptr = nullptr;
    feed_ptr = nullptr;
    host_ptr = nullptr;
    node_ptr = nullptr;
  }
  node.stop();  // leaves the nodes
  host.shutdown();
  *ctx.err << "powerdialer serve: stopped\n";
  return kOk;
}

namespace {

absl::StatusOr<std::unique_ptr<Store>> open_tokens(const Context& ctx) {
  return open_store(ctx.db_path, /*create=*/false);
}

}  // namespace

int cmd_token_create(const Context& ctx, const std::optional<std::string>& name) {
  auto store = open_tokens(ctx);
  if (!store.ok()) return fail(ctx, store.status());
  std::string chosen;
  if (name) {
    chosen = *name;
  } else {
    auto all = (*store)->api_tokens();
    if (!all.ok()) return fail(ctx, all.status());
    for (int i = 1; chosen.empty(); ++i) {
      const std::string candidate = i == 1 ? "default" : cat("default-", i);
      if (std::none_of(all->begin(), all->end(),
                       [&](const ApiToken& t) { return t.name == candidate; })) {
        chosen = candidate;
      }
    }
  }
  auto token = create_api_token(**store, chosen, system_clock().wall_now());
  if (!token.ok()) return fail(ctx, token.status());
  *ctx.out << *token << "\n";
  *ctx.err << "created API token '" << chosen
           << "': it is shown only this once (only its SHA-256 is kept); send it as "
              "'Authorization: Bearer <token>'\n";
  return kOk;
}

int cmd_token_list(const Context& ctx, bool json) {
  auto store = open_tokens(ctx);
  if (!store.ok()) return fail(ctx, store.status());
  auto all = (*store)->api_tokens();
  if (!all.ok()) return fail(ctx, all.status());
  nlohmann::json j = nlohmann::json::array();
  for (const ApiToken& t : *all) {
    if (json) {
      j.push_back(
          {{"name", t.name}, {"created_at", format_iso8601(t.created_at)}, {"ends_with", t.hint}});
    } else {
      *ctx.out << fmt::format("{:<30} created {}  ...{}\n", t.name, format_iso8601(t.created_at),
                              t.hint);
    }
  }
  if (json) *ctx.out << j.dump(2) << "\n";
  return kOk;
}

int cmd_token_revoke(const Context& ctx, const std::string& name) {
  auto store = open_tokens(ctx);
  if (!store.ok()) return fail(ctx, store.status());
  if (auto s = (*store)->revoke_api_token(name); !s.ok()) return fail(ctx, s);
  *ctx.out << "revoked API token '" << name << "' (a running server refuses it within a second)\n";
  return kOk;
}

}  // namespace pd::cli
