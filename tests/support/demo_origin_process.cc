// Starting the demo origin and reading its counters. The JSON reader understands exactly the
// /__stats shape (numbers, strings, one nested object), which keeps it small and strict.
#include "support/demo_origin_process.h"

#include "support/http_client.h"
#include "support/listen_lines.h"

#include <charconv>
#include <cstdlib>
#include <gtest/gtest.h>

namespace lacquer::test {

namespace {

class StatsReader {
public:
    explicit StatsReader(std::string_view text) : text_(text) {}

    bool parse(DemoOriginStats& out) {
        if (!eat('{')) {
            return false;
        }
        for (bool first = true; !peek('}'); first = false) {
            std::string key;
            if ((!first && !eat(',')) || !string(key) || !eat(':')) {
                return false;
            }
            if (key == "by_target") {
                if (!targets(out.by_target)) {
                    return false;
                }
            } else {
                std::uint64_t value = 0;
                if (!number(value)) {
                    return false;
                }
                if (key == "requests") {
                    out.requests = value;
                } else if (key == "connections") {
                    out.connections = value;
                }
            }
        }
        return eat('}');
    }

    std::size_t position() const { return pos_; }

private:
    bool targets(std::map<std::string, std::uint64_t>& out) {
        if (!eat('{')) {
            return false;
        }
        for (bool first = true; !peek('}'); first = false) {
            std::string key;
            std::uint64_t value = 0;
            if ((!first && !eat(',')) || !string(key) || !eat(':') || !number(value)) {
                return false;
            }
            out[key] = value;
        }
        return eat('}');
    }

    void skip_space() {
        while (pos_ < text_.size() && (text_[pos_] == ' ' || text_[pos_] == '\n' ||
                                       text_[pos_] == '\r' || text_[pos_] == '\t')) {
            ++pos_;
        }
    }

    bool peek(char c) {
        skip_space();
        return pos_ < text_.size() && text_[pos_] == c;
    }

    bool eat(char c) {
        if (!peek(c)) {
            return false;
        }
        ++pos_;
        return true;
    }

    bool number(std::uint64_t& out) {
        skip_space();
        const char* begin = text_.data() + pos_;
        const auto [end, ec] = std::from_chars(begin, text_.data() + text_.size(), out);
        if (ec != std::errc()) {
            return false;
        }
        pos_ += static_cast<std::size_t>(end - begin);
        return true;
    }

    bool string(std::string& out) {
        if (!eat('"')) {
            return false;
        }
        while (pos_ < text_.size()) {
            const char c = text_[pos_++];
            if (c == '"') {
                return true;
            }
            if (c != '\\') {
                out += c;
                continue;
            }
            if (pos_ >= text_.size()) {
                return false;
            }
            const char esc = text_[pos_++];
            switch (esc) {
            case 'n':
                out += '\n';
                break;
            case 't':
                out += '\t';
                break;
            case 'r':
                out += '\r';
                break;
            case 'b':
                out += '\b';
                break;
            case 'f':
                out += '\f';
                break;
            case 'u': {
                unsigned code = 0;
                if (pos_ + 4 > text_.size() ||
                    std::from_chars(text_.data() + pos_, text_.data() + pos_ + 4, code, 16).ec !=
                        std::errc()) {
                    return false;
                }
                pos_ += 4;
                out += static_cast<char>(code); // the origin escapes only control bytes this way
                break;
            }
            default:
                out += esc;
                break; // \" \\ \/
            }
        }
        return false;
    }

    std::string_view text_;
    std::size_t pos_ = 0;
};

} // namespace

std::optional<DemoOriginStats> parse_demo_stats(std::string_view json, std::string& error) {
    DemoOriginStats stats;
    StatsReader reader(json);
    if (!reader.parse(stats)) {
        error = "unexpected /__stats JSON near byte " + std::to_string(reader.position()) + ": " +
                std::string(json.substr(0, 200));
        return std::nullopt;
    }
    return stats;
}

std::string DemoOriginProcess::binary_from_env() {
    const char* path = std::getenv("LACQUER_DEMO_ORIGIN");
    if (path != nullptr && *path != '\0') {
        return path;
    }
#ifdef LACQUER_BUILT_DEMO_ORIGIN
    return LACQUER_BUILT_DEMO_ORIGIN; // the binary of this build tree
#else
    ADD_FAILURE() << "LACQUER_DEMO_ORIGIN is not set and this build has no lacquer-demo-origin "
                     "target: export LACQUER_DEMO_ORIGIN=/path/to/lacquer-demo-origin";
    return {};
#endif
}

DemoOriginProcess::DemoOriginProcess(Options options) {
    const std::string binary = options.binary.empty() ? binary_from_env() : options.binary;
    if (binary.empty()) {
        return;
    }
    std::string error;
    const std::vector<std::string> args{"--listen", "127.0.0.1:0", "--threads",
                                        std::to_string(options.threads)};
    if (!child_.start(binary, args, dir_.path(), "demo-origin", error)) {
        ADD_FAILURE() << "cannot start the demo origin: " << error;
        return;
    }
    const bool ready = child_.wait_for_stdout(
        [](std::string_view out) { return !parse_listen_lines(out).empty(); },
        options.start_timeout);
    if (!ready) {
        ADD_FAILURE() << "the demo origin printed no 'listening on' line within "
                      << options.start_timeout.count() << " ms; stderr:\n"
                      << child_.stderr_text();
        return;
    }
    port_ = parse_listen_lines(child_.stdout_text()).front().port;
}

std::optional<DemoOriginStats> DemoOriginProcess::stats(Millis timeout) const {
    const Response response = http_get(port_, "/__stats", {}, timeout);
    if (!response.complete || response.status != 200) {
        ADD_FAILURE() << "GET /__stats on the demo origin: " << response.summary();
        return std::nullopt;
    }
    std::string error;
    std::optional<DemoOriginStats> parsed = parse_demo_stats(response.body, error);
    if (!parsed) {
        ADD_FAILURE() << error;
    }
    return parsed;
}

std::uint64_t DemoOriginProcess::count(std::string_view target) const {
    const std::optional<DemoOriginStats> all = stats();
    if (!all) {
        return 0;
    }
    const auto it = all->by_target.find(std::string(target));
    return it == all->by_target.end() ? 0 : it->second;
}

bool DemoOriginProcess::reset_stats(Millis timeout) const {
    HttpClient client;
    if (!client.connect(port_, timeout)) {
        ADD_FAILURE() << "POST /__reset: " << client.last_error();
        return false;
    }
    const Response response = client.request("POST", "/__reset", {}, {}, timeout);
    if (!response.complete || response.status != 200) {
        ADD_FAILURE() << "POST /__reset on the demo origin: " << response.summary();
        return false;
    }
    return true;
}

} // namespace lacquer::test
