#include "lacquer/origin/name_book.h"

#include <cstring>
#include <utility>

namespace lacquer::origin {

bool same_addresses(const std::vector<net::SocketAddress>& a,
                    const std::vector<net::SocketAddress>& b) {
    if (a.size() != b.size()) {
        return false;
    }
    for (std::size_t i = 0; i < a.size(); ++i) {
        if (a[i].length != b[i].length ||
            std::memcmp(&a[i].storage, &b[i].storage, a[i].length) != 0) {
            return false;
        }
    }
    return true;
}

NameBook::NameBook(Resolver resolver) : resolver_(std::move(resolver)) {}

std::vector<net::SocketAddress> NameBook::addresses(const config::HostPort& address,
                                                    core::Duration every, std::string& error) {
    if (net::is_numeric_host(address.host)) {
        return resolver_(address.host, address.port, error);
    }
    const std::string key = address.text();
    {
        std::lock_guard<std::mutex> lock(mutex_);
        auto it = entries_.find(key);
        if (it != entries_.end() && !it->second.addresses.empty()) {
            if (every.count() > 0 && (it->second.every.count() == 0 || every < it->second.every)) {
                it->second.every = every;
            }
            return it->second.addresses;
        }
    }
    // First use (start-up or a reload naming a new server): resolve now, outside the lock.
    std::vector<net::SocketAddress> found = resolver_(address.host, address.port, error);
    if (found.empty()) {
        return found;
    }
    std::lock_guard<std::mutex> lock(mutex_);
    Entry& entry = entries_[key];
    entry.name = address;
    entry.addresses = found;
    if (every.count() > 0 && (entry.every.count() == 0 || every < entry.every)) {
        entry.every = every;
    }
    return found;
}

bool NameBook::refresh(core::Instant now, std::ostream& log) {
    std::vector<std::pair<std::string, config::HostPort>> due;
    {
        std::lock_guard<std::mutex> lock(mutex_);
        for (auto& [key, entry] : entries_) {
            if (entry.every.count() == 0) {
                continue;
            }
            if (!entry.due) {
                entry.due = now + entry.every;
            } else if (*entry.due <= now) {
                due.emplace_back(key, entry.name);
            }
        }
    }
    bool changed = false;
    for (const auto& [key, name] : due) {
        std::string error;
        std::vector<net::SocketAddress> found = resolver_(name.host, name.port, error);
        std::lock_guard<std::mutex> lock(mutex_);
        Entry& entry = entries_[key];
        entry.due = now + entry.every;
        if (found.empty()) {
            if (!entry.failing) {
                std::string line = "lacquerd: origin server " + key;
                line += " no longer resolves (";
                line += error;
                line += "); keeping its ";
                line += std::to_string(entry.addresses.size());
                line += " last address(es)\n";
                log << line << std::flush; // one write: other threads log to the same stream
            }
            entry.failing = true;
            continue;
        }
        if (entry.failing) {
            log << ("lacquerd: origin server " + key + " resolves again\n") << std::flush;
            entry.failing = false;
        }
        if (!same_addresses(found, entry.addresses)) {
            std::string line = "lacquerd: origin server " + key + " now resolves to ";
            for (std::size_t i = 0; i < found.size(); ++i) {
                line += i == 0 ? "" : ", ";
                line += found[i].text();
            }
            line += "\n";
            log << line << std::flush;
            entry.addresses = std::move(found);
            changed = true;
        }
    }
    return changed;
}

std::optional<core::Instant> NameBook::next_due() const {
    std::lock_guard<std::mutex> lock(mutex_);
    std::optional<core::Instant> next;
    for (const auto& [key, entry] : entries_) {
        if (entry.every.count() > 0 && entry.due && (!next || *entry.due < *next)) {
            next = entry.due;
        }
    }
    return next;
}

} // namespace lacquer::origin
