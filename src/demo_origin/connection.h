#pragma once
// One client connection of the demo origin: a bufferevent, an llhttp request parser and a queue of
// replies kept in request order (pipelining, delay_ms timers). The connection frees itself on an
// error or timeout, or, once it is closing and every reply is written, after the client closes
// too (a bounded linger). Worker thread only.

#include "demo_origin/responder.h"

#include <cstdint>
#include <deque>
#include <llhttp.h>
#include <memory>
#include <string>

struct bufferevent;
struct event;

namespace lacquer::demo_origin {

class Worker;

class Connection {
public:
    // Takes ownership of the accepted socket `fd`.
    static void accept(Worker& worker, int fd);
    ~Connection();
    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;

    // Intrusive list links, owned by Worker.
    Connection* prev = nullptr;
    Connection* next = nullptr;

private:
    // A reply that cannot be written yet: it waits for its timer or for earlier replies.
    struct Pending {
        Connection* owner = nullptr;
        Reply reply;
        event* timer = nullptr;
        bool ready = false;
    };

    Connection(Worker& worker, bufferevent* bev);

    static void on_read(bufferevent* bev, void* self);
    static void on_write(bufferevent* bev, void* self);
    static void on_event(bufferevent* bev, short what, void* self);
    static void on_timer(int fd, short what, void* pending);

    // llhttp callbacks
    static int on_url(llhttp_t* parser, const char* at, std::size_t length);
    static int on_header_field(llhttp_t* parser, const char* at, std::size_t length);
    static int on_header_value(llhttp_t* parser, const char* at, std::size_t length);
    static int on_header_value_complete(llhttp_t* parser);
    static int on_headers_complete(llhttp_t* parser);
    static int on_body(llhttp_t* parser, const char* at, std::size_t length);
    static int on_message_complete(llhttp_t* parser);

    void parse_input();
    void dispatch_request();
    void enqueue(Reply& reply);
    void flush_ready();
    void write_now(std::string_view bytes); // to the socket if it can take it, else buffered
    void reject(std::string_view why);
    void maybe_finish(); // once closing and everything is written: FIN, then linger
    void reset_request();
    bool over_head_limit(std::size_t more);

    Worker& worker_;
    bufferevent* bev_;
    llhttp_settings_t settings_{};
    llhttp_t parser_{};

    // The request being parsed. Buffers keep their capacity across requests.
    std::string url_;
    std::string field_;
    std::string value_;
    std::string locale_;
    std::string currency_;
    std::string region_;
    std::string if_none_match_;
    bool expect_continue_ = false;
    std::size_t head_bytes_ = 0;
    std::uint64_t body_length_ = 0;
    std::uint64_t body_fnv_ = 0;

    std::deque<std::unique_ptr<Pending>> queue_;
    bool closing_ = false;     // no more requests: close once the queue and output are empty
    bool read_paused_ = false; // backpressure: too much queued or unsent
    bool lingering_ = false;   // FIN sent; reading and discarding until the client closes
};

} // namespace lacquer::demo_origin
