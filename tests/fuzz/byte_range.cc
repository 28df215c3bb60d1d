// libFuzzer target: Range field values -> plan_byte_range, If-Range -> if_range_matches.
// Beyond "no crash":
// - a Single plan lies inside the representation (first <= last < length), and the same value
//   plans the same way twice;
// - an Unsatisfiable plan never comes from a representation that a suffix range could reach;
// - a longer representation never turns a Single plan Unsatisfiable (ranges only grow);
// - the unit is case-insensitive: the value upper-cased plans the same.
//
// Input: the first 8 bytes are the representation's length (little-endian, kept under 2^40),
// the rest is the Range value; its part after a 0x01 byte, if any, is also tried as If-Range.
#include "lacquer/http/byte_range.h"

#include "lacquer/core/assert.h"

#include <algorithm>
#include <cctype>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

using namespace lacquer::http;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::uint64_t length = 0;
    if (size >= 8) {
        std::memcpy(&length, data, 8);
        data += 8;
        size -= 8;
    }
    length &= (std::uint64_t{1} << 40) - 1;
    if ((length & 1) != 0) {
        length &= 0xffff; // half the inputs keep lengths in the range of the digits typed
    }
    const std::string_view input(reinterpret_cast<const char*>(data), size);
    const std::string_view value = input.substr(0, input.find('\x01'));

    const RangePlan plan = plan_byte_range(value, length);
    const RangePlan again = plan_byte_range(value, length);
    LACQUER_ASSERT(plan.kind == again.kind && plan.first == again.first && plan.last == again.last);
    if (plan.kind == RangeKind::Single) {
        LACQUER_ASSERT(plan.first <= plan.last && plan.last < length);
        LACQUER_ASSERT(plan.size() >= 1 && plan.size() <= length);
        const RangePlan longer = plan_byte_range(value, length + 1000);
        LACQUER_ASSERT(longer.kind != RangeKind::Unsatisfiable);
    }
    if (plan.kind == RangeKind::Unsatisfiable) {
        LACQUER_ASSERT(plan.first == 0 && plan.last == 0);
    }
    std::string upper(value);
    std::transform(upper.begin(), upper.end(), upper.begin(), [](char c) {
        return static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    });
    const RangePlan upper_plan = plan_byte_range(upper, length);
    LACQUER_ASSERT(upper_plan.kind == plan.kind && upper_plan.first == plan.first &&
                   upper_plan.last == plan.last);

    if (const std::size_t sep = input.find('\x01'); sep != std::string_view::npos) {
        const std::string_view if_range = input.substr(sep + 1);
        // The validators the object has: the value itself as ETag and as Last-Modified.
        const bool as_tag = if_range_matches(if_range, if_range, {}, 0);
        LACQUER_ASSERT(!as_tag || (if_range.size() >= 2 && if_range.find('"') != if_range.npos));
        LACQUER_ASSERT(!if_range_matches(if_range, {}, if_range, 0)); // no Date: never strong
        [[maybe_unused]] const bool as_date =
            if_range_matches(if_range, {}, if_range, std::int64_t{1} << 40);
    }
    return 0;
}
