#pragma once
// The admin API's whole decision for one request, with no socket: the route, the method, the
// bearer token, the query parameters, and the one purge, ban or stats action it calls. The
// listener (AdminServer) parses a head, calls answer() and writes what it returns; the unit
// tests and the admin_request fuzzer call it directly.

#include "lacquer/http/head.h"

#include <memory>
#include <string>

namespace lacquer::admin {

struct AdminState;

// A streamed answer's source (GET /log): the listener calls pump() on its own thread every
// few milliseconds while the client takes what it sends, and drops the stream when the client
// goes (which is how a watcher leaves).
class AdminStream {
public:
    virtual ~AdminStream() = default;
    // Appends what is ready to `out`. False: nothing more will come (the answer ends).
    virtual bool pump(std::string& out) = 0;
};

struct AdminAnswer {
    int status = 200;
    std::string content_type = "text/plain; charset=utf-8";
    std::string body; // also for HEAD: the listener leaves it out
    // Set: the body is `body` then what the stream yields, sent chunked until it ends.
    std::shared_ptr<AdminStream> stream;
};

// Thread: any that may call `state`'s callbacks (the admin thread in the server). Calls at most
// one of state.cache's actions, and only once the request is authorised. Never throws on bad
// input: every mistake is a 4xx answer.
AdminAnswer answer(const http::RequestHead& request, const AdminState& state);

} // namespace lacquer::admin
