// lacquer-demo-origin: a small, fast HTTP/1.1 origin for demos, integration tests and benchmarks.
// Parses flags, starts one Worker per thread on a shared SO_REUSEPORT port, prints
// "listening on HOST:PORT", and runs until SIGINT or SIGTERM. See responder.h for its behaviour.
#include "demo_origin/stats.h"
#include "demo_origin/worker.h"

#include <arpa/inet.h>
#include <charconv>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <event2/thread.h>
#include <memory>
#include <netinet/in.h>
#include <pthread.h>
#include <string>
#include <string_view>
#include <sys/socket.h>
#include <thread>
#include <vector>

namespace {

using lacquer::demo_origin::Stats;
using lacquer::demo_origin::Worker;

constexpr int kMaxThreads = 256;

struct Flags {
    std::string listen = "127.0.0.1:9000";
    int threads = 1;
};

void print_usage(std::FILE* out) {
    std::fputs("usage: lacquer-demo-origin [--listen HOST:PORT] [--threads N]\n"
               "  --listen HOST:PORT  address to serve on (default 127.0.0.1:9000; port 0 picks "
               "one)\n"
               "  --threads N         event-loop threads sharing the port (default 1)\n"
               "Prints 'listening on HOST:PORT' once ready. GET /__stats shows counters;\n"
               "query parameters cc, status, delay_ms, size, chunked, etag, close shape answers.\n",
               out);
}

// 0: run; otherwise the exit status.
int parse_flags(int argc, char** argv, Flags& flags) {
    for (int i = 1; i < argc; ++i) {
        const std::string_view arg = argv[i];
        if (arg == "--help" || arg == "-h") {
            print_usage(stdout);
            return -1;
        }
        if (i + 1 >= argc) {
            std::fprintf(stderr, "lacquer-demo-origin: %s needs a value\n", argv[i]);
            return 64;
        }
        const std::string_view value = argv[++i];
        if (arg == "--listen") {
            flags.listen = std::string(value);
        } else if (arg == "--threads") {
            const auto [end, ec] =
                std::from_chars(value.data(), value.data() + value.size(), flags.threads);
            if (ec != std::errc() || end != value.data() + value.size() || flags.threads < 1 ||
                flags.threads > kMaxThreads) {
                std::fprintf(stderr, "lacquer-demo-origin: --threads wants 1..%d\n", kMaxThreads);
                return 64;
            }
        } else {
            std::fprintf(stderr, "lacquer-demo-origin: unknown flag %s\n", argv[i - 1]);
            print_usage(stderr);
            return 64;
        }
    }
    return 0;
}

// HOST:PORT with an IPv4 host or a bracketed IPv6 one; port 0 allowed (libevent's own parser
// refuses it, hence this).
bool parse_address(std::string_view text, sockaddr_storage& out, int& length) {
    const std::size_t colon = text.rfind(':');
    if (colon == std::string_view::npos) {
        return false;
    }
    unsigned port = 0;
    const std::string_view port_text = text.substr(colon + 1);
    const auto [end, ec] =
        std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
    if (ec != std::errc() || end != port_text.data() + port_text.size() || port > 65535) {
        return false;
    }
    std::string host(text.substr(0, colon));
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
        auto* v6 = reinterpret_cast<sockaddr_in6*>(&out);
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons(static_cast<std::uint16_t>(port));
        length = sizeof(sockaddr_in6);
        return inet_pton(AF_INET6, host.substr(1, host.size() - 2).c_str(), &v6->sin6_addr) == 1;
    }
    auto* v4 = reinterpret_cast<sockaddr_in*>(&out);
    v4->sin_family = AF_INET;
    v4->sin_port = htons(static_cast<std::uint16_t>(port));
    length = sizeof(sockaddr_in);
    return inet_pton(AF_INET, host.c_str(), &v4->sin_addr) == 1;
}

void set_port(sockaddr_storage& address, std::uint16_t port) {
    if (address.ss_family == AF_INET6) {
        reinterpret_cast<sockaddr_in6*>(&address)->sin6_port = htons(port);
    } else {
        reinterpret_cast<sockaddr_in*>(&address)->sin_port = htons(port);
    }
}

} // namespace

int main(int argc, char** argv) {
    Flags flags;
    if (const int rc = parse_flags(argc, argv, flags); rc != 0) {
        return rc < 0 ? 0 : rc;
    }
    sockaddr_storage address{};
    int length = 0;
    if (!parse_address(flags.listen, address, length)) {
        std::fprintf(stderr, "lacquer-demo-origin: cannot parse --listen %s\n",
                     flags.listen.c_str());
        return 64;
    }
    std::signal(SIGPIPE, SIG_IGN);
    // Cross-thread event_base_loopbreak() at shutdown needs libevent's thread support.
    if (evthread_use_pthreads() != 0) {
        std::fputs("lacquer-demo-origin: evthread_use_pthreads failed\n", stderr);
        return 1;
    }
    // Signals are taken by sigwait() in this thread only; workers never see them.
    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGINT);
    sigaddset(&stop_signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

    Stats stats;
    std::vector<std::unique_ptr<Worker>> workers;
    std::uint16_t port = 0;
    for (int i = 0; i < flags.threads; ++i) {
        auto worker = std::make_unique<Worker>(stats);
        std::string error;
        if (!worker->listen(reinterpret_cast<const sockaddr*>(&address), length, error)) {
            std::fprintf(stderr, "lacquer-demo-origin: %s: %s\n", flags.listen.c_str(),
                         error.c_str());
            return 1;
        }
        if (i == 0) {
            // The first listener resolves port 0; the others join it through SO_REUSEPORT.
            port = worker->bound_port();
            set_port(address, port);
        }
        workers.push_back(std::move(worker));
    }
    const std::string_view host = std::string_view(flags.listen).substr(0, flags.listen.rfind(':'));
    std::printf("listening on %.*s:%u\n", static_cast<int>(host.size()), host.data(),
                static_cast<unsigned>(port));
    std::fflush(stdout);

    std::vector<std::thread> threads;
    threads.reserve(workers.size());
    for (auto& worker : workers) {
        threads.emplace_back([&worker] { worker->run(); });
    }
    int received = 0;
    sigwait(&stop_signals, &received);
    for (auto& worker : workers) {
        worker->stop();
    }
    for (std::thread& thread : threads) {
        thread.join();
    }
    return 0;
}
