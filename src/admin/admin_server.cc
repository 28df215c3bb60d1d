#include "lacquer/admin/admin_server.h"

#include "lacquer/http/ascii.h"
#include "lacquer/http/head_parser.h"
#include "lacquer/http/serialize.h"
#include "lacquer/net/connection.h"
#include "lacquer/net/listener.h"
#include "lacquer/net/timer.h"
#include "lacquer/net/worker.h"

#include <stdexcept>
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
                      std::unordered_set<AdminSession*>& live, int fd, const sockaddr* peer) {
        auto* s = new AdminSession(worker, server, live);
        s->conn_ = net::Connection::adopt(worker, fd, peer, s);
        if (!s->conn_) {
            delete s;
            return;
        }
        live.insert(s);
        s->conn_->set_drain_mark(0);
        s->timer_.arm(kRequestTimeout);
    }

private:
    AdminSession(net::Worker& worker, const AdminServer& server,
                 std::unordered_set<AdminSession*>& live)
        : worker_(worker), server_(server), live_(live),
          parser_(http::HeadKind::Request, http::HeadLimits{16 * 1024, 4 * 1024}),
          timer_(worker, &AdminSession::on_timer, this) {}

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
                reply(a.status, a.content_type, req.is_head() ? std::string() : a.body);
            }
        }
    }
    void on_drained(net::Connection& conn) override {
        if (answered_ && conn.output_size() == 0) {
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
    void end() {
        if (ended_) {
            return;
        }
        ended_ = true;
        timer_.cancel();
        conn_->set_reading(false);
        live_.erase(this);
        worker_.dispose(std::unique_ptr<net::Disposable>(this));
    }

    net::Worker& worker_;
    const AdminServer& server_;
    std::unordered_set<AdminSession*>& live_;
    std::unique_ptr<net::Connection> conn_;
    http::HeadParser parser_;
    net::Timer timer_;
    bool answered_ = false;
    bool ended_ = false;
};

} // namespace

struct AdminServer::Impl {
    net::Worker worker{0xad};
    std::unique_ptr<net::Listener> listener;
    std::unordered_set<AdminSession*> sessions; // live ones; the worker's thread only
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
        worker, fd, [this, &worker](int client, const sockaddr* peer) {
            AdminSession::start(worker, *this, impl_->sessions, client, peer);
        });
    impl_->worker.start(nullptr);
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
    impl_->worker.destroy_disposed();
}

namespace {

// The value of query parameter `name` (percent-decoded); nullopt when absent or badly encoded.
std::optional<std::string> query_param(std::string_view query, std::string_view name) {
    while (!query.empty()) {
        const std::size_t amp = query.find('&');
        const std::string_view pair = query.substr(0, amp);
        query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
        const std::size_t eq = pair.find('=');
        if (pair.substr(0, eq) != name) {
            continue;
        }
        const std::string_view raw =
            eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1);
        std::string value;
        for (std::size_t i = 0; i < raw.size(); ++i) {
            if (raw[i] != '%') {
                value.push_back(raw[i] == '+' ? ' ' : raw[i]);
                continue;
            }
            const int hi = i + 2 < raw.size() ? http::hex_value(raw[i + 1]) : -1;
            const int lo = i + 2 < raw.size() ? http::hex_value(raw[i + 2]) : -1;
            if (hi < 0 || lo < 0) {
                return std::nullopt;
            }
            value.push_back(static_cast<char>(hi * 16 + lo));
            i += 2;
        }
        return value;
    }
    return std::nullopt;
}

// `Bearer <token>`, compared in time that does not depend on where the bytes differ.
bool bearer_matches(std::string_view value, std::string_view token) {
    constexpr std::string_view kScheme = "Bearer ";
    if (value.size() != kScheme.size() + token.size() || !value.starts_with(kScheme)) {
        return false;
    }
    unsigned char diff = 0;
    for (std::size_t i = 0; i < token.size(); ++i) {
        diff |= static_cast<unsigned char>(value[kScheme.size() + i] ^ token[i]);
    }
    return diff == 0;
}

AdminServer::Answer json_count(std::string_view name, std::size_t n) {
    AdminServer::Answer a;
    a.content_type = "application/json";
    a.body = "{\"" + std::string(name) + "\": " + std::to_string(n) + "}\n";
    return a;
}

AdminServer::Answer text(int status, std::string body) {
    AdminServer::Answer a;
    a.status = status;
    a.body = std::move(body);
    return a;
}

} // namespace

AdminServer::Answer AdminServer::answer(const http::RequestHead& request) const {
    const std::string_view target = request.target;
    const std::size_t query_at = target.find('?');
    const std::string_view path = target.substr(0, query_at);
    const std::string_view query =
        query_at == std::string_view::npos ? std::string_view() : target.substr(query_at + 1);
    const bool read = request.is_get() || request.is_head();
    if (path == "/metrics" || path == "/healthz" || path == "/readyz") {
        if (!read) {
            return text(405, "405 Method Not Allowed\n");
        }
        Answer a;
        if (path == "/metrics") {
            a.content_type = "text/plain; version=0.0.4; charset=utf-8";
            state_.registry->write(a.body, state_.shards);
        } else if (path == "/healthz") {
            a.body = "ok\n";
        } else if (state_.ready == nullptr || !state_.ready->load()) {
            return text(503, "not ready: starting or stopping\n");
        } else if (state_.origin_up && !state_.origin_up()) {
            return text(503, "not ready: no origin server accepts connections\n");
        } else {
            a.body = "ready\n";
        }
        return a;
    }
    const bool cache_api = path.starts_with("/purge/") || path == "/ban" || path == "/stats";
    if (!cache_api) {
        return text(404, "404 Not Found: /metrics, /healthz, /readyz, /purge/..., /ban, /stats\n");
    }
    if (!state_.token.empty()) {
        const http::Header* auth = request.headers.find("Authorization");
        if (auth == nullptr || !bearer_matches(auth->value, state_.token)) {
            return text(401, "401 Unauthorized: Authorization: Bearer <admin token>\n");
        }
    }
    if (path == "/stats") {
        if (!read) {
            return text(405, "405 Method Not Allowed\n");
        }
        Answer a;
        a.content_type = "application/json";
        a.body = state_.cache.stats_json();
        return a;
    }
    if (request.method != "POST") {
        return text(405, "405 Method Not Allowed: purge and ban are POST\n");
    }
    const bool soft = query_param(query, "soft").value_or("0") != "0";
    if (path == "/purge/url") {
        const auto url = query_param(query, "url");
        if (!url || url->empty() || url->front() != '/') {
            return text(400, "400 Bad Request: url=/path?query (percent-encoded) is required\n");
        }
        return json_count(
            "purged", state_.cache.purge_url(*url, query_param(query, "host").value_or(""), soft));
    }
    if (path == "/purge/prefix") {
        const auto prefix = query_param(query, "path");
        if (!prefix || prefix->empty() || prefix->front() != '/') {
            return text(400, "400 Bad Request: path=/prefix is required\n");
        }
        return json_count("purged", state_.cache.purge_prefix(*prefix, soft));
    }
    if (path == "/purge/all") {
        return json_count("purged", state_.cache.purge_all());
    }
    if (path == "/ban") {
        const auto regex = query_param(query, "regex");
        if (!regex || regex->empty()) {
            return text(400, "400 Bad Request: regex=... is required\n");
        }
        std::string error;
        const std::optional<std::size_t> banned = state_.cache.ban(*regex, error);
        if (!banned) {
            return text(400, "400 Bad Request: the regex does not compile: " + error + "\n");
        }
        return json_count("banned", *banned);
    }
    if (path == "/purge/tag") {
        const auto tag = query_param(query, "tag");
        if (!tag || tag->empty()) {
            return text(400, "400 Bad Request: tag=... is required\n");
        }
        return json_count("purged", state_.cache.purge_tag(*tag, soft));
    }
    return text(404, "404 Not Found\n");
}

} // namespace lacquer::admin
