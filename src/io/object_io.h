// The ObjectIO seam: where dialing lists come from and results go to. A
// location is a local path or s3://bucket/key. Local files are written to a
// temporary name and renamed on commit, so a reader never sees half a file
// and a failed export leaves the previous file in place.
// Thread-safety: objects are used by one thread.
#pragma once

#include <istream>
#include <memory>
#include <ostream>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace pd {

class OutputObject {
 public:
  virtual ~OutputObject() = default;
  virtual std::ostream& stream() = 0;
  // Makes the object visible at its location. Without commit(), nothing is.
  virtual absl::Status commit() = 0;
};

bool is_s3_location(std::string_view location);

// Opens `location` for reading; the error names the location.
absl::StatusOr<std::unique_ptr<std::istream>> open_input(const std::string& location);
absl::StatusOr<std::unique_ptr<OutputObject>> open_output(const std::string& location);

}  // namespace pd
