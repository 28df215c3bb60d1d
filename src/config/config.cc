// The few behaviours of the plain config structs, and the error type every loader throws.
#include "lacquer/config/config.h"

#include "lacquer/config/load.h"

#include <utility>

namespace lacquer::config {

std::string SourceMark::text() const {
    return file + ":" + std::to_string(line) + ":" + std::to_string(column);
}

std::string HostPort::text() const {
    // A colon can only be in an IPv6 literal (names and IPv4 never hold one).
    if (host.find(':') != std::string::npos) {
        return "[" + host + "]:" + std::to_string(port);
    }
    return host + ":" + std::to_string(port);
}

const OriginPoolConfig* Config::find_origin(std::string_view name) const {
    for (const OriginPoolConfig& pool : origins) {
        if (pool.name == name) {
            return &pool;
        }
    }
    return nullptr;
}

ConfigError::ConfigError(SourceMark mark, const std::string& message)
    : std::runtime_error(mark.text() + ": " + message), mark_(std::move(mark)), message_(message) {}

} // namespace lacquer::config
