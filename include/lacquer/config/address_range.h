#pragma once
// Address ranges in CIDR notation ("10.0.0.0/8", "::1/128", or a bare address for one host),
// for the config's allow-lists, and the test "is this peer inside". IPv4-mapped IPv6 peers
// (::ffff:a.b.c.d) match IPv4 ranges.

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace lacquer::config {

struct AddressRange {
    bool v6 = false;
    std::array<std::uint8_t, 16> bytes{}; // the network, 4 or 16 bytes used
    int prefix = 0;                       // bits
    std::string text;                     // as written
};

// nullopt when `text` is not an address or a CIDR range (host bits set are refused too).
std::optional<AddressRange> parse_address_range(std::string_view text);

// `peer` is an address as text (Connection::peer_host()); false when it does not parse.
bool range_contains(const AddressRange& range, std::string_view peer);

} // namespace lacquer::config
