// The example dialing list bundled into the binary for `powerdialer demo`.
#pragma once

namespace pd::cli {

const char* demo_list_csv();

}  // namespace pd::cli
