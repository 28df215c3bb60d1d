#include "lacquer/cache/vary.h"

#include "lacquer/http/headers.h"

namespace lacquer::cache {

namespace {

// The members of a list-valued field (RFC 9110 §5.6.1), across all its lines (§5.3), each
// without the whitespace around it; empty members are skipped. Allocates nothing.
class Members {
public:
    Members(const http::HeaderList& headers, std::string_view name)
        : headers_(&headers), name_(name) {}
    explicit Members(std::string_view value) : rest_(value), pending_(true) {}

    bool next(std::string_view& member) {
        for (;;) {
            if (!pending_ && !next_line()) {
                return false;
            }
            const std::size_t comma = rest_.find(',');
            std::string_view m = rest_.substr(0, comma);
            if (comma == std::string_view::npos) {
                pending_ = false;
            } else {
                rest_.remove_prefix(comma + 1);
            }
            while (!m.empty() && (m.front() == ' ' || m.front() == '\t')) {
                m.remove_prefix(1);
            }
            while (!m.empty() && (m.back() == ' ' || m.back() == '\t')) {
                m.remove_suffix(1);
            }
            if (!m.empty()) {
                member = m;
                return true;
            }
        }
    }

private:
    bool next_line() {
        while (headers_ != nullptr && line_ < headers_->count) {
            const http::Header& h = headers_->items[line_++];
            if (http::iequals(h.name, name_)) {
                rest_ = h.value;
                pending_ = true;
                return true;
            }
        }
        return false;
    }

    const http::HeaderList* headers_ = nullptr;
    std::string_view name_;
    std::size_t line_ = 0;
    std::string_view rest_;
    bool pending_ = false;
};

// RFC 9111 §4.1: the values match once whitespace around list members is normalised and the
// field's lines are combined.
bool same_members(Members a, Members b) {
    std::string_view ma;
    std::string_view mb;
    for (;;) {
        const bool more_a = a.next(ma);
        const bool more_b = b.next(mb);
        if (!more_a || !more_b) {
            return more_a == more_b;
        }
        if (ma != mb) {
            return false;
        }
    }
}

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
    if (request.find(name) != nullptr) {
        spec.push_back('='); // the normalised members of all its lines, comma separated
        Members members(request, name);
        std::string_view member;
        for (bool first = true; members.next(member); first = false) {
            spec.append(first ? "" : ", ");
            spec.append(member);
        }
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
                   !same_members(Members(entry.value.substr(1)), Members(*request, entry.name))) {
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
