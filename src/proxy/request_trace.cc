#include "lacquer/proxy/request_trace.h"

#include <algorithm>
#include <atomic>
#include <cstring>
#include <random>

namespace lacquer::proxy {

namespace {

constexpr char kHex[] = "0123456789abcdef";

bool is_lower_hex(char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

bool lower_hex_not_zero(std::string_view s) {
    return std::all_of(s.begin(), s.end(), is_lower_hex) &&
           s.find_first_not_of('0') != std::string_view::npos;
}

void put_hex(char* out, std::uint64_t v, int digits) {
    for (int i = digits - 1; i >= 0; --i) {
        out[i] = kHex[v & 15];
        v >>= 4;
    }
}

// splitmix64's finaliser: a bijection on 64 bits, so distinct inputs give distinct outputs.
std::uint64_t mix(std::uint64_t z) {
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

struct ProcessSeed {
    std::uint64_t prefix;
    std::uint64_t trace_key;
    std::uint64_t span_key;
};

const ProcessSeed& seed() {
    static const ProcessSeed kSeed = [] {
        std::random_device device;
        const auto draw = [&device] {
            return (static_cast<std::uint64_t>(device()) << 32) ^ device();
        };
        return ProcessSeed{draw(), draw(), draw()};
    }();
    return kSeed;
}

// Each thread that makes ids gets its own number once; its counter is its own.
std::atomic<std::uint32_t> next_thread_number{0};
struct ThreadIds {
    std::uint64_t thread = next_thread_number.fetch_add(1, std::memory_order_relaxed);
    std::uint64_t counter = 0;
};
thread_local ThreadIds thread_ids;

// (thread, counter) as one 64-bit number: 16 bits of thread, 48 of counter.
std::uint64_t next_sequence() {
    ThreadIds& t = thread_ids;
    return (t.thread << 48) | (t.counter++ & 0xffffffffffffULL);
}

std::size_t count_of(const http::HeaderList& headers, std::string_view name,
                     const http::Header*& first) {
    std::size_t n = 0;
    first = nullptr;
    for (const http::Header& h : headers) {
        if (http::iequals(h.name, name)) {
            first = first != nullptr ? first : &h;
            ++n;
        }
    }
    return n;
}

} // namespace

bool valid_request_id(std::string_view id) {
    if (id.empty() || id.size() > kMaxRequestId) {
        return false;
    }
    return std::all_of(id.begin(), id.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               std::strchr("-._:+/=@", c) != nullptr;
    });
}

bool valid_traceparent(std::string_view v) {
    if (v.size() < kTraceparentLength || v[2] != '-' || v[35] != '-' || v[52] != '-') {
        return false;
    }
    const std::string_view version = v.substr(0, 2);
    if (!std::all_of(version.begin(), version.end(), is_lower_hex) || version == "ff") {
        return false;
    }
    if (version == "00" ? v.size() != kTraceparentLength
                        : v.size() > kTraceparentLength && v[kTraceparentLength] != '-') {
        return false;
    }
    const std::string_view flags = v.substr(53, 2);
    return lower_hex_not_zero(v.substr(3, 32)) && lower_hex_not_zero(v.substr(36, 16)) &&
           std::all_of(flags.begin(), flags.end(), is_lower_hex);
}

std::string_view make_request_id(std::array<char, kMadeRequestId>& out) {
    const std::uint64_t sequence = next_sequence();
    put_hex(out.data(), seed().prefix, 16);
    put_hex(out.data() + 16, sequence >> 48, 4);
    put_hex(out.data() + 20, sequence, 12);
    return {out.data(), out.size()};
}

std::string_view start_traceparent(std::array<char, kTraceparentLength>& out) {
    const std::uint64_t sequence = next_sequence();
    const ProcessSeed& s = seed();
    // The high half is the process's, the low half unique per (thread, counter); the parent
    // id, unique the same way. A zero id is invalid: never made (mix is a bijection and the
    // inputs below are never the one that maps to zero in both halves at once; guard anyway).
    const std::uint64_t trace_high = mix(s.prefix ^ s.trace_key);
    const std::uint64_t trace_low = mix(sequence ^ s.trace_key);
    std::uint64_t parent = mix(sequence ^ s.span_key);
    if (parent == 0) {
        parent = 1;
    }
    char* p = out.data();
    p[0] = '0';
    p[1] = '0';
    p[2] = '-';
    put_hex(p + 3, trace_high, 16);
    put_hex(p + 19, trace_low == 0 && trace_high == 0 ? 1 : trace_low, 16);
    p[35] = '-';
    put_hex(p + 36, parent, 16);
    p[52] = '-';
    p[53] = '0';
    p[54] = '1'; // sampled: a trace started here asks the origin to record it
    return {out.data(), out.size()};
}

void RequestTrace::begin(const http::HeaderList& headers, const config::LogConfig& log) {
    header_count_ = 0;
    upstream_length_ = 0;
    request_id_ = {};
    traceparent_ = {};
    if (log.request_id) {
        const http::Header* sent = nullptr;
        if (count_of(headers, kRequestIdHeader, sent) == 1 && valid_request_id(sent->value)) {
            request_id_ = sent->value;
        } else {
            request_id_ = make_request_id(made_id_);
        }
        headers_[header_count_++] = http::Header{kRequestIdHeader, request_id_};
    }
    const http::Header* sent = nullptr;
    const std::size_t sent_count = count_of(headers, kTraceparentHeader, sent);
    if (sent_count == 1 && valid_traceparent(sent->value)) {
        // Passed on unchanged, with its tracestate, also where a shared fetch sends only the
        // representation's headers.
        traceparent_ = sent->value;
        headers_[header_count_++] = *sent;
        const http::Header* state = nullptr;
        if (count_of(headers, kTracestateHeader, state) == 1) {
            headers_[header_count_++] = *state;
        }
        return;
    }
    if (log.traceparent == config::TraceparentMode::Start) {
        // Absent or malformed: a new trace, which replaces what the client sent (W3C §4.3).
        traceparent_ = start_traceparent(made_trace_);
        headers_[header_count_++] = http::Header{kTraceparentHeader, traceparent_};
    }
}

void RequestTrace::set_upstream(std::string_view server) {
    if (server == "-") {
        upstream_length_ = 0; // no server was chosen (admission refused it first)
        return;
    }
    upstream_length_ = std::min(server.size(), upstream_.size());
    std::memcpy(upstream_.data(), server.data(), upstream_length_);
}

} // namespace lacquer::proxy
