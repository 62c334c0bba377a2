#include "aws/http.h"

#include <curl/curl.h>

#include <algorithm>
#include <cstdlib>

#include "core/strings.h"

namespace pd::aws {
namespace {

// curl_global_init is not thread-safe and must run before any other curl
// call: a function-local static runs it exactly once, whichever thread sends
// first (C++ guarantees the others wait).
void ensure_curl_global_init() {
  static const CURLcode init = curl_global_init(CURL_GLOBAL_DEFAULT);
  (void)init;
}

// One easy handle per thread: curl keeps the handle's connections open, so
// consecutive calls from a worker thread reuse the TLS connection to AWS.
struct ThreadHandle {
  CURL* curl = nullptr;
  ThreadHandle() {
    ensure_curl_global_init();
    curl = curl_easy_init();
  }
  ~ThreadHandle() {
    if (curl) curl_easy_cleanup(curl);
  }
  ThreadHandle(const ThreadHandle&) = delete;
  ThreadHandle& operator=(const ThreadHandle&) = delete;
};

struct HeaderList {
  curl_slist* list = nullptr;
  ~HeaderList() { curl_slist_free_all(list); }
  void add(const std::string& line) { list = curl_slist_append(list, line.c_str()); }
};

size_t write_body(char* data, size_t size, size_t n, void* user) {
  static_cast<std::string*>(user)->append(data, size * n);
  return size * n;
}

size_t write_header(char* data, size_t size, size_t n, void* user) {
  auto* response = static_cast<HttpResponse*>(user);
  std::string_view line(data, size * n);
  if (line.rfind("HTTP/", 0) == 0) {
    // A new status line (after "100 Continue" or a proxy's CONNECT): only the
    // final response's headers count.
    response->headers.clear();
    return size * n;
  }
  const size_t colon = line.find(':');
  if (colon != std::string_view::npos && colon > 0)
    response->headers.emplace_back(to_lower(trim(line.substr(0, colon))),
                                   std::string(trim(line.substr(colon + 1))));
  return size * n;
}

}  // namespace

std::string HttpResponse::header(std::string_view name) const {
  const std::string lower = to_lower(name);
  for (const auto& [n, v] : headers)
    if (n == lower) return v;
  return {};
}

absl::StatusOr<UrlParts> split_url(std::string_view url) {
  const size_t scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos || scheme_end == 0)
    return absl::InvalidArgumentError(cat("not an absolute URL: '", url, "'"));
  UrlParts out;
  out.scheme = to_lower(url.substr(0, scheme_end));
  std::string_view rest = url.substr(scheme_end + 3);
  if (const size_t hash = rest.find('#'); hash != std::string_view::npos)
    rest = rest.substr(0, hash);
  const size_t path_start = rest.find_first_of("/?");
  std::string_view authority = rest.substr(0, path_start);
  if (const size_t at = authority.rfind('@'); at != std::string_view::npos)
    authority.remove_prefix(at + 1);
  if (authority.empty()) return absl::InvalidArgumentError(cat("URL has no host: '", url, "'"));
  std::string host = to_lower(authority);
  if ((out.scheme == "https" && host.ends_with(":443")) ||
      (out.scheme == "http" && host.ends_with(":80")))
    host.resize(host.rfind(':'));
  out.host = std::move(host);
  std::string_view path_query =
      path_start == std::string_view::npos ? std::string_view{} : rest.substr(path_start);
  const size_t q = path_query.find('?');
  out.path = std::string(path_query.substr(0, q));
  // assign(1, '/'), not = "/": g++ 12 warns falsely (-Wrestrict) on the latter here.
  if (out.path.empty()) out.path.assign(1, '/');
  if (q != std::string_view::npos) out.query = std::string(path_query.substr(q + 1));
  return out;
}

HttpClient::HttpClient(HttpOptions options) : options_(options) { ensure_curl_global_init(); }

absl::StatusOr<HttpResponse> HttpClient::send(const HttpRequest& request) {
  thread_local ThreadHandle handle;
  CURL* curl = handle.curl;
  if (!curl)
    return absl::UnavailableError(cat(request.method, " ", request.url, ": curl_easy_init failed"));
  // Reset clears the options but keeps the connection cache.
  curl_easy_reset(curl);

  HttpResponse response;
  char errbuf[CURL_ERROR_SIZE] = {0};
  auto total = request.timeout.count() > 0 ? request.timeout : options_.request_timeout;
  auto connect = std::min(options_.connect_timeout, total);

  curl_easy_setopt(curl, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);  // threads: no SIGALRM for DNS timeouts
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(connect.count()));
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(total.count()));
  curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);  // a redirect would need re-signing
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, &write_body);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &response.body);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, &write_header);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &response);
  curl_easy_setopt(curl, CURLOPT_ACCEPT_ENCODING, "");  // whatever curl can decode

  const std::string method = to_upper(request.method);
  if (method == "GET") {
    curl_easy_setopt(curl, CURLOPT_HTTPGET, 1L);
  } else if (method == "HEAD") {
    curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
  } else {
    // POST-style body for every other method, so PUT/DELETE with a body (or
    // an empty one, sent with Content-Length: 0) need no read callback.
    if (method != "POST") curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method.c_str());
    if (method == "POST" || method == "PUT" || method == "PATCH" || !request.body.empty()) {
      curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE,
                       static_cast<curl_off_t>(request.body.size()));
      curl_easy_setopt(curl, CURLOPT_POSTFIELDS, request.body.c_str());
    }
  }

  HeaderList headers;
  bool has_content_type = false;
  for (const auto& [name, value] : request.headers) {
    if (to_lower(name) == "content-type") has_content_type = true;
    // "Name;" is curl's way to send a header with an empty value.
    headers.add(value.empty() ? cat(name, ";") : cat(name, ": ", value));
  }
  // An empty "Expect:" stops curl from waiting for "100 Continue" before a
  // large PUT body; an empty "Content-Type:" stops it from labelling every
  // body as a form (S3 would store that as the object's type).
  headers.add("Expect:");
  if (!has_content_type) headers.add("Content-Type:");
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers.list);

  const CURLcode rc = curl_easy_perform(curl);
  if (rc != CURLE_OK) {
    const std::string_view detail = errbuf[0] ? std::string_view(errbuf) : curl_easy_strerror(rc);
    return absl::UnavailableError(cat(method, " ", request.url, ": ", trim(detail)));
  }
  long status = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  response.status = static_cast<int>(status);
  return response;
}

}  // namespace pd::aws
