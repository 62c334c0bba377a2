#include "aws/shared_config.h"

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "core/strings.h"

namespace pd::aws {

// The format is a handful of rules (sections, key = value, comments), so a
// small parser here beats a dependency; Debian packages no INI library that
// also knows the AWS "[profile x]" and indented sub-setting conventions.
IniSections parse_ini(std::string_view text, bool config_style) {
  IniSections out;
  std::map<std::string, std::string>* section = nullptr;
  std::string last_key;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t eol = text.find('\n', pos);
    if (eol == std::string_view::npos) eol = text.size();
    std::string_view raw = text.substr(pos, eol - pos);
    pos = eol + 1;
    if (!raw.empty() && raw.back() == '\r') raw.remove_suffix(1);
    std::string_view line = trim(raw);
    if (line.empty() || line.front() == '#' || line.front() == ';') continue;
    if (line.front() == '[') {
      last_key.clear();
      const size_t close = line.find(']');
      if (close == std::string_view::npos) {
        section = nullptr;
        continue;
      }
      std::string name(trim(line.substr(1, close - 1)));
      if (config_style && name.rfind("profile", 0) == 0 && name.size() > 7 &&
          std::isspace(static_cast<unsigned char>(name[7])))
        name = std::string(trim(std::string_view(name).substr(8)));
      section = &out[name];
      continue;
    }
    if (!section) continue;
    if (std::isspace(static_cast<unsigned char>(raw.front())) && !last_key.empty()) {
      (*section)[last_key] += cat("\n", line);
      continue;
    }
    const size_t eq = line.find('=');
    if (eq == std::string_view::npos) continue;
    last_key = to_lower(trim(line.substr(0, eq)));
    (*section)[last_key] = std::string(trim(line.substr(eq + 1)));
  }
  return out;
}

std::optional<std::string> env_var(const char* name) {
  const char* v = std::getenv(name);
  if (!v || !*v) return std::nullopt;
  return std::string(v);
}

SharedConfigPaths shared_config_paths() {
  SharedConfigPaths p;
  const std::string home = env_var("HOME").value_or("");
  p.credentials_file = env_var("AWS_SHARED_CREDENTIALS_FILE").value_or(home + "/.aws/credentials");
  p.config_file = env_var("AWS_CONFIG_FILE").value_or(home + "/.aws/config");
  if (auto prof = env_var("AWS_PROFILE")) {
    p.profile = *prof;
    p.profile_from_env = true;
  } else if (auto dprof = env_var("AWS_DEFAULT_PROFILE")) {
    p.profile = *dprof;
    p.profile_from_env = true;
  } else {
    p.profile = "default";
  }
  return p;
}

namespace {
std::optional<std::string> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}
}  // namespace

Profile load_profile(const SharedConfigPaths& paths) {
  Profile out;
  // The config file first, so the credentials file's keys overwrite its.
  for (const auto& [path, config_style] :
       {std::pair{paths.config_file, true}, std::pair{paths.credentials_file, false}}) {
    const auto text = read_file(path);
    if (!text) continue;
    const IniSections sections = parse_ini(*text, config_style);
    auto it = sections.find(paths.profile);
    if (it == sections.end()) continue;
    for (const auto& [k, v] : it->second) out.values[k] = v;
    out.found_in = out.found_in.empty() ? path : cat(out.found_in, " and ", path);
  }
  return out;
}

}  // namespace pd::aws
