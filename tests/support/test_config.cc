// YAML text assembly for TestConfig; the order of sections follows CONFIG.md.
#include "support/test_config.h"

namespace lacquer::test {

TestConfig& TestConfig::workers(int count) {
    workers_ = count;
    return *this;
}

TestConfig& TestConfig::listeners(int count) {
    listeners_ = count;
    return *this;
}

TestConfig& TestConfig::origin(std::string address) {
    origin_servers_.push_back(std::move(address));
    return *this;
}

TestConfig& TestConfig::origin_setting(std::string line) {
    origin_settings_.push_back(std::move(line));
    return *this;
}

TestConfig& TestConfig::limit(std::string key, std::string value) {
    limits_.emplace_back(std::move(key), std::move(value));
    return *this;
}

TestConfig& TestConfig::storage(std::string key, std::string value) {
    storage_.emplace_back(std::move(key), std::move(value));
    return *this;
}

TestConfig& TestConfig::admin(bool enabled) {
    admin_ = enabled;
    return *this;
}

TestConfig& TestConfig::access_log(std::string where) {
    access_log_ = std::move(where);
    return *this;
}

TestConfig& TestConfig::extra(std::string yaml) {
    if (!extra_.empty() && extra_.back() != '\n') {
        extra_ += '\n';
    }
    extra_ += yaml;
    return *this;
}

TestConfig& TestConfig::listener_setting(std::string line) {
    listener_settings_.push_back(std::move(line));
    return *this;
}

std::string TestConfig::yaml() const {
    std::string out =
        "workers: " + (workers_ == 0 ? std::string("auto") : std::to_string(workers_)) + "\n";
    out += "listen:\n";
    for (int i = 0; i < listeners_; ++i) {
        out += "  - address: 127.0.0.1:0\n";
        for (const std::string& line : listener_settings_) {
            out += "    " + line + "\n";
        }
    }
    if (admin_) {
        out += "admin:\n  address: 127.0.0.1:0\n";
    }
    out += "log: { access: " + access_log_ + " }\n";
    if (!limits_.empty()) {
        out += "limits:\n";
        for (const auto& [key, value] : limits_) {
            out += "  " + key + ": " + value + "\n";
        }
    }
    if (!storage_.empty()) {
        out += "storage:\n";
        for (const auto& [key, value] : storage_) {
            out += "  " + key + ": " + value + "\n";
        }
    }
    // Without servers the caller describes origins through extra().
    if (!origin_servers_.empty()) {
        out += "origins:\n  api:\n    servers:\n";
        for (const std::string& address : origin_servers_) {
            out += "      - address: " + address + "\n";
        }
        for (const std::string& line : origin_settings_) {
            out += "    " + line + "\n";
        }
    }
    out += extra_;
    if (!out.empty() && out.back() != '\n') {
        out += '\n';
    }
    return out;
}

} // namespace lacquer::test
