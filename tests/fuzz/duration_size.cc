// libFuzzer target: durations and sizes. Whatever parses formats back to text that parses to
// the same value, formatting is canonical (format . parse . format == format), and any 64-bit
// value survives format -> parse. Run under UBSan to catch overflow in the scaling.
#include "lacquer/config/units.h"
#include "lacquer/core/assert.h"

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using lacquer::config::format_duration;
    using lacquer::config::format_size;
    using lacquer::config::parse_duration;
    using lacquer::config::parse_size;

    const std::string_view text(reinterpret_cast<const char*>(data), size);
    if (const auto duration = parse_duration(text)) {
        LACQUER_ASSERT(duration->count() >= 0);
        const std::string formatted = format_duration(*duration);
        LACQUER_ASSERT(parse_duration(formatted) == duration);
        LACQUER_ASSERT(format_duration(*parse_duration(formatted)) == formatted);
    }
    if (const auto bytes = parse_size(text)) {
        const std::string formatted = format_size(*bytes);
        LACQUER_ASSERT(parse_size(formatted) == bytes);
        LACQUER_ASSERT(format_size(*parse_size(formatted)) == formatted);
    }
    // The raw bytes as a number: every value must survive format -> parse.
    std::uint64_t raw = 0;
    std::memcpy(&raw, data, size < sizeof raw ? size : sizeof raw);
    LACQUER_ASSERT(parse_size(format_size(raw)) == raw);
    const std::chrono::milliseconds millis(static_cast<std::int64_t>(raw >> 1));
    LACQUER_ASSERT(parse_duration(format_duration(millis)) == millis);
    return 0;
}
