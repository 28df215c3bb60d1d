// libFuzzer target: PROXY protocol headers -> net::parse_proxy_header (issue 18 item 3).
// Beyond "no crash" (the buffer is exactly the input's size, so ASan sees any overrun):
// - Done: the header's length is within the input, and the source, when there is one, is a
//   numeric IPv4 or IPv6 address; the header alone parses the same (nothing after it matters);
// - feeding byte by byte agrees with feeding all at once: every strict prefix of a Done header,
//   and of an input still NeedMore, is NeedMore; a prefix of an Invalid input is never Done;
// - proxy_signature() says yes for a Done header and for an Invalid one that started like one.
#include "lacquer/net/proxy_header.h"

#include "lacquer/core/assert.h"

#include <arpa/inet.h>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace {

using lacquer::net::parse_proxy_header;
using lacquer::net::ProxyHeader;

bool numeric_address(std::string_view text) {
    const std::string copy(text);
    unsigned char binary[16];
    return inet_pton(AF_INET, copy.c_str(), binary) == 1 ||
           inet_pton(AF_INET6, copy.c_str(), binary) == 1;
}

ProxyHeader parse_exact(std::string_view bytes) {
    // A heap copy of exactly these bytes: ASan reports a read past them.
    const std::vector<char> copy(bytes.begin(), bytes.end());
    return parse_proxy_header(std::string_view(copy.data(), copy.size()));
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view input(reinterpret_cast<const char*>(data), size);
    const ProxyHeader whole = parse_exact(input);
    // Prefixes: all of them for short inputs, a spread of them for long ones.
    const std::size_t step = size < 256 ? 1 : size / 64;
    for (std::size_t n = 0; n < size; n += step) {
        const ProxyHeader prefix = parse_exact(input.substr(0, n));
        if (whole.status == ProxyHeader::Status::Done && n < whole.length) {
            LACQUER_ASSERT(prefix.status == ProxyHeader::Status::NeedMore);
        }
        if (whole.status == ProxyHeader::Status::NeedMore) {
            LACQUER_ASSERT(prefix.status == ProxyHeader::Status::NeedMore);
        }
        if (whole.status == ProxyHeader::Status::Invalid) {
            LACQUER_ASSERT(prefix.status != ProxyHeader::Status::Done);
        }
    }
    if (whole.status == ProxyHeader::Status::Done) {
        LACQUER_ASSERT(whole.length > 0 && whole.length <= size);
        LACQUER_ASSERT(whole.length <= lacquer::net::kMaxProxyHeader);
        LACQUER_ASSERT(whole.source_length == 0 || numeric_address(whole.source_host()));
        const ProxyHeader alone = parse_exact(input.substr(0, whole.length));
        LACQUER_ASSERT(alone.status == ProxyHeader::Status::Done);
        LACQUER_ASSERT(alone.length == whole.length);
        LACQUER_ASSERT(alone.source_host() == whole.source_host());
        LACQUER_ASSERT(lacquer::net::proxy_signature(input) == 1);
    }
    if (whole.status == ProxyHeader::Status::NeedMore) {
        LACQUER_ASSERT(size < lacquer::net::kMaxProxyHeader);
        LACQUER_ASSERT(lacquer::net::proxy_signature(input) >= 0);
    }
    return 0;
}
