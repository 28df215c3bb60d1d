// POST /reload and GET /config (admin/config_control.h).
#include "bearer.h"
#include "lacquer/admin/admin_server.h"
#include "lacquer/admin/config_control.h"

namespace lacquer::admin {

namespace {

AdminAnswer reply(int status, std::string body) {
    AdminAnswer a;
    a.status = status;
    a.body = std::move(body);
    return a;
}

} // namespace

std::optional<AdminAnswer> answer_config_api(const http::RequestHead& request,
                                             std::string_view path, const AdminState& state) {
    if (path != "/reload" && path != "/config") {
        return std::nullopt;
    }
    if (!state.token.empty()) {
        const http::Header* auth = request.headers.find("Authorization");
        if (auth == nullptr || !bearer_matches(auth->value, state.token)) {
            return reply(401, "401 Unauthorized: Authorization: Bearer <admin token>\n");
        }
    }
    if (path == "/config") {
        if (!request.is_get() && !request.is_head()) {
            return reply(405, "405 Method Not Allowed: /config is GET\n");
        }
        if (!state.config.effective) {
            return reply(404, "404 Not Found: no config here\n");
        }
        AdminAnswer a = reply(200, state.config.effective());
        a.content_type = "application/yaml; charset=utf-8";
        return a;
    }
    if (request.method != "POST") {
        return reply(405, "405 Method Not Allowed: /reload is POST\n");
    }
    if (!state.config.reload) {
        return reply(404, "404 Not Found: this lacquerd has no config file to reload\n");
    }
    const ReloadReply r = state.config.reload();
    return reply(r.applied ? 200 : 422, r.text + "\n");
}

} // namespace lacquer::admin
