// Case-insensitive header lookup for tests; linear scans, since test messages are small.
#include "support/header_fields.h"

namespace lacquer::test {

namespace {

char lower(char c) {
    return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

} // namespace

bool iequals(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) {
        return false;
    }
    for (std::size_t i = 0; i < a.size(); ++i) {
        if (lower(a[i]) != lower(b[i])) {
            return false;
        }
    }
    return true;
}

std::optional<std::string> find_header(const HeaderFields& headers, std::string_view name) {
    for (const auto& [field, value] : headers) {
        if (iequals(field, name)) {
            return value;
        }
    }
    return std::nullopt;
}

std::vector<std::string> header_values(const HeaderFields& headers, std::string_view name) {
    std::vector<std::string> values;
    for (const auto& [field, value] : headers) {
        if (iequals(field, name)) {
            values.push_back(value);
        }
    }
    return values;
}

} // namespace lacquer::test
