// GET /log: the live transaction log as a chunked stream of lines (text or JSON), filtered on
// the server by the query (proxy/transaction_filter.h). The stream lives as long as the client's
// connection: when it goes, the watcher leaves and the workers stop writing records.
#include "admin_observe.h"

namespace lacquer::admin {

AdminAnswer answer_log(const http::RequestHead& request, std::string_view query,
                       const ObservationControl& observe) {
    AdminAnswer a;
    if (!request.is_get()) {
        a.status = 405;
        a.body = "405 Method Not Allowed: /log is GET\n";
        return a;
    }
    if (!observe.watch_log) {
        a.status = 404;
        a.body = "404 Not Found: no transaction log here\n";
        return a;
    }
    std::string error;
    a.stream = observe.watch_log(query, error);
    if (!a.stream) {
        a.status = 400;
        a.body = "400 Bad Request: " + error + "\n";
        return a;
    }
    const bool json = query.find("format=json") != std::string_view::npos;
    a.content_type = json ? "application/x-ndjson" : "text/plain; charset=utf-8";
    return a;
}

} // namespace lacquer::admin
