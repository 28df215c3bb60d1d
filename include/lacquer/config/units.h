#pragma once
// Durations ("250ms", "30s", "10m", "1h") and sizes ("512B", "64KiB", "16MiB", "1GiB"), as
// CONFIG.md writes them. Pure functions; no overflow: a value that does not fit is an error.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace lacquer::config {

std::optional<std::chrono::milliseconds> parse_duration(std::string_view text);
std::optional<std::uint64_t> parse_size(std::string_view text);

// The shortest text that parses back to the same value ("1500ms", "90s", "16MiB", "1000B").
std::string format_duration(std::chrono::milliseconds value);
std::string format_size(std::uint64_t value);

} // namespace lacquer::config
