// How a worker's client sessions and cache fills end when the process stops: drained on the
// worker's thread (each connection closes after its request in flight), then, past
// limits.drain_timeout and after the thread has ended, cut: each request still in flight is
// logged, then deleted with its fills before the pools they borrow from.
#include "lacquer/net/worker.h"
#include "lacquer/proxy/cache_fill.h"
#include "lacquer/proxy/client_session.h"
#include "lacquer/proxy/request_fsm.h"

#include <chrono>
#include <cstdio>
#include <string>

namespace lacquer::proxy {

void drain_sessions(WorkerContext& context, bool serve_new) {
    context.draining = true;
    for (ClientSession* s = context.sessions; s != nullptr;) {
        ClientSession* next = s->next_session(); // drain() may unlink s
        s->drain(serve_new);
        s = next;
    }
}

void ClientSession::drain(bool serve_new) {
    last_request_ = true;
    if (request_.active()) {
        request_.last_on_connection();
        return;
    }
    if (serve_new && !answered_once_) {
        return; // its first request is on its way: answered, then the connection closes
    }
    if (state_ == State::ReadingHead && !parser_.started() && conn_->input_size() == 0) {
        close_now(); // idle keep-alive connection: nothing is lost
    }
}

void ClientSession::cut_at_shutdown() {
    if (!request_.active() && state_ == State::ReadingHead && parser_.started()) {
        // Part of a head had come: the request never started, it still gets its line.
        request_.log_refused(503, Termination::Shutdown);
        return;
    }
    request_.cut_at_shutdown();
}

void RequestFsm::cut_at_shutdown() {
    if (!active_) {
        return; // between two requests, or the answer is out and logged
    }
    const http::RequestHead& req = client_.head();
    const auto ran =
        std::chrono::duration_cast<std::chrono::milliseconds>(ctx_.worker.now() - request_start_);
    std::string line = "lacquerd: drain_timeout passed, request cut: ";
    line.append(req.method);
    line.push_back(' ');
    line.append(req.target);
    line.append(" from ");
    line.append(client_.peer_host());
    line.append(" after ");
    line.append(std::to_string(ran.count()));
    line.append(response_started_ ? " ms (answer started, not finished)\n"
                                  : " ms (no answer yet)\n");
    // One write: lines from several workers must not interleave (stderr is unbuffered).
    std::fwrite(line.data(), 1, line.size(), stderr);
    cancel(503, Termination::Shutdown); // the server gave up on it (499: the client did)
}

void close_all_sessions(WorkerContext& context) {
    while (context.sessions != nullptr) {
        ClientSession* session = context.sessions;
        session->cut_at_shutdown();
        delete session; // unlinks itself
    }
    while (context.fills != nullptr) {
        delete context.fills; // unlinks itself; its waiters learn it failed
    }
}

} // namespace lacquer::proxy
