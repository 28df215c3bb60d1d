#pragma once
// Header lists as tests see them: ordered (name, value) pairs exactly as received, with
// case-insensitive lookup. Plain vectors so tests can write {{"Accept", "*/*"}} inline.

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace lacquer::test {

using HeaderFields = std::vector<std::pair<std::string, std::string>>;

bool iequals(std::string_view a, std::string_view b);

// The first value of `name`, or nullopt when the header is absent.
std::optional<std::string> find_header(const HeaderFields& headers, std::string_view name);

// Every value of `name`, in order (repeated headers stay separate).
std::vector<std::string> header_values(const HeaderFields& headers, std::string_view name);

// Mixed into message types: `header("Age")` is "" when absent, so gmock's HasSubstr works on it.
template <typename Derived> class HeaderLookup {
public:
    std::string header(std::string_view name) const {
        return find_header(self().headers, name).value_or(std::string());
    }
    bool has_header(std::string_view name) const {
        return find_header(self().headers, name).has_value();
    }
    std::size_t header_count(std::string_view name) const {
        return header_values(self().headers, name).size();
    }

private:
    const Derived& self() const { return static_cast<const Derived&>(*this); }
};

} // namespace lacquer::test
