// Durations and sizes as CONFIG.md writes them: a run of decimal digits and one unit, nothing
// else (no sign, no decimals, no spaces), so that every accepted text has exactly one meaning.
#include "lacquer/config/units.h"

#include <array>
#include <charconv>
#include <limits>

namespace lacquer::config {

namespace {

struct Unit {
    std::string_view suffix;
    std::uint64_t factor;
};

// Largest first: format_* picks the first unit that divides the value.
constexpr std::array<Unit, 4> kDurationUnits{{
    {"h", 3'600'000},
    {"m", 60'000},
    {"s", 1'000},
    {"ms", 1},
}};

constexpr std::array<Unit, 4> kSizeUnits{{
    {"GiB", 1ULL << 30},
    {"MiB", 1ULL << 20},
    {"KiB", 1ULL << 10},
    {"B", 1},
}};

bool is_digit(char c) {
    return c >= '0' && c <= '9';
}

// Splits "123unit", multiplies, and refuses anything above `max`.
template <std::size_t N>
std::optional<std::uint64_t> parse_scaled(std::string_view text, const std::array<Unit, N>& units,
                                          std::uint64_t max) {
    std::size_t digits = 0;
    while (digits < text.size() && is_digit(text[digits])) {
        ++digits;
    }
    if (digits == 0) {
        return std::nullopt;
    }
    std::uint64_t count = 0;
    const auto [end, error] = std::from_chars(text.data(), text.data() + digits, count);
    if (error != std::errc{} || end != text.data() + digits) {
        return std::nullopt; // too many digits for 64 bits
    }
    const std::string_view suffix = text.substr(digits);
    for (const Unit& unit : units) {
        if (suffix == unit.suffix) {
            if (count > max / unit.factor) {
                return std::nullopt;
            }
            return count * unit.factor;
        }
    }
    return std::nullopt;
}

template <std::size_t N>
std::string format_scaled(std::uint64_t value, const std::array<Unit, N>& units) {
    for (const Unit& unit : units) {
        if (value % unit.factor == 0 && (value != 0 || unit.factor == 1)) {
            return std::to_string(value / unit.factor) + std::string(unit.suffix);
        }
    }
    return std::to_string(value) + std::string(units.back().suffix); // unreachable: factor 1
}

} // namespace

std::optional<std::chrono::milliseconds> parse_duration(std::string_view text) {
    constexpr auto kMax =
        static_cast<std::uint64_t>(std::numeric_limits<std::chrono::milliseconds::rep>::max());
    const std::optional<std::uint64_t> millis = parse_scaled(text, kDurationUnits, kMax);
    if (!millis) {
        return std::nullopt;
    }
    return std::chrono::milliseconds(static_cast<std::chrono::milliseconds::rep>(*millis));
}

std::optional<std::uint64_t> parse_size(std::string_view text) {
    return parse_scaled(text, kSizeUnits, std::numeric_limits<std::uint64_t>::max());
}

std::string format_duration(std::chrono::milliseconds value) {
    if (value.count() == 0) {
        return "0s";
    }
    if (value.count() < 0) {
        // Not parseable on purpose: no config value is negative.
        return "-" + format_scaled(0 - static_cast<std::uint64_t>(value.count()), kDurationUnits);
    }
    return format_scaled(static_cast<std::uint64_t>(value.count()), kDurationUnits);
}

std::string format_size(std::uint64_t value) {
    return format_scaled(value, kSizeUnits);
}

} // namespace lacquer::config
