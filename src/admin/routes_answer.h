#pragma once
// GET /routes[?format=text]: each route's last request and its request counts over the last
// hour, day and week (metrics/route_usage.h), for deciding which endpoints have gone quiet.
// JSON by default; `format=text` is the table lacquerctl routes prints.

#include "lacquer/admin/admin_answer.h"
#include "lacquer/admin/admin_server.h"
#include "lacquer/metrics/route_usage.h"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace lacquer::admin {

// The Unix time the admin answers use: the workers' clock, else the system's.
std::int64_t unix_now(const AdminState& state);

AdminAnswer answer_routes(const http::RequestHead& request, std::string_view query,
                          const AdminState& state);

// The two shapes of the answer (pure; unit-tested).
std::string routes_json(const std::vector<metrics::RouteUsage>& usage, std::int64_t unix_now);
std::string routes_text(const std::vector<metrics::RouteUsage>& usage, std::int64_t unix_now);

} // namespace lacquer::admin
