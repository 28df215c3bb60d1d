// Request-target reading and path normalisation: one pass that decodes unreserved escapes and
// merges slashes into the caller's buffer, then dot-segment removal in place over it. A path
// that needs neither is returned as it came, so the common request writes nothing.
#include "lacquer/http/request_target.h"

#include "lacquer/http/ascii.h"

#include <cstring>

namespace lacquer::http {

namespace {

constexpr std::string_view kHexDigits = "0123456789ABCDEF";

// True when `path` would come out of normalisation unchanged: no escape, no merged slash, no
// "." or ".." segment. Checked first so that the common path costs one scan and no write.
bool is_upper_hex(char c) {
    return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F');
}

bool is_normal(std::string_view path, const PathRules& rules) {
    for (std::size_t i = 0; i < path.size(); ++i) {
        const char c = path[i];
        if (c == '%') {
            // Normal already: upper-case hex of a byte that must stay encoded (%2F, %20).
            if (path.size() - i < 3 || !is_upper_hex(path[i + 1]) || !is_upper_hex(path[i + 2]) ||
                is_unreserved(
                    static_cast<char>(hex_value(path[i + 1]) * 16 + hex_value(path[i + 2])))) {
                return false;
            }
            i += 2;
            continue;
        }
        if (c != '/' || i + 1 == path.size()) {
            continue;
        }
        const std::string_view rest = path.substr(i + 1);
        if (rules.merge_slashes && rest.front() == '/') {
            return false;
        }
        const std::string_view segment = rest.substr(0, rest.find('/'));
        if (segment == "." || segment == "..") {
            return false;
        }
    }
    return true;
}

// Phase 1: escapes decoded (unreserved) or upper-cased, slashes merged. Never longer than the
// input. False on an invalid escape.
bool decode_into(std::string_view path, const PathRules& rules, char* out, std::size_t& size) {
    std::size_t n = 0;
    for (std::size_t i = 0; i < path.size(); ++i) {
        char c = path[i];
        if (c == '%') {
            const int byte = escaped_byte(path, i);
            if (byte < 0) {
                return false;
            }
            const auto decoded = static_cast<char>(byte);
            i += 2;
            if (!is_unreserved(decoded)) {
                out[n++] = '%';
                out[n++] = kHexDigits[static_cast<std::size_t>(byte >> 4)];
                out[n++] = kHexDigits[static_cast<std::size_t>(byte & 0xF)];
                continue;
            }
            c = decoded;
        } else if (c == '/' && rules.merge_slashes && n > 0 && out[n - 1] == '/') {
            continue;
        }
        out[n++] = c;
    }
    size = n;
    return true;
}

// Phase 2: RFC 3986 §5.2.4 over a path that starts with '/', in place (the write position
// never passes the read position). Returns the new size.
std::size_t remove_dot_segments(char* path, std::size_t size) {
    std::size_t out = 0;
    std::size_t i = 0;
    while (i < size) {
        // path[i] == '/': the segment runs to the next '/' or the end.
        std::size_t end = i + 1;
        while (end < size && path[end] != '/') {
            ++end;
        }
        const std::string_view segment(path + i + 1, end - i - 1);
        const bool last = end == size;
        if (segment == "." || segment == "..") {
            if (segment == "..") {
                while (out > 0 && path[out - 1] != '/') {
                    --out; // the last output segment goes
                }
                if (out > 0) {
                    --out; // with its '/'
                }
            }
            if (last) {
                path[out++] = '/'; // "/a/." and "/a/b/.." end in a directory: "/a/"
            }
        } else {
            std::memmove(path + out, path + i, end - i);
            out += end - i;
        }
        i = end;
    }
    return out; // never 0: the first segment either stays or leaves its '/'
}

bool starts_with_scheme(std::string_view target, std::string_view scheme) {
    if (target.size() < scheme.size()) {
        return false;
    }
    for (std::size_t i = 0; i < scheme.size(); ++i) {
        if (ascii_lower(target[i]) != scheme[i]) {
            return false;
        }
    }
    return true;
}

} // namespace

std::string_view target_outcome_name(TargetOutcome outcome) {
    static constexpr std::string_view kNames[] = {
#define LACQUER_AS_NAME(name) #name,
        LACQUER_TARGET_OUTCOMES(LACQUER_AS_NAME)
#undef LACQUER_AS_NAME
    };
    const auto index = static_cast<std::size_t>(outcome);
    return index < std::size(kNames) ? kNames[index] : std::string_view("?");
}

TargetOutcome normalise_path(std::string_view path, const PathRules& rules, std::span<char> buffer,
                             std::string_view& out) {
    if (path.empty() || path.front() != '/') {
        return TargetOutcome::Malformed;
    }
    if (is_normal(path, rules)) {
        out = path;
        return TargetOutcome::Ok;
    }
    if (buffer.size() < path.size()) {
        return TargetOutcome::TooLong;
    }
    std::size_t size = 0;
    if (!decode_into(path, rules, buffer.data(), size)) {
        return TargetOutcome::Malformed;
    }
    size = remove_dot_segments(buffer.data(), size);
    out = std::string_view(buffer.data(), size);
    return TargetOutcome::Ok;
}

TargetOutcome read_request_target(std::string_view target, std::string_view method,
                                  const PathRules& rules, std::span<char> buffer,
                                  RequestTarget& out) {
    out = RequestTarget{};
    // A fragment is never sent (RFC 9110 §4.2.5): a target with one is not a request-target.
    if (target.empty() || target.find('#') != std::string_view::npos) {
        return TargetOutcome::Malformed;
    }
    if (target == "*") {
        if (method != "OPTIONS") {
            return TargetOutcome::Malformed;
        }
        out.asterisk = true;
        out.path = out.origin_form = target;
        return TargetOutcome::Ok;
    }
    std::string_view rest = target; // path and query from here on
    for (std::string_view scheme : {std::string_view("http://"), std::string_view("https://")}) {
        if (starts_with_scheme(target, scheme)) {
            rest = target.substr(scheme.size());
            const std::size_t authority_end = rest.find_first_of("/?");
            out.authority = rest.substr(0, authority_end);
            if (out.authority.empty()) {
                return TargetOutcome::Malformed;
            }
            out.absolute_form = true;
            rest = authority_end == std::string_view::npos ? std::string_view()
                                                           : rest.substr(authority_end);
            break;
        }
    }
    if (!out.absolute_form && rest.front() != '/') {
        return TargetOutcome::Malformed; // authority-form is CONNECT's, refused before this
    }
    const std::size_t query_at = rest.find('?');
    const std::string_view raw_path = rest.substr(0, query_at);
    const bool has_query = query_at != std::string_view::npos;
    out.query = has_query ? rest.substr(query_at + 1) : std::string_view();
    if (raw_path.empty()) { // "http://host" or "http://host?q": the path is "/"
        if (buffer.size() < 1 + (has_query ? 1 + out.query.size() : 0)) {
            return TargetOutcome::TooLong;
        }
        buffer[0] = '/';
        out.path = std::string_view(buffer.data(), 1);
    } else if (const TargetOutcome o = normalise_path(raw_path, rules, buffer, out.path);
               o != TargetOutcome::Ok) {
        return o;
    }
    if (out.path.data() == raw_path.data()) {
        out.origin_form = rest; // unchanged: the target's own bytes
        return TargetOutcome::Ok;
    }
    // The normalised path sits at the start of `buffer`; the query follows it there.
    const std::size_t size = out.path.size() + (has_query ? 1 + out.query.size() : 0);
    if (size > buffer.size()) {
        return TargetOutcome::TooLong;
    }
    if (has_query) {
        buffer[out.path.size()] = '?';
        if (!out.query.empty()) {
            std::memcpy(buffer.data() + out.path.size() + 1, out.query.data(), out.query.size());
        }
    }
    out.origin_form = std::string_view(buffer.data(), size);
    return TargetOutcome::Ok;
}

} // namespace lacquer::http
