// Address ranges for allow-lists: CIDR and bare addresses, v4 and v6, the refusals (host bits
// set, prefix out of range, not an address), and membership, IPv4-mapped peers included.
#include "lacquer/config/address_range.h"

#include <gtest/gtest.h>

namespace lacquer::config {
namespace {

AddressRange range(std::string_view text) {
    const std::optional<AddressRange> r = parse_address_range(text);
    EXPECT_TRUE(r.has_value()) << text;
    return r.value_or(AddressRange{});
}

TEST(AddressRange, ParsesCidrAndBareAddresses) {
    EXPECT_EQ(range("10.0.0.0/8").prefix, 8);
    EXPECT_FALSE(range("10.0.0.0/8").v6);
    EXPECT_EQ(range("127.0.0.1").prefix, 32);
    EXPECT_EQ(range("::1").prefix, 128);
    EXPECT_TRUE(range("fd00::/8").v6);
    EXPECT_EQ(range("0.0.0.0/0").prefix, 0);
    for (std::string_view bad : {"", "10.0.0.1/8", "10.0.0.0/33", "10.0.0.0/", "10.0.0.0/x",
                                 "10.0.0.0/-1", "::1/129", "localhost", "10.0.0/8", "1.2.3.4 "}) {
        EXPECT_FALSE(parse_address_range(bad).has_value()) << "'" << bad << "'";
    }
}

TEST(AddressRange, ContainsPeersOfItsFamilyInsideItsPrefix) {
    const AddressRange ten = range("10.0.0.0/8");
    EXPECT_TRUE(range_contains(ten, "10.1.2.3"));
    EXPECT_FALSE(range_contains(ten, "11.0.0.1"));
    EXPECT_TRUE(range_contains(ten, "::ffff:10.9.9.9")); // IPv4-mapped
    EXPECT_FALSE(range_contains(ten, "::1"));
    EXPECT_FALSE(range_contains(ten, "not an address"));
    const AddressRange odd = range("192.168.4.0/22");
    EXPECT_TRUE(range_contains(odd, "192.168.7.255"));
    EXPECT_FALSE(range_contains(odd, "192.168.8.0"));
    EXPECT_TRUE(range_contains(range("::1"), "::1"));
    EXPECT_FALSE(range_contains(range("::1"), "::2"));
    EXPECT_TRUE(range_contains(range("fd00::/8"), "fd12:3456::1"));
    EXPECT_TRUE(range_contains(range("0.0.0.0/0"), "203.0.113.9"));
}

} // namespace
} // namespace lacquer::config
