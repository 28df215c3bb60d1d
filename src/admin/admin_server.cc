#include "lacquer/admin/admin_server.h"

#include "lacquer/http/head_parser.h"
#include "lacquer/http/serialize.h"
#include "lacquer/net/connection.h"
#include "lacquer/net/listener.h"
#include "lacquer/net/timer.h"
#include "lacquer/net/worker.h"

#include <atomic>
#include <stdexcept>
#include <thread>
#include <unistd.h>
#include <unordered_set>

namespace lacquer::admin {

namespace {

constexpr core::Millis kRequestTimeout{5000};

// One admin connection: read one head, answer, close after the answer has drained.
class AdminSession final : public net::Disposable, private net::ConnectionHandler {
public:
    // `live` holds the sessions not ended yet, for AdminServer::stop().
    static void start(net::Worker& worker, const AdminServer& server,
                      std::unordered_set<AdminSession*>& live, std::atomic<std::size_t>& count,
                      int fd, const sockaddr* peer) {
        auto* s = new AdminSession(worker, server, live, count);
        s->conn_ = net::Connection::adopt(worker, fd, peer, s);
        if (!s->conn_) {
            delete s;
            return;
        }
        live.insert(s);
        ++*s->count_;
        s->conn_->set_drain_mark(0);
        s->timer_.arm(kRequestTimeout);
    }

private:
    AdminSession(net::Worker& worker, const AdminServer& server,
                 std::unordered_set<AdminSession*>& live, std::atomic<std::size_t>& count)
        : worker_(worker), server_(server), live_(live), count_(&count),
          parser_(http::HeadKind::Request, http::HeadLimits{16 * 1024, 4 * 1024}),
          timer_(worker, &AdminSession::on_timer, this),
          pump_timer_(worker, &AdminSession::on_pump, this) {}

    void on_readable(net::Connection& conn) override {
        if (answered_) {
            conn.drain(conn.input_size());
            return;
        }
        while (conn.input_size() > 0 && !answered_) {
            const std::string_view bytes = conn.peek();
            const auto fed = parser_.feed(bytes.data(), bytes.size());
            conn.drain(fed.consumed);
            if (fed.status == http::HeadParser::Status::Error) {
                reply(http::head_error_status(parser_.error()), "text/plain; charset=utf-8",
                      "bad request\n");
            } else if (fed.status == http::HeadParser::Status::Complete) {
                const http::RequestHead& req = parser_.request();
                const AdminServer::Answer a = server_.answer(req);
                if (a.stream) {
                    start_stream(a);
                } else {
                    reply(a.status, a.content_type, req.is_head() ? std::string() : a.body);
                }
            }
        }
    }
    void on_drained(net::Connection& conn) override {
        if (answered_ && !stream_ && conn.output_size() == 0) {
            end();
        }
    }
    void on_event(net::Connection&, net::ConnEvent) override { end(); }
    static void on_timer(void* arg) { static_cast<AdminSession*>(arg)->end(); }

    void reply(int status, std::string_view type, const std::string& body) {
        answered_ = true;
        std::string out = "HTTP/1.1 ";
        out.append(std::to_string(status));
        out.push_back(' ');
        out.append(http::reason_phrase(status));
        out.append("\r\nContent-Type: ");
        out.append(type);
        out.append("\r\nContent-Length: ");
        out.append(std::to_string(body.size()));
        out.append("\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n");
        out.append(body);
        conn_->write(out);
    }
    // A streamed answer (GET /log): chunked, pumped every kPumpEvery while the client takes
    // it, until the stream ends or the client goes (on_event ends the session, dropping the
    // stream). The request timeout does not apply to it.
    // Often enough that a worker's ring (512 records) does not fill below ~100k requests/s.
    static constexpr core::Millis kPumpEvery{5};
    static constexpr std::size_t kMaxQueued = 256 * 1024;
    void start_stream(const AdminServer::Answer& a) {
        answered_ = true;
        stream_ = a.stream;
        timer_.cancel();
        std::string out = "HTTP/1.1 200 OK\r\nContent-Type: ";
        out.append(a.content_type);
        out.append("\r\nTransfer-Encoding: chunked\r\nCache-Control: no-store\r\n"
                   "Connection: close\r\n\r\n");
        conn_->write(out);
        pump_timer_.arm(core::Millis{0});
    }
    static void on_pump(void* arg) { static_cast<AdminSession*>(arg)->pump(); }
    void pump() {
        if (!stream_ || ended_) {
            return;
        }
        bool more = true;
        body_.clear();
        if (conn_->output_size() < kMaxQueued) { // a slow client: its watcher counts the drops
            more = stream_->pump(body_);
            if (!body_.empty()) {
                chunk_.clear();
                http::write_chunk_header(chunk_, body_.size());
                chunk_.append(body_);
                chunk_.append("\r\n");
                conn_->write(chunk_);
            }
        }
        if (!more) {
            stream_.reset(); // the watcher leaves now
            conn_->write("0\r\n\r\n");
            if (conn_->output_size() == 0) {
                end();
            }
            return;
        }
        pump_timer_.arm(kPumpEvery);
    }

    void end() {
        if (ended_) {
            return;
        }
        ended_ = true;
        timer_.cancel();
        pump_timer_.cancel();
        stream_.reset();
        conn_->set_reading(false);
        live_.erase(this);
        --*count_;
        worker_.dispose(std::unique_ptr<net::Disposable>(this));
    }

    net::Worker& worker_;
    const AdminServer& server_;
    std::unordered_set<AdminSession*>& live_;
    std::atomic<std::size_t>* count_; // live_'s size, for idle() on other threads
    std::unique_ptr<net::Connection> conn_;
    http::HeadParser parser_;
    net::Timer timer_;
    net::Timer pump_timer_;
    std::shared_ptr<AdminStream> stream_; // a streamed answer still running
    std::string body_;                    // what one pump brought
    std::string chunk_;                   // ... framed
    bool answered_ = false;
    bool ended_ = false;
};

} // namespace

struct AdminServer::Impl {
    net::Worker worker{0xad};
    std::unique_ptr<net::Listener> listener;
    std::unordered_set<AdminSession*> sessions; // live ones; the worker's thread only
    std::atomic<std::size_t> session_count{0};  // sessions.size(), for any thread
    std::atomic<std::thread::id> thread_id{};
    int fd = -1;
    bool started = false;
};

AdminServer::AdminServer(const net::SocketAddress& address, AdminState state)
    : address_(address), state_(std::move(state)), impl_(std::make_unique<Impl>()) {
    std::string error;
    // One socket, without SO_REUSEPORT: another process cannot join it and take scrapes.
    impl_->fd = net::open_listening_socket(address_, error, false);
    if (impl_->fd < 0) {
        throw std::runtime_error("cannot listen on " + address_.text() + " (admin): " + error);
    }
    address_.length = sizeof address_.storage;
    getsockname(impl_->fd, reinterpret_cast<sockaddr*>(&address_.storage), &address_.length);
}

AdminServer::~AdminServer() {
    stop();
    if (impl_->fd >= 0) {
        ::close(impl_->fd);
    }
}

void AdminServer::start() {
    const int fd = impl_->fd;
    impl_->fd = -1; // the listener owns it
    net::Worker& worker = impl_->worker;
    impl_->listener = std::make_unique<net::Listener>(
        worker, fd, [this, &worker](int client, const sockaddr* peer, std::size_t) {
            AdminSession::start(worker, *this, impl_->sessions, impl_->session_count, client, peer);
        });
    impl_->worker.start([this] { impl_->thread_id = std::this_thread::get_id(); });
    impl_->started = true;
}

void AdminServer::stop() {
    if (!impl_->started) {
        return;
    }
    impl_->started = false;
    impl_->worker.stop();
    impl_->worker.join();
    impl_->listener.reset();
    // The thread is gone: the connections still open end here, on the worker they belong to
    // (its event base outlives them).
    for (AdminSession* session : impl_->sessions) {
        delete session;
    }
    impl_->sessions.clear();
    impl_->session_count = 0;
    impl_->worker.destroy_disposed();
}

void AdminServer::stop_listening() {
    if (impl_->started) {
        impl_->worker.post([this] { impl_->listener.reset(); });
    }
}

bool AdminServer::idle() const {
    return impl_->session_count.load() == 0;
}

bool AdminServer::on_own_thread() const {
    return impl_->thread_id.load() == std::this_thread::get_id();
}

void AdminServer::set_token(std::string token) {
    if (!impl_->started) {
        state_.token = std::move(token);
        return;
    }
    impl_->worker.post([this, token = std::move(token)] { state_.token = token; });
}

void AdminServer::set_shards(std::vector<const metrics::Shard*> shards) {
    if (!impl_->started) {
        state_.shards = std::move(shards);
        return;
    }
    impl_->worker.post([this, shards = std::move(shards)] { state_.shards = shards; });
}

} // namespace lacquer::admin
