#include "server/http_request_check.h"

#include <algorithm>
#include <cctype>

#include "core/strings.h"
#include "server/web_assets.h"

namespace pd {
namespace {

namespace http = boost::beast::http;

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool all_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

bool is_ipv4(std::string_view s) {
  int parts = 0;
  size_t start = 0;
  while (true) {
    const size_t dot = s.find('.', start);
    const std::string_view part =
        s.substr(start, dot == std::string_view::npos ? dot : dot - start);
    if (!all_digits(part) || part.size() > 3 || std::stoi(std::string(part)) > 255) return false;
    ++parts;
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  return parts == 4;
}

bool is_ipv6_body(std::string_view s) {
  if (s.empty() || s.size() > 45) return false;
  return std::all_of(s.begin(), s.end(),
                     [](char c) {
                       return std::isxdigit(static_cast<unsigned char>(c)) || c == ':' || c == '.';
                     }) &&
         s.find(':') != std::string_view::npos;
}

bool is_name_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-';
}

HeadVerdict refuse(int status, std::string message, bool close = false) {
  HeadVerdict v;
  v.status = status;
  v.message = std::move(message);
  v.close = close;
  return v;
}

HeadVerdict not_allowed(std::string allow) {
  HeadVerdict v = refuse(405, cat("method not allowed; this path takes ", allow));
  v.allow = std::move(allow);
  return v;
}

// The media type without parameters, lower case, trimmed.
std::string media_type(std::string_view content_type) {
  const size_t semi = content_type.find(';');
  return lower(trim(content_type.substr(0, semi)));
}

}  // namespace

int status_for_parse_error(const boost::system::error_code& ec) {
  if (ec == http::error::header_limit) return 431;
  if (ec == http::error::body_limit) return 413;
  return 400;
}

std::string message_for_parse_error(const boost::system::error_code& ec) {
  if (ec == http::error::header_limit) return "request header fields too large";
  if (ec == http::error::body_limit) return "request body too large";
  if (ec == http::error::bad_content_length) {
    return "bad Content-Length: one decimal length, given once, and not beside "
           "Transfer-Encoding";
  }
  if (ec == http::error::bad_transfer_encoding) {
    return "bad Transfer-Encoding: 'chunked', given once, and not beside Content-Length";
  }
  return cat("malformed HTTP request (", ec.message(), ")");
}

std::string framing_error(const http::request_header<>& head) {
  std::optional<std::string_view> length;
  int transfer_encodings = 0;
  for (const auto& field : head) {
    if (field.name() == http::field::content_length) {
      const std::string_view v = trim(std::string_view(field.value().data(), field.value().size()));
      // Beast accepts "5, 5" as one length; we accept one plain number,
      // below 2^63 (so 2^64-1 is a 400, not a body awaited for ever).
      if (!all_digits(v) || v.size() > 19 || (v.size() == 19 && v > "9223372036854775807")) {
        return "bad Content-Length: expected one decimal length";
      }
      if (length && *length != v) return "two different Content-Length headers";
      length = v;
    } else if (field.name() == http::field::transfer_encoding) {
      ++transfer_encodings;
      const std::string_view v = trim(std::string_view(field.value().data(), field.value().size()));
      if (lower(v) != "chunked") return "unsupported Transfer-Encoding: only 'chunked' is accepted";
    }
  }
  if (transfer_encodings > 1) return "Transfer-Encoding given more than once";
  if (length && transfer_encodings > 0) {
    return "both Content-Length and Transfer-Encoding: refused (request smuggling)";
  }
  return "";
}

bool host_allowed(std::string_view host, const std::vector<std::string>& allowed) {
  host = trim(host);
  if (host.empty()) return false;
  std::string_view name = host;
  if (host.front() == '[') {
    const size_t close = host.find(']');
    if (close == std::string_view::npos) return false;
    const std::string_view rest = host.substr(close + 1);
    if (!rest.empty() && !(rest.front() == ':' && all_digits(rest.substr(1)))) return false;
    return is_ipv6_body(host.substr(1, close - 1));
  }
  if (const size_t colon = host.rfind(':'); colon != std::string_view::npos) {
    if (!all_digits(host.substr(colon + 1)) || host.substr(colon + 1).size() > 5) return false;
    name = host.substr(0, colon);
  }
  if (name.empty() || !std::all_of(name.begin(), name.end(), is_name_char)) return false;
  if (is_ipv4(name)) return true;
  std::string n = lower(name);
  if (n.size() > 1 && n.back() == '.') n.pop_back();
  if (n == "localhost") return true;
  return std::any_of(allowed.begin(), allowed.end(), [&](const std::string& a) {
    std::string want = lower(a);
    if (want.size() > 1 && want.back() == '.') want.pop_back();
    return want == n;
  });
}

// A path segment with its %XX escapes decoded ('+' stays '+': it is a
// phone number's); nullopt for a malformed escape.
static std::optional<std::string> percent_decoded(std::string_view raw) {
  std::string out;
  for (size_t i = 0; i < raw.size(); ++i) {
    if (raw[i] != '%') {
      out += raw[i];
      continue;
    }
    if (i + 2 >= raw.size()) return std::nullopt;
    const auto hex = [](char c) -> int {
      if (c >= '0' && c <= '9') return c - '0';
      if (c >= 'a' && c <= 'f') return c - 'a' + 10;
      if (c >= 'A' && c <= 'F') return c - 'A' + 10;
      return -1;
    };
    const int hi = hex(raw[i + 1]), lo = hex(raw[i + 2]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out += static_cast<char>(hi * 16 + lo);
    i += 2;
  }
  return out;
}

HeadVerdict match_route(http::verb method, std::string_view path, const HeadPolicy& policy) {
  auto one = [&](http::verb want, Route route, std::string_view allow) {
    if (method != want) return not_allowed(std::string(allow));
    HeadVerdict v;
    v.route = route;
    return v;
  };
  HeadVerdict v;
  if (path == "/healthz") return one(http::verb::get, Route::kHealthz, "GET");
  if (path == "/metrics") {
    v = one(http::verb::get, Route::kMetrics, "GET");
    v.needs_token = policy.metrics_need_token;
    return v;
  }
  const bool api = path == "/api" || path.substr(0, 5) == "/api/";
  if (!api) {
    if (find_web_asset(path) == nullptr) return refuse(404, "not found");
    return one(http::verb::get, Route::kAsset, "GET");
  }
  if (path == "/api/events") {
    v = one(http::verb::get, Route::kEvents, "GET");
  } else if (path == "/api/campaigns") {
    if (method == http::verb::get) {
      v.route = Route::kListCampaigns;
    } else if (method == http::verb::post) {
      v.route = Route::kCreateCampaign;
    } else {
      v = not_allowed("GET, POST");
    }
  } else if (path == "/api/dnc") {
    if (method == http::verb::get) {
      v.route = Route::kDncList;
    } else if (method == http::verb::post) {
      v.route = Route::kDncAdd;
    } else {
      v = not_allowed("GET, POST");
    }
  } else if (path == "/api/nodes") {
    v = one(http::verb::get, Route::kNodes, "GET");
  } else if (path == "/api/node/drain") {
    v = one(http::verb::post, Route::kDrainNode, "POST");
  } else if (path == "/api/dnc/load") {
    v = one(http::verb::post, Route::kDncLoad, "POST");
  } else if (constexpr std::string_view dnc = "/api/dnc/"; path.substr(0, dnc.size()) == dnc) {
    std::optional<std::string> number = percent_decoded(path.substr(dnc.size()));
    if (!number || number->empty() || number->find('/') != std::string::npos) {
      v = refuse(404, "not found");
    } else if (method == http::verb::get) {
      v.route = Route::kDncCheck;
    } else if (method == http::verb::delete_) {
      v.route = Route::kDncRemove;
    } else {
      v = not_allowed("GET, DELETE");
    }
    if (v.status == 0) v.number = std::move(*number);
  } else if (constexpr std::string_view prefix = "/api/campaigns/";
             path.substr(0, prefix.size()) == prefix) {
    const std::string_view rest = path.substr(prefix.size());
    const size_t slash = rest.find('/');
    const std::string_view name = rest.substr(0, slash);
    const std::string_view action =
        slash == std::string_view::npos ? std::string_view() : rest.substr(slash + 1);
    if (name.empty() || !std::all_of(name.begin(), name.end(), is_name_char)) {
      v = refuse(404, "not found");
    } else if (slash == std::string_view::npos) {
      v = one(http::verb::get, Route::kCampaign, "GET");
    } else if (action == "config") {
      if (method == http::verb::get) {
        v.route = Route::kGetConfig;
      } else if (method == http::verb::patch) {
        v.route = Route::kPatchConfig;
      } else {
        v = not_allowed("GET, PATCH");
      }
    } else if (action == "list") {
      v = one(http::verb::put, Route::kPutList, "PUT");
    } else if (action == "start") {
      v = one(http::verb::post, Route::kStart, "POST");
    } else if (action == "stop") {
      v = one(http::verb::post, Route::kStop, "POST");
    } else if (action == "rejects") {
      v = one(http::verb::get, Route::kRejects, "GET");
    } else if (action == "results") {
      v = one(http::verb::get, Route::kResults, "GET");
    } else if (constexpr std::string_view attempts = "attempts/";
               action.substr(0, attempts.size()) == attempts &&
               action.size() > attempts.size() + 12 &&
               action.substr(action.size() - 12) == "/disposition") {
      // attempts/ID/disposition: ID is the attempt's id (digits) or the
      // contact id of its call (what an agent's desktop knows).
      const std::string_view id =
          action.substr(attempts.size(), action.size() - attempts.size() - 12);
      const bool ok = id.size() <= 128 && std::all_of(id.begin(), id.end(), [](char c) {
                        return std::isalnum(static_cast<unsigned char>(c)) || c == '-' ||
                               c == '_' || c == '.';
                      });
      if (!ok) {
        v = refuse(404, "not found");
      } else {
        v = one(http::verb::post, Route::kDisposition, "POST");
        v.attempt = std::string(id);
      }
    } else if (action == "compliance") {
      v = one(http::verb::get, Route::kCompliance, "GET");
    } else {
      v = refuse(404, "not found");
    }
    if (v.status == 0) v.campaign = std::string(name);
  } else {
    v = refuse(404, "not found");
  }
  v.needs_token = true;
  return v;
}

HeadVerdict check_request_head(const http::request_header<>& head, const HeadPolicy& policy) {
  if (std::string why = framing_error(head); !why.empty()) return refuse(400, why, true);
  const auto host = head.find(http::field::host);
  if (host == head.end()) {
    // HTTP/1.0 clients may leave Host out; browsers (the rebinding risk)
    // never do.
    if (head.version() >= 11) return refuse(400, "missing Host header", true);
  } else if (!host_allowed(std::string_view(host->value().data(), host->value().size()),
                           policy.allowed_hosts)) {
    return refuse(
        421,
        cat("this server does not answer for Host '",
            std::string_view(host->value().data(), std::min<size_t>(host->value().size(), 100)),
            "': use its IP address or localhost, or start serve with --allowed-host NAME"),
        true);
  }
  const std::string_view target(head.target().data(), head.target().size());
  if (target.empty() || target.front() != '/') {
    return refuse(400, "request target must be a path starting with '/'", true);
  }
  return match_route(head.method(), target.substr(0, target.find('?')), policy);
}

bool has_body(const http::request_header<>& head) {
  for (const auto& field : head) {
    const std::string_view v = trim(std::string_view(field.value().data(), field.value().size()));
    if (field.name() == http::field::content_length && v != "0") return true;
    if (field.name() == http::field::transfer_encoding) return true;
  }
  return false;
}

std::string unsupported_media_type(Route route, std::string_view content_type) {
  const std::string type = media_type(content_type);
  if (route == Route::kPutList || route == Route::kDncLoad) {
    if (route == Route::kDncLoad && type == "application/json") return "";
    if (type.empty() || type == "text/csv" || type == "text/plain" ||
        type == "application/octet-stream" || type == "multipart/form-data") {
      return "";
    }
    return cat("unsupported Content-Type '", content_type.substr(0, 100),
               "' for a list: send text/csv, text/plain, application/octet-stream or "
               "multipart/form-data (the file in field 'file')");
  }
  // curl -d sends its JSON as application/x-www-form-urlencoded; taking it
  // keeps `curl -d '{...}'` working and opens nothing (the body must still
  // be JSON, and no cross-site form can send the bearer token).
  if (type.empty() || type == "application/json" || type == "application/x-www-form-urlencoded") {
    return "";
  }
  return cat("unsupported Content-Type '", content_type.substr(0, 100),
             "': this route takes application/json");
}

std::optional<std::string> multipart_boundary(std::string_view content_type) {
  if (media_type(content_type) != "multipart/form-data") return std::nullopt;
  std::string_view rest = content_type.substr(content_type.find(';') == std::string_view::npos
                                                  ? content_type.size()
                                                  : content_type.find(';'));
  while (!rest.empty()) {
    rest.remove_prefix(1);  // ';'
    const size_t next = rest.find(';');
    std::string_view param = trim(rest.substr(0, next));
    rest = next == std::string_view::npos ? std::string_view() : rest.substr(next);
    const size_t eq = param.find('=');
    if (eq == std::string_view::npos || lower(trim(param.substr(0, eq))) != "boundary") continue;
    std::string_view value = trim(param.substr(eq + 1));
    if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
      value = value.substr(1, value.size() - 2);
    }
    // RFC 2046: 1 to 70 characters.
    if (value.empty() || value.size() > 70) return std::string();
    return std::string(value);
  }
  return std::string();
}

std::string query_param(std::string_view target, std::string_view key) {
  const size_t q = target.find('?');
  if (q == std::string_view::npos) return "";
  std::string_view query = target.substr(q + 1);
  while (!query.empty()) {
    const size_t amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    const size_t eq = pair.find('=');
    if (pair.substr(0, eq) != key) continue;
    const std::string_view raw = eq == std::string_view::npos ? "" : pair.substr(eq + 1);
    std::string out;
    for (size_t i = 0; i < raw.size(); ++i) {
      if (raw[i] == '+') {
        out += ' ';
      } else if (raw[i] == '%' && i + 2 < raw.size() &&
                 std::isxdigit(static_cast<unsigned char>(raw[i + 1])) &&
                 std::isxdigit(static_cast<unsigned char>(raw[i + 2]))) {
        out += static_cast<char>(std::stoi(std::string(raw.substr(i + 1, 2)), nullptr, 16));
        i += 2;
      } else {
        out += raw[i];
      }
    }
    return out;
  }
  return "";
}

}  // namespace pd
