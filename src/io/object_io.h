// The ObjectIO seam: where dialing lists come from and results go to. A
// location is a local path or s3://bucket/key. Local files are written to a
// temporary name and renamed on commit, so a reader never sees half a file
// and a failed export leaves the previous file in place. S3 objects are
// streamed with bounded memory (io/s3_object.h): read in 8 MiB ranges,
// written as an 8 MiB multipart upload that only appears on commit.
// Thread-safety: objects are used by one thread.
#pragma once

#include <istream>
#include <memory>
#include <ostream>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "core/config_keys.h"

namespace pd::aws {
class CredentialsProvider;
}

namespace pd {

// How s3:// locations are reached, and where local paths may be.
struct ObjectIoOptions {
  std::string region;       // empty: AWS_REGION, AWS_DEFAULT_REGION, the AWS config file
  std::string s3_endpoint;  // empty: AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL, then AWS's
  std::shared_ptr<aws::CredentialsProvider> credentials;  // null: the default chain
  // Non-empty (serve): local paths must lie in this canonical folder
  // (io/files_folder.h), relative ones are taken inside it, and files are
  // opened without following symbolic links. Empty (the CLI): any path.
  std::string files_folder;
};

class OutputObject {
 public:
  virtual ~OutputObject() = default;
  virtual std::ostream& stream() = 0;
  // Makes the object visible at its location. Without commit(), nothing is.
  virtual absl::Status commit() = 0;
};

// How a campaign reaches s3:// locations: its `region` and `s3-endpoint`
// (unset: the AWS environment and config files decide).
ObjectIoOptions object_io_options(const CampaignConfig& config);

bool is_s3_location(std::string_view location);

// Opens `location` for reading; the error names the location (and, for S3,
// AWS's error: "s3://b/k: NoSuchKey: The specified key does not exist.").
// A read that fails midway leaves the stream bad(), not at a clean end.
absl::StatusOr<std::unique_ptr<std::istream>> open_input(const std::string& location,
                                                         const ObjectIoOptions& options = {});
absl::StatusOr<std::unique_ptr<OutputObject>> open_output(const std::string& location,
                                                          const ObjectIoOptions& options = {});

}  // namespace pd
