#pragma once
// GET /log (the live transaction log, streamed) and GET /debug/object (what the cache holds for
// one URL): the admin API's side of ObservationControl. The token was checked by the caller.

#include "lacquer/admin/admin_server.h"

#include <optional>
#include <string>
#include <string_view>

namespace lacquer::admin {

// `query` as sent (the filter decodes it).
AdminAnswer answer_log(const http::RequestHead& request, std::string_view query,
                       const ObservationControl& observe);
// `url` and `host` percent-decoded (nullopt: absent or badly encoded).
AdminAnswer answer_debug_object(const http::RequestHead& request,
                                const std::optional<std::string>& url,
                                const std::optional<std::string>& host, bool json,
                                const ObservationControl& observe);

} // namespace lacquer::admin
