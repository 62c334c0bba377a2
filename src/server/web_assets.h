#pragma once

// The dashboard's static files (web/index.html, web/app.js, web/style.css),
// compiled into the binary so `powerdialer serve` works offline. The .cc is
// generated at build time by CMake from web/* (see CMakeLists.txt).

#include <string_view>

namespace pd {

struct WebAsset {
  std::string_view content_type;  // e.g. "text/html; charset=utf-8"
  std::string_view body;
};

// "/" and "/index.html" -> index.html; "/app.js"; "/style.css".
// Returns nullptr for any other path (the query string must be stripped
// by the caller). The returned pointer refers to static storage.
const WebAsset* find_web_asset(std::string_view path);

}  // namespace pd
