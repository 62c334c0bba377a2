// The AWS shared config files (~/.aws/credentials and ~/.aws/config), as the
// AWS CLI and SDKs read them: which files (AWS_SHARED_CREDENTIALS_FILE,
// AWS_CONFIG_FILE), which profile (AWS_PROFILE, else "default"), and the
// profile's keys. Used by the credentials chain and resolve_region().
// Thread-safety: plain functions; they read the environment and the files on
// each call.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace pd::aws {

// section name -> key -> value. Keys are lower-cased; a config file's
// "[profile x]" is stored as "x" (its "[default]" as "default").
using IniSections = std::map<std::string, std::map<std::string, std::string>>;

// Parses INI text as the AWS CLI writes it: "[section]", "key = value",
// '#' / ';' comment lines. Indented lines continue the previous key's value
// (nested settings such as "s3 =\n  max_concurrent_requests = 10"); they are
// kept but not interpreted. `config_style` maps "[profile x]" to "x".
IniSections parse_ini(std::string_view text, bool config_style);

struct SharedConfigPaths {
  std::string credentials_file;   // AWS_SHARED_CREDENTIALS_FILE or ~/.aws/credentials
  std::string config_file;        // AWS_CONFIG_FILE or ~/.aws/config
  std::string profile;            // AWS_PROFILE, AWS_DEFAULT_PROFILE, or "default"
  bool profile_from_env = false;  // the profile was named explicitly
};
SharedConfigPaths shared_config_paths();

// One profile's settings merged from both files (the credentials file wins),
// and which file(s) the profile was found in ("" when in neither).
struct Profile {
  std::map<std::string, std::string> values;
  std::string found_in;
  std::string get(const std::string& key) const {
    auto it = values.find(key);
    return it == values.end() ? std::string() : it->second;
  }
};
Profile load_profile(const SharedConfigPaths& paths);

// The value of environment variable `name`, or nullopt when unset or empty.
std::optional<std::string> env_var(const char* name);

}  // namespace pd::aws
