#pragma once
// The fleet file of `lacquerctl --fleet FILE`: the admin listeners of every lacquerd node, one
// per line, each with an optional token file:
//
//   # comment lines and blank lines are skipped; '#' after white space starts a comment
//   ADMIN_ADDRESS [TOKEN_FILE]
//   10.0.0.11:9190 /etc/lacquer/admin.token
//   [fd00::12]:9190 tokens/node2.token      # relative to the fleet file's directory
//   10.0.0.13:9190                          # no token file: --token-file, else none
//
// A plain line format rather than YAML: one node per line is what `grep`, `sed` and config
// management generate, and an error can name the line and column without a YAML parser in
// lacquerctl. Parsing is pure (no I/O) so the fuzz target and the unit tests can drive it;
// load_fleet_file() reads the file and the token files.

#include "ctl/admin_client.h"

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace lacquer::ctl {

struct FleetNode {
    Endpoint endpoint;
    std::string token_file; // as written, made absolute against the fleet file's directory
    std::string token;      // filled by load_fleet_file (empty: no Authorization header)
    std::size_t line = 0;   // 1-based, for messages
    std::size_t token_column = 0;
};

struct FleetParse {
    std::vector<FleetNode> nodes;
    std::vector<std::string> errors; // "FILE:LINE:COL: message", in file order
};

// At most this many errors are listed (the rest are counted in the last one).
inline constexpr std::size_t kMaxFleetErrors = 20;
// A fleet larger than this is refused: lacquerctl opens one connection per node at once.
inline constexpr std::size_t kMaxFleetNodes = 4096;

// `file_name` is used in messages; `base_dir` (may be empty) anchors relative token paths.
FleetParse parse_fleet(std::string_view text, std::string_view file_name,
                       std::string_view base_dir);

// Reads and parses `path`, then each node's token file (its own, else `default_token_file`
// when not empty). Errors name the fleet file's line for a token file that cannot be used.
FleetParse load_fleet_file(const std::string& path, const std::string& default_token_file);

} // namespace lacquer::ctl
