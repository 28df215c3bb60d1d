// Start-up reads the "listening on" lines Server::start() prints, as a test of lacquerd does, so
// the admin port is found the same way.
#include "support/in_process_lacquer.h"

#include "lacquer/config/load.h"
#include "support/listen_lines.h"
#include "support/metrics_scrape.h"

#include <exception>
#include <gtest/gtest.h>
#include <sstream>

namespace lacquer::test {

InProcessLacquer::InProcessLacquer(const TestConfig& config, origin::NameBook::Resolver resolver)
    : InProcessLacquer(config.yaml(), std::move(resolver)) {}

InProcessLacquer::InProcessLacquer(std::string_view yaml, origin::NameBook::Resolver resolver) {
    std::ostringstream out;
    try {
        config::Config config = config::load_config_string(yaml, "inproc.yaml");
        server::check_supported(config);
        auto server = std::make_unique<server::Server>(std::move(config), std::string(), clock_,
                                                       std::move(resolver));
        server->start(out);
        server_ = std::move(server);
    } catch (const std::exception& e) {
        ADD_FAILURE() << "the in-process server did not start: " << e.what() << "\nconfig:\n"
                      << yaml;
        return;
    }
    for (const ListenLine& line : parse_listen_lines(out.str())) {
        if (line.admin) {
            admin_port_ = line.port;
        }
    }
}

InProcessLacquer::~InProcessLacquer() {
    if (server_) {
        server_->stop();
    }
}

std::uint16_t InProcessLacquer::port(std::size_t listener) const {
    const std::vector<std::uint16_t> ports =
        server_ ? server_->ports() : std::vector<std::uint16_t>();
    if (listener >= ports.size()) {
        ADD_FAILURE() << "in-process listener " << listener << " requested; " << ports.size()
                      << " known (did it start?)";
        return 0;
    }
    return ports[listener];
}

std::string InProcessLacquer::address(std::size_t listener) const {
    return "127.0.0.1:" + std::to_string(port(listener));
}

unsigned InProcessLacquer::worker_threads() const {
    return server_ ? server_->worker_count() : 0;
}

Response InProcessLacquer::get(std::string_view target, const HeaderFields& headers,
                               Millis timeout) const {
    return http_get(port(), target, headers, timeout);
}

ConcurrentGets InProcessLacquer::get_concurrently(std::string_view target, int n,
                                                  const HeaderFields& headers) const {
    return ConcurrentGets(port(), std::string(target), n, headers);
}

bool InProcessLacquer::wait_for_metric(std::string_view name, double at_least, Millis timeout,
                                       std::string_view label_filter) const {
    return expect_metric(admin_port_, name, at_least, timeout, label_filter);
}

} // namespace lacquer::test
