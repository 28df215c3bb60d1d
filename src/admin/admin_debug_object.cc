// GET /debug/object?url=/path?query[&host=H][&format=text]: what the cache holds for one URL
// (its route, its key, every stored variant), as the server's ObservationControl::inspect says.
#include "admin_observe.h"

namespace lacquer::admin {

AdminAnswer answer_debug_object(const http::RequestHead& request,
                                const std::optional<std::string>& url,
                                const std::optional<std::string>& host, bool json,
                                const ObservationControl& observe) {
    AdminAnswer a;
    if (!request.is_get() && !request.is_head()) {
        a.status = 405;
        a.body = "405 Method Not Allowed: /debug/object is GET\n";
        return a;
    }
    if (!observe.inspect) {
        a.status = 404;
        a.body = "404 Not Found: no cache inspection here\n";
        return a;
    }
    if (!url || url->empty() || url->front() != '/') {
        a.status = 400;
        a.body = "400 Bad Request: url=/path?query (percent-encoded) is required\n";
        return a;
    }
    return observe.inspect(*url, host.value_or(""), json);
}

} // namespace lacquer::admin
