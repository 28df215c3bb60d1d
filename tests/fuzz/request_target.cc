// libFuzzer target: request-targets -> read_request_target (issue 15 items 1 and 7). Beyond
// "no crash" (the buffer is exactly the target's size, so ASan sees any overrun):
// - a target with '#' is refused; an accepted one has a path that starts with '/' (or is "*"),
//   holds no "." or ".." segment, no escape of an unreserved byte, no lower-case hex escape and,
//   when slashes are merged, no "//";
// - the origin-form is the path, then '?' and the query exactly when the target had a '?', and
//   never longer than the target;
// - normalising is idempotent: the path read again comes back unchanged, as a view of itself.
//
// Input: byte 0 = flags (bit 0: merge slashes, bit 1: the method is OPTIONS); the rest is the
// target.
#include "lacquer/http/request_target.h"

#include "lacquer/core/assert.h"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace {

using namespace lacquer::http;

bool is_unreserved(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == '_' || c == '~';
}

int hex(char c) {
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1; // lower case is not normal
}

void check_normal(std::string_view path, bool merged) {
    LACQUER_ASSERT(!path.empty() && path.front() == '/');
    for (std::size_t i = 0; i < path.size(); ++i) {
        if (path[i] == '%') {
            LACQUER_ASSERT(i + 2 < path.size());
            const int high = hex(path[i + 1]);
            const int low = hex(path[i + 2]);
            LACQUER_ASSERT(high >= 0 && low >= 0);
            LACQUER_ASSERT(!is_unreserved(static_cast<char>(high * 16 + low)));
        }
        if (path[i] != '/') {
            continue;
        }
        const std::string_view rest = path.substr(i + 1);
        const std::string_view segment = rest.substr(0, rest.find('/'));
        LACQUER_ASSERT(segment != "." && segment != "..");
        LACQUER_ASSERT(!merged || rest.empty() || rest.front() != '/');
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 1) {
        return 0;
    }
    const PathRules rules{.merge_slashes = (data[0] & 1) != 0};
    const std::string_view method = (data[0] & 2) != 0 ? "OPTIONS" : "GET";
    const std::string target(reinterpret_cast<const char*>(data) + 1, size - 1);
    std::vector<char> buffer(target.size());
    RequestTarget out;
    const TargetOutcome outcome = read_request_target(target, method, rules, buffer, out);
    if (target.find('#') != std::string::npos) {
        LACQUER_ASSERT(outcome == TargetOutcome::Malformed);
    }
    // The buffer is as long as the target: the normalised origin-form always fits.
    LACQUER_ASSERT(outcome != TargetOutcome::TooLong);
    if (outcome != TargetOutcome::Ok) {
        return 0;
    }
    LACQUER_ASSERT(out.origin_form.size() <= target.size());
    if (out.asterisk) {
        LACQUER_ASSERT(method == "OPTIONS" && out.origin_form == "*");
        return 0;
    }
    check_normal(out.path, rules.merge_slashes);
    const bool had_query = target.find('?') != std::string::npos;
    const std::string want =
        std::string(out.path) + (had_query ? "?" + std::string(out.query) : std::string());
    LACQUER_ASSERT(out.origin_form == want);
    const std::string path(out.path);
    std::vector<char> again_buffer(path.size());
    std::string_view again;
    LACQUER_ASSERT(normalise_path(path, rules, again_buffer, again) == TargetOutcome::Ok);
    LACQUER_ASSERT(again == path && again.data() == path.data());
    return 0;
}
