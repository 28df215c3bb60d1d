// libFuzzer target: a parsed head, written out the way the proxy writes it, re-parses to the same
// head. Requests go through write_upstream_request (what an origin receives), responses through
// write_client_response (what a client receives). Beyond "no crash":
// - the written head parses Complete, exactly to its end, with nothing left over;
// - requests: the same method and target, HTTP/1.1, exactly one Host (with the authority the
//   proxy routed under as its value, where the client's stood or last), the framing given and no
//   other framing header, and the end-to-end headers in order and unchanged, minus the hop-by-hop
//   ones, the ones the client's Connection names (never Host), Expect, names with '_' (unless
//   allowed), and, on a shared fetch, the conditional, range and client-routing headers (or all but
//   the representation ones on a named route); Via is last, extended, and X-Forwarded-For before it
//   (only this hop's address on a shared fetch);
// - responses: the same status, reason and end-to-end headers in order, one Via, the framing
//   given (none where the status or a HEAD forbids a body), keep-alive unless closing.
// The expectations are computed here from the RFC rules, not by calling the code under test.
//
// Input: byte 0 = flags (bit 0: a response, bit 1: answering HEAD, bit 2: shared fetch, bit 3:
// only an allow-list of request headers, bit 4: close the client connection, or for requests
// a named route's representation-only fetch, bit 5: underscores allowed); the rest is one
// message head (anything after it is ignored).
#include "lacquer/core/assert.h"
#include "lacquer/http/head.h"
#include "lacquer/http/head_parser.h"
#include "lacquer/http/serialize.h"

#include <algorithm>
#include <cctype>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace {

using namespace lacquer;
using namespace lacquer::http;
using Status = HeadParser::Status;

constexpr std::string_view kDefaultHost = "default.invalid";
constexpr HeadLimits kWrittenLimits{1 << 20, 1 << 20}; // what we write may be longer than read

struct Field {
    std::string name;
    std::string value;
    bool operator==(const Field&) const = default;
};

bool one_of(std::string_view name, std::initializer_list<std::string_view> names) {
    return std::any_of(names.begin(), names.end(),
                       [name](std::string_view n) { return iequals(n, name); });
}

bool named_by_connection(const HeaderList& headers, std::string_view name) {
    for (const Header& h : headers) {
        if (!iequals(h.name, "Connection")) {
            continue;
        }
        std::string_view list = h.value;
        while (!list.empty()) {
            const std::size_t comma = list.find(',');
            std::string_view token = list.substr(0, comma);
            while (!token.empty() && (token.front() == ' ' || token.front() == '\t')) {
                token.remove_prefix(1);
            }
            while (!token.empty() && (token.back() == ' ' || token.back() == '\t')) {
                token.remove_suffix(1);
            }
            if (iequals(token, name)) {
                return true;
            }
            list = comma == std::string_view::npos ? std::string_view() : list.substr(comma + 1);
        }
    }
    return false;
}

bool hop_by_hop(std::string_view name) {
    return one_of(name, {"Connection", "Keep-Alive", "Proxy-Connection", "TE", "Trailer",
                         "Transfer-Encoding", "Upgrade", "Proxy-Authenticate",
                         "Proxy-Authorization", "Content-Length"});
}

std::vector<Field> fields_of(const HeaderList& headers) {
    std::vector<Field> out;
    for (const Header& h : headers) {
        out.push_back({std::string(h.name), std::string(h.value)});
    }
    return out;
}

// Every non-empty value of the list field `name`, in order, then `added` (RFC 9110 §5.3);
// only `added` when Connection names the field (it was for the previous hop).
std::string joined(const HeaderList& headers, std::string_view name, std::string_view added) {
    if (named_by_connection(headers, name)) {
        return std::string(added);
    }
    std::string v;
    for (const Header& h : headers) {
        if (iequals(h.name, name) && !h.value.empty()) {
            v += std::string(h.value) + ", ";
        }
    }
    return v + std::string(added);
}

// The parser reports Content-Length: 0 as no body (Framing::None).
void expect_framing(const Framing& got, const Framing& want) {
    if (want.kind == Framing::Kind::Length && want.length == 0) {
        LACQUER_ASSERT(got.kind == Framing::Kind::None);
        return;
    }
    LACQUER_ASSERT(got.kind == want.kind);
    LACQUER_ASSERT(want.kind != Framing::Kind::Length || got.length == want.length);
}

// The oracle's own reading of "names the client's address or routes it elsewhere".
bool routes_the_client(std::string_view name) {
    std::string n(name);
    for (char& c : n) {
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    const std::string_view v(n);
    return v.starts_with("x-forwarded-") || v.starts_with("x-original-") ||
           v.starts_with("x-rewrite-") || v.starts_with("x-override-") || v == "forwarded" ||
           v == "x-forwarded" || v == "x-host" || v == "x-http-method" ||
           v.find("method-override") != std::string_view::npos || v.ends_with("-ip") ||
           v.ends_with("-addr");
}

void roundtrip_request(const RequestHead& r, std::uint8_t flags) {
    const std::vector<std::string> allow{"Accept", "Accept-Language", "X-Currency"};
    ForwardedRequest fwd;
    fwd.target = r.target.front() == '/' ? r.target : std::string_view("/");
    fwd.client_addr = "192.0.2.7";
    fwd.host = kDefaultHost;
    fwd.shared_fetch = (flags & 4) != 0;
    fwd.allowed_headers = (flags & 8) != 0 ? &allow : nullptr;
    fwd.representation_only = (flags & 16) != 0;
    fwd.allow_underscores = (flags & 32) != 0;
    if (r.framing.kind == Framing::Kind::Length || r.framing.kind == Framing::Kind::Chunked) {
        fwd.body = r.framing;
    }
    std::string out;
    write_upstream_request(out, r, fwd);

    // The oracle: which client headers an origin may see, in their order.
    std::vector<Field> want;
    for (const Header& h : r.headers) {
        const bool host = iequals(h.name, "Host");
        if (!host && (hop_by_hop(h.name) || named_by_connection(r.headers, h.name))) {
            continue;
        }
        if (one_of(h.name, {"Expect", "X-Forwarded-For", "Via"})) {
            continue;
        }
        if (fwd.shared_fetch && one_of(h.name, {"If-None-Match", "If-Modified-Since", "If-Match",
                                                "If-Unmodified-Since", "If-Range", "Range"})) {
            continue;
        }
        const bool named = fwd.allowed_headers != nullptr &&
                           one_of(h.name, {"Accept", "Accept-Language", "X-Currency"});
        if (!fwd.allow_underscores && !named && h.name.find('_') != std::string_view::npos) {
            continue;
        }
        if (!host && fwd.allowed_headers != nullptr && !named) {
            continue;
        }
        if (!host && fwd.allowed_headers == nullptr && fwd.shared_fetch &&
            (fwd.representation_only ? !one_of(h.name, {"Accept", "Accept-Encoding",
                                                        "Accept-Language", "Accept-Charset"})
                                     : routes_the_client(h.name))) {
            continue;
        }
        // The origin gets the authority the proxy routed under, in the client's Host line.
        want.push_back({std::string(h.name), std::string(host ? kDefaultHost : h.value)});
    }
    if (r.headers.find("Host") == nullptr) {
        want.push_back({"Host", std::string(kDefaultHost)});
    }
    want.push_back({"X-Forwarded-For",
                    fwd.shared_fetch ? std::string(fwd.client_addr)
                                     : joined(r.headers, "X-Forwarded-For", fwd.client_addr)});
    want.push_back(
        {"Via", joined(r.headers, "Via", r.version_minor == 0 ? "1.0 lacquer" : "1.1 lacquer")});
    if (fwd.body.kind == Framing::Kind::Length) {
        want.push_back({"Content-Length", std::to_string(fwd.body.length)});
    } else if (fwd.body.kind == Framing::Kind::Chunked) {
        want.push_back({"Transfer-Encoding", "chunked"});
    }

    HeadParser again(HeadKind::Request, kWrittenLimits);
    const HeadParser::Fed fed = again.feed(out.data(), out.size());
    LACQUER_ASSERT(fed.status == Status::Complete);
    LACQUER_ASSERT(fed.consumed == out.size());
    const RequestHead& w = again.request();
    LACQUER_ASSERT(w.method == r.method);
    LACQUER_ASSERT(w.target == fwd.target);
    LACQUER_ASSERT(w.version_major == 1 && w.version_minor == 1);
    LACQUER_ASSERT(w.keep_alive);
    LACQUER_ASSERT(w.headers.count_of("Host") == 1);
    LACQUER_ASSERT(w.headers.count_of("Content-Length") + w.headers.count_of("Transfer-Encoding") <=
                   1);
    expect_framing(w.framing, fwd.body);
    LACQUER_ASSERT(fields_of(w.headers) == want);
}

bool bodiless(int status, bool to_head) {
    return to_head || status < 200 || status == 204 || status == 304;
}

// The framing ClientSession gives a client (origin_response.cc): a HEAD answer keeps the declared
// length, a bodiless status has none, an empty body gets Content-Length: 0, and a chunked or
// close-delimited one is chunked for an HTTP/1.1 client.
Framing client_framing(const ResponseHead& r, bool to_head) {
    if (to_head) {
        return r.has_content_length ? Framing{Framing::Kind::Length, r.content_length} : Framing{};
    }
    if (bodiless(r.status, false)) {
        return {};
    }
    switch (r.framing.kind) {
    case Framing::Kind::None:
        return {Framing::Kind::Length, 0};
    case Framing::Kind::Length:
        return r.framing;
    case Framing::Kind::Chunked:
    case Framing::Kind::UntilClose:
        return {Framing::Kind::Chunked, 0};
    }
    return {};
}

void roundtrip_response(const ResponseHead& r, std::uint8_t flags) {
    const bool to_head = (flags & 2) != 0;
    ClientResponseFraming framing;
    framing.body = client_framing(r, to_head);
    framing.close = (flags & 16) != 0;
    std::string out;
    write_client_response(out, r, framing);

    std::vector<Field> want;
    for (const Header& h : r.headers) {
        if (hop_by_hop(h.name) || named_by_connection(r.headers, h.name) ||
            iequals(h.name, "Via")) {
            continue;
        }
        want.push_back({std::string(h.name), std::string(h.value)});
    }
    want.push_back({"Via", joined(r.headers, "Via", "1.1 lacquer")});
    if (framing.body.kind == Framing::Kind::Length) {
        want.push_back({"Content-Length", std::to_string(framing.body.length)});
    } else if (framing.body.kind == Framing::Kind::Chunked) {
        want.push_back({"Transfer-Encoding", "chunked"});
    }
    if (framing.close) {
        want.push_back({"Connection", "close"});
    }

    HeadParser again(HeadKind::Response, kWrittenLimits);
    again.expect_response_to(to_head ? "HEAD" : "GET");
    const HeadParser::Fed fed = again.feed(out.data(), out.size());
    LACQUER_ASSERT(fed.status == Status::Complete);
    LACQUER_ASSERT(fed.consumed == out.size());
    const ResponseHead& w = again.response();
    LACQUER_ASSERT(w.status == r.status);
    LACQUER_ASSERT(w.reason == (r.reason.empty() ? reason_phrase(r.status) : r.reason));
    LACQUER_ASSERT(w.version_major == 1 && w.version_minor == 1);
    LACQUER_ASSERT(fields_of(w.headers) == want);
    LACQUER_ASSERT(w.keep_alive == !framing.close);
    if (to_head) {
        LACQUER_ASSERT(w.framing.kind == Framing::Kind::None);
        LACQUER_ASSERT(w.has_content_length == r.has_content_length);
        LACQUER_ASSERT(w.content_length == r.content_length);
    } else {
        expect_framing(w.framing, framing.body);
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 1) {
        return 0;
    }
    const std::uint8_t flags = data[0];
    const std::string_view input(reinterpret_cast<const char*>(data + 1), size - 1);
    const bool response = (flags & 1) != 0;
    HeadParser parser(response ? HeadKind::Response : HeadKind::Request, HeadLimits{});
    if (response) {
        parser.expect_response_to((flags & 2) != 0 ? "HEAD" : "GET");
    }
    if (parser.feed(input.data(), input.size()).status != Status::Complete) {
        return 0;
    }
    // What we add (Via, X-Forwarded-For, Host, framing, Connection) must still fit the list.
    if (response) {
        if (parser.response().headers.count + 3 <= kMaxHeaders) {
            roundtrip_response(parser.response(), flags);
        }
    } else if (parser.request().headers.count + 4 <= kMaxHeaders) {
        roundtrip_request(parser.request(), flags);
    }
    return 0;
}
