#pragma once
// What the operator sees of the origin pools and changes at runtime (`lacquerctl origins`,
// `lacquerctl origin drain|disable|enable POOL SERVER`, the admin API's /origins and /origin/*):
// every server's state, in-flight exchanges, open connections, recent error ratio and last
// probe; and the operator's mode. Any thread: it reads and writes only the shared health.

#include "lacquer/origin/origin_pool.h"

#include <span>
#include <string>
#include <string_view>

namespace lacquer::origin {

// A table for people (one line per server) and the same as JSON.
std::string origins_text(std::span<const OriginPoolSpec> pools, core::Instant now);
std::string origins_json(std::span<const OriginPoolSpec> pools, core::Instant now);

// `action`: "drain" | "disable" | "enable". Returns the HTTP status for the admin API (200, 400
// for an unknown action, 404 for an unknown pool or server) and a one-line message.
int set_server_mode(std::span<const OriginPoolSpec> pools, std::string_view pool,
                    std::string_view server, std::string_view action, core::Instant now,
                    std::string& message);

} // namespace lacquer::origin
