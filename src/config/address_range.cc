#include "lacquer/config/address_range.h"

#include <arpa/inet.h>
#include <charconv>
#include <cstring>

namespace lacquer::config {

namespace {

// Parses an address into 4 or 16 bytes; an IPv4-mapped IPv6 address becomes IPv4.
bool parse_address(std::string_view text, bool& v6, std::array<std::uint8_t, 16>& out) {
    char buf[64];
    if (text.empty() || text.size() >= sizeof buf) {
        return false;
    }
    std::memcpy(buf, text.data(), text.size());
    buf[text.size()] = '\0';
    out.fill(0);
    if (inet_pton(AF_INET, buf, out.data()) == 1) {
        v6 = false;
        return true;
    }
    if (inet_pton(AF_INET6, buf, out.data()) != 1) {
        return false;
    }
    static constexpr std::uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (std::memcmp(out.data(), kMapped, sizeof kMapped) == 0) {
        std::memmove(out.data(), out.data() + 12, 4);
        std::memset(out.data() + 4, 0, 12);
        v6 = false;
        return true;
    }
    v6 = true;
    return true;
}

bool prefix_equal(const std::array<std::uint8_t, 16>& a, const std::array<std::uint8_t, 16>& b,
                  int prefix) {
    const int full = prefix / 8;
    if (std::memcmp(a.data(), b.data(), static_cast<std::size_t>(full)) != 0) {
        return false;
    }
    const int rest = prefix % 8;
    if (rest == 0) {
        return true;
    }
    const auto mask = static_cast<std::uint8_t>(0xff << (8 - rest));
    return (a[static_cast<std::size_t>(full)] & mask) == (b[static_cast<std::size_t>(full)] & mask);
}

} // namespace

std::optional<AddressRange> parse_address_range(std::string_view text) {
    AddressRange range;
    range.text = std::string(text);
    const std::size_t slash = text.find('/');
    if (!parse_address(text.substr(0, slash), range.v6, range.bytes)) {
        return std::nullopt;
    }
    const int bits = range.v6 ? 128 : 32;
    range.prefix = bits;
    if (slash != std::string_view::npos) {
        const std::string_view digits = text.substr(slash + 1);
        int prefix = -1;
        const auto r = std::from_chars(digits.data(), digits.data() + digits.size(), prefix);
        if (digits.empty() || r.ec != std::errc() || r.ptr != digits.data() + digits.size() ||
            prefix < 0 || prefix > bits) {
            return std::nullopt;
        }
        range.prefix = prefix;
    }
    // Host bits must be zero: "10.0.0.1/8" is a typo for something.
    for (int bit = range.prefix; bit < bits; ++bit) {
        if ((range.bytes[static_cast<std::size_t>(bit / 8)] >> (7 - bit % 8)) & 1) {
            return std::nullopt;
        }
    }
    return range;
}

bool range_contains(const AddressRange& range, std::string_view peer) {
    bool v6 = false;
    std::array<std::uint8_t, 16> bytes{};
    return parse_address(peer, v6, bytes) && v6 == range.v6 &&
           prefix_equal(bytes, range.bytes, range.prefix);
}

} // namespace lacquer::config
