// The HTTP API's operations as plain functions over the store and the
// CampaignHost: each takes parsed input and returns a status code and a
// JSON body, so they are tested without a server; http_server.cc only
// moves bytes. Every operation names its campaign, looks it up by name and
// touches nothing else, so no request reaches another campaign's data.
//
// Thread-safety: Api is thread-safe (each call borrows its own Store from
// a pool).
#pragma once

#include <functional>
#include <istream>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "server/campaign_host.h"
#include "server/node_agent.h"
#include "server/status_cache.h"
#include "store/store.h"

namespace pd {

struct ApiResponse {
  int status = 200;
  nlohmann::json body;
};

// {"error": message} with the status that fits the code: 400 invalid
// argument, 404 not found, 409 failed precondition / already exists, 413
// resource exhausted (too large), 503 unavailable, 500 otherwise.
ApiResponse api_error(const absl::Status& status);

// The engine's figures for `campaign` (as read from the store) when it runs
// here; nullopt unless the store says running or stopping, so the state and
// "live" never disagree while an engine starts or finishes.
std::optional<LiveStats> live_while_running(const CampaignHost& host, const Campaign& campaign);
int http_status_for(const absl::Status& status);

// Open Stores for the HTTP threads, reused across requests (an open SQLite
// connection keeps its prepared statements). Thread-safe.
class StorePool {
 public:
  using Handle = std::unique_ptr<Store, std::function<void(Store*)>>;
  explicit StorePool(std::string db_path, size_t max_idle = 64);
  ~StorePool();
  absl::StatusOr<Handle> acquire();

 private:
  std::string db_path_;
  size_t max_idle_;
  std::mutex mu_;
  std::vector<std::unique_ptr<Store>> idle_;  // guarded by mu_
};

class Api {
 public:
  static constexpr int kMaxRejectsShown = 1000;

  // `host` may be null (no dialing: start/stop refused), for tests.
  // `files_folder` (canonical, io/files_folder.h) is where local
  // `inputfile` and `outputfile` values must lie; empty: none are taken.
  // `statuses`, when given, answers campaign statuses (read again only when
  // the store changed); otherwise each request reads them itself.
  // `node`, when given, is this server as a dialer node (drain).
  Api(StorePool& stores, CampaignHost* host, std::string files_folder,
      StatusCache* statuses = nullptr, NodeAgent* node = nullptr);

  ApiResponse list_campaigns();
  // Body {"name": "spring"}: 201 with the campaign's summary.
  ApiResponse create_campaign(std::string_view body);
  // `status --json` plus "live".
  ApiResponse get_campaign(std::string_view name);
  ApiResponse get_config(std::string_view name);
  // `powerdialer compliance --json` (engine/compliance_report.h); 200 even
  // with violations: the body's "violations" says so.
  ApiResponse compliance(std::string_view name);
  // Body {"key": "value" | null}: all validated first, then applied in one
  // transaction; 400 naming the first bad key. A local inputfile or
  // outputfile must lie in the files folder (a relative one is taken inside
  // it) and is stored as its absolute path; s3:// is not confined.
  ApiResponse patch_config(std::string_view name, std::string_view body);
  // Imports `csv` (streamed). `before_commit` runs just before the list is
  // committed; an error from it (the upload was cut short or too large)
  // rolls the import back and is returned.
  ApiResponse load_list(std::string_view name, bool append, std::istream& csv,
                        const std::function<absl::Status()>& before_commit);
  // Body {"disposition": "CALLBACK", "callback_at": "RFC 3339" (optional)}:
  // records the agent's wrap-up code on the attempt (`attempt`: its id, or
  // its call's contact id) and applies its action (Store::set_disposition).
  // 200 {"attempt", "disposition", "action", "applied", "callable_at"}.
  ApiResponse set_disposition(std::string_view name, std::string_view attempt,
                              std::string_view body);
  ApiResponse start(std::string_view name);
  ApiResponse stop(std::string_view name);

  // --- dialer nodes ----------------------------------------------------
  // GET /api/nodes: {"this_node": id or null, "nodes": [{"id", "until",
  // "draining", "campaigns": [names whose lease it holds]}], "unheld":
  // [running campaigns no live dialer holds, to be taken over]}.
  ApiResponse nodes();
  // POST /api/node/drain: this node takes no campaign from now on and hands
  // its campaigns over (their calls in flight finish first). 202 {"node",
  // "draining": true, "handing_over": [names], "other_nodes_serving":
  // bool} (false: the campaigns wait, running, for a node to start).
  ApiResponse drain_node();
  // Checks the campaign exists; the caller then streams the answer over
  // the returned store: export_results for GET .../results,
  // write_rejects_json (io/status_json.h) for GET .../rejects.
  struct CampaignSource {
    StorePool::Handle store;
    CampaignId campaign = 0;
  };
  absl::StatusOr<CampaignSource> campaign_source(std::string_view name);

  // --- the do-not-call list (store-wide: no campaign in these routes) ---
  // GET /api/dnc/NUMBER: dnc_check_json (io/dnc_file.h). A number without
  // '+' is read as one of `region` (default US).
  ApiResponse dnc_check(std::string_view number, std::string_view region);
  // POST /api/dnc, body {"numbers": [...], "source": "api", "expires":
  // "2027-01-31", "region": "US"} (all but numbers optional): every number
  // is checked before any is added; 400 naming the first bad one.
  ApiResponse dnc_add(std::string_view body);
  // DELETE /api/dnc/NUMBER: {"removed": 0|1}.
  ApiResponse dnc_remove(std::string_view number, std::string_view region);
  // What a load takes besides its file (JSON keys, or the query string of
  // an upload): source (default: the file's name, "upload" for an upload),
  // expires, replace_source, region.
  struct DncLoadRequest {
    std::string file;  // POST /api/dnc/load {"file": ...}: inside --files-dir, or s3://
    std::string source;
    std::string expires;
    bool replace_source = false;
    std::string region = "US";
  };
  // POST /api/dnc/load with a JSON body naming the file.
  ApiResponse dnc_load_file(std::string_view body);
  // POST /api/dnc/load with the file as the body (CSV or multipart);
  // `before_commit` as for load_list.
  ApiResponse dnc_load(const DncLoadRequest& request, std::istream& csv,
                       const std::function<absl::Status()>& before_commit);
  // GET /api/dnc: the store to stream the entries from, once `query`
  // (?source=&after=&limit=) is found good.
  absl::StatusOr<StorePool::Handle> dnc_source(DncQuery& query, std::string_view after_raw);

 private:
  nlohmann::json summary_json(const CampaignStatus& st) const;
  ApiResponse run_dnc_load(const DncLoadRequest& request, std::istream& in,
                           std::string_view name, const std::function<absl::Status()>& before_commit);
  absl::StatusOr<CampaignStatus> status_of(Store& store, CampaignId id);
  // Refuses (400) a local file location in `changes` outside the files
  // folder; rewrites the others to their absolute paths.
  std::optional<ApiResponse> keep_files_in_folder(
      Store& store, CampaignId id,
      std::map<std::string, std::optional<std::string>>& changes) const;

  StorePool& stores_;
  CampaignHost* host_;
  const std::string files_folder_;
  StatusCache* statuses_;
  NodeAgent* node_;
};

}  // namespace pd
