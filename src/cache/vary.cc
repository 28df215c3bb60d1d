#include "lacquer/cache/vary.h"

namespace lacquer::cache {

namespace {

struct VaryEntry {
    std::string_view name;
    std::string_view value; // "=<value>" or "!"
};

// Reads the next entry of `spec` into `entry`; false at the end or on a malformed spec.
bool next_entry(std::string_view& spec, VaryEntry& entry) {
    const std::size_t name_end = spec.find('\n');
    if (name_end == std::string_view::npos) {
        return false;
    }
    const std::size_t value_end = spec.find('\n', name_end + 1);
    if (value_end == std::string_view::npos) {
        return false;
    }
    entry.name = spec.substr(0, name_end);
    entry.value = spec.substr(name_end + 1, value_end - name_end - 1);
    spec.remove_prefix(value_end + 1);
    return true;
}

} // namespace

void append_vary_entry(std::string& spec, std::string_view name, const http::HeaderList& request) {
    spec.append(name);
    spec.push_back('\n');
    if (const http::Header* h = request.find(name)) {
        spec.push_back('=');
        spec.append(h->value);
    } else {
        spec.push_back('!');
    }
    spec.push_back('\n');
}

bool vary_matches(std::string_view spec, const http::HeaderList* request) {
    VaryEntry entry;
    while (next_entry(spec, entry)) {
        const http::Header* h = request != nullptr ? request->find(entry.name) : nullptr;
        if (h == nullptr) {
            if (entry.value != "!") {
                return false;
            }
        } else if (entry.value.empty() || entry.value.front() != '=' ||
                   entry.value.substr(1) != h->value) {
            return false;
        }
    }
    return spec.empty();
}

bool vary_names_equal(std::string_view a, std::string_view b) {
    VaryEntry ea;
    VaryEntry eb;
    for (;;) {
        const bool more_a = next_entry(a, ea);
        const bool more_b = next_entry(b, eb);
        if (!more_a || !more_b) {
            return more_a == more_b;
        }
        if (!http::iequals(ea.name, eb.name)) {
            return false;
        }
    }
}

} // namespace lacquer::cache
