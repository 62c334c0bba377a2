// `serve` (the HTTP API, live feed and dashboard, dialing every campaign
// started through it in this process) and `token` (the API's bearer
// tokens). Plain functions over a Context, like the other commands.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "telephony/backend.h"

namespace pd::cli {

struct ServeOptions {
  std::string listen = "127.0.0.1:8080";
  BackendOptions backend;
  double speed = 1.0;                 // simulator only
  std::string start;                  // simulator only: the clock starts here (core/start_time.h)
  int max_clients = 1024;             // open connections in all
  int max_clients_per_address = 128;  // open connections from one address
  int64_t max_list_bytes = int64_t{64} << 20;
  int64_t max_body_bytes = int64_t{1} << 20;
  int io_timeout_seconds = 30;
  int header_timeout_seconds = 10;
  int body_timeout_seconds = 300;
  // Where local inputfile/outputfile values set through the API must lie
  // (io/files_folder.h); empty: files_folder_beside(db).
  std::string files_dir;
  std::vector<std::string> allowed_hosts;
  std::string tls_cert;
  std::string tls_key;
  bool insecure_http = false;  // plain HTTP off loopback (behind a TLS proxy)
  // This server as a dialer node (server/node_agent.h): its name (empty: a
  // new new_dialer_owner_id()) and the lease its campaigns and its own
  // heartbeat last.
  std::string node_id;
  double lease_seconds = 10;
};
// "/srv/pd/powerdialer-files" for "/srv/pd/powerdialer.db": the store's
// own folder, so the default stays with the data it belongs to.
std::string files_folder_beside(const std::string& db_path);
int cmd_serve(const Context& ctx, const ServeOptions& options);

// Prints the new token on ctx.out (alone on its line) and a note on ctx.err.
int cmd_token_create(const Context& ctx, const std::optional<std::string>& name);
int cmd_token_list(const Context& ctx, bool json);
int cmd_token_revoke(const Context& ctx, const std::string& name);

}  // namespace pd::cli
