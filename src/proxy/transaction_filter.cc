// A watcher's filter of the transaction log, read from the admin query (transaction_filter.h).
#include "lacquer/proxy/transaction_filter.h"

#include "lacquer/http/ascii.h"
#include "lacquer/http/head.h"
#include "lacquer/proxy/cache_status.h"
#include "lacquer/proxy/route_table.h"

#include <charconv>

namespace lacquer::proxy {

namespace {

// `raw` percent-decoded ('+' is a space); false when an escape is malformed.
bool decode(std::string_view raw, std::string& out) {
    out.clear();
    for (std::size_t i = 0; i < raw.size(); ++i) {
        if (raw[i] != '%') {
            out.push_back(raw[i] == '+' ? ' ' : raw[i]);
            continue;
        }
        const int hi = i + 2 < raw.size() ? http::hex_value(raw[i + 1]) : -1;
        const int lo = i + 2 < raw.size() ? http::hex_value(raw[i + 2]) : -1;
        if (hi < 0 || lo < 0) {
            return false;
        }
        out.push_back(static_cast<char>(hi * 16 + lo));
        i += 2;
    }
    return true;
}

template <class Int> bool read_number(std::string_view text, Int max, Int& out) {
    Int value = 0;
    const auto r = std::from_chars(text.data(), text.data() + text.size(), value);
    if (r.ec != std::errc() || r.ptr != text.data() + text.size() || value > max) {
        return false;
    }
    out = value;
    return true;
}

std::optional<int> cache_status_by_name(std::string_view name) {
    for (int i = 0; i <= static_cast<int>(CacheStatus::Error); ++i) {
        if (cache_status_name(static_cast<CacheStatus>(i)) == name) {
            return i;
        }
    }
    return std::nullopt;
}

} // namespace

std::unique_ptr<const TransactionFilter> TransactionFilter::parse(std::string_view query,
                                                                  std::string& error) {
    std::unique_ptr<TransactionFilter> f(new TransactionFilter());
    std::string seen; // one letter per parameter met, to refuse repeats
    std::string value;
    while (!query.empty()) {
        const std::size_t amp = query.find('&');
        const std::string_view pair = query.substr(0, amp);
        query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
        if (pair.empty()) {
            continue;
        }
        const std::size_t eq = pair.find('=');
        const std::string_view name = pair.substr(0, eq);
        if (!decode(eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1),
                    value)) {
            error = std::string(name) + ": bad percent-encoding";
            return nullptr;
        }
        static constexpr std::string_view kNames[] = {"url",    "route",  "status", "cache", "host",
                                                      "client", "slower", "format", "count"};
        std::size_t index = std::size(kNames);
        for (std::size_t i = 0; i < std::size(kNames); ++i) {
            if (kNames[i] == name) {
                index = i;
            }
        }
        if (index == std::size(kNames)) {
            error = "unknown parameter '" + std::string(name) +
                    "' (url, route, status, cache, host, client, slower, format, count)";
            return nullptr;
        }
        const char letter = static_cast<char>('a' + index);
        if (seen.find(letter) != std::string::npos) {
            error = std::string(name) + ": given twice";
            return nullptr;
        }
        seen.push_back(letter);
        switch (index) {
        case 0: {
            std::string why;
            f->url_ = UrlPattern::compile(value, why);
            if (!f->url_) {
                error = "url: " + why;
                return nullptr;
            }
            break;
        }
        case 1:
            f->route_ = value;
            break;
        case 2:
            if (value.size() == 3 && value[0] >= '1' && value[0] <= '5' &&
                (value.substr(1) == "xx" || value.substr(1) == "XX")) {
                f->status_class_ = value[0] - '0';
            } else if (!read_number(value, 999, f->status_) || f->status_ < 100) {
                error = "status: expected a code (404) or a class (5xx)";
                return nullptr;
            }
            break;
        case 3: {
            const std::optional<int> status = cache_status_by_name(value);
            if (!status) {
                error = "cache: expected hit, miss, stale, revalidated, coalesced, pass, "
                        "hit_for_miss, synth or error";
                return nullptr;
            }
            f->cache_status_ = *status;
            break;
        }
        case 4:
            f->host_ = std::string(host_without_port(value));
            break;
        case 5:
            f->client_ = config::parse_address_range(value);
            if (!f->client_) {
                error = "client: expected an address or a CIDR range (10.0.0.0/8)";
                return nullptr;
            }
            break;
        case 6: {
            std::uint32_t ms = 0;
            if (!read_number(value, std::uint32_t{4'000'000}, ms)) {
                error = "slower: expected milliseconds (0 to 4000000)";
                return nullptr;
            }
            f->slower_us_ = ms * 1000;
            f->has_slower_ = true;
            break;
        }
        case 7:
            if (value != "json" && value != "text") {
                error = "format: expected text or json";
                return nullptr;
            }
            f->json_ = value == "json";
            break;
        default:
            if (!read_number(value, std::uint64_t{1'000'000'000}, f->count_)) {
                error = "count: expected a number of records";
                return nullptr;
            }
            break;
        }
    }
    return f;
}

bool TransactionFilter::matches(const TransactionRecord& r) const {
    using Field = TransactionRecord::Field;
    if (status_ != 0 && r.status != status_) {
        return false;
    }
    if (status_class_ != 0 && r.status / 100 != status_class_) {
        return false;
    }
    if (cache_status_ >= 0 && r.cache_status != cache_status_) {
        return false;
    }
    if (has_slower_ && r.total_us <= slower_us_) {
        return false;
    }
    if (!route_.empty() && r.field(Field::Route) != route_) {
        return false;
    }
    if (!host_.empty() && !http::iequals(host_without_port(r.field(Field::Host)), host_)) {
        return false;
    }
    if (client_ && !config::range_contains(*client_, r.field(Field::Client))) {
        return false;
    }
    return !url_ || url_->matches(r.field(Field::Url));
}

} // namespace lacquer::proxy
