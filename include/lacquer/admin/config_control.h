#pragma once
// The admin API's config requests (CONFIG.md "Admin API"), implemented by the server:
//   POST /reload  loads lacquerd's config file again, as SIGHUP does, and answers the outcome:
//                 200 "applied generation N\n" or 422 "refused: FILE:LINE:COL: message\n"
//   GET /config   the effective running config as YAML (config/write_config.h)
// Both need the bearer token when admin.token_file is set.

#include "lacquer/admin/admin_answer.h"

#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace lacquer::admin {

struct ReloadReply {
    bool applied = false;
    std::string text; // "applied generation N" or "refused: FILE:LINE:COL: message"
};

struct ConfigControl {
    std::function<ReloadReply()> reload; // blocks until the reload is applied or refused
    std::function<std::string()> effective;
};

// The answer to /reload or /config; nullopt for any other path (admin::answer() goes on).
std::optional<AdminAnswer> answer_config_api(const http::RequestHead& request,
                                             std::string_view path, const AdminState& state);

} // namespace lacquer::admin
