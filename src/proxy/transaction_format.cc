// The lines of the transaction log (transaction_filter.h): text for a terminal, JSON for tools
// (`lacquerctl top` reads these). The reader thread formats; workers never do.
#include "lacquer/core/json_text.h"
#include "lacquer/proxy/cache_status.h"
#include "lacquer/proxy/request_fsm.h"
#include "lacquer/proxy/transaction_filter.h"

#include <cstdio>
#include <ctime>

namespace lacquer::proxy {

namespace {

using Field = TransactionRecord::Field;

void append_ms(std::string& out, std::uint32_t us) {
    char buf[32];
    const int n = std::snprintf(buf, sizeof buf, "%.3f", static_cast<double>(us) / 1e3);
    out.append(buf, static_cast<std::size_t>(n));
}

// Text fields: a space or control byte would split the line, so they are escaped as %XX.
void append_word(std::string& out, std::string_view text) {
    static constexpr char kHex[] = "0123456789ABCDEF";
    if (text.empty()) {
        out.push_back('-');
        return;
    }
    for (const char c : text) {
        const auto byte = static_cast<unsigned char>(c);
        if (byte <= 0x20 || byte >= 0x7f || c == '"') {
            out.push_back('%');
            out.push_back(kHex[byte >> 4]);
            out.push_back(kHex[byte & 0xf]);
        } else {
            out.push_back(c);
        }
    }
}

void append_time(std::string& out, std::int64_t unix_time) {
    const auto t = static_cast<std::time_t>(unix_time);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[32];
    const std::size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    out.append(buf, n);
}

std::string_view cache_name(const TransactionRecord& r) {
    return cache_status_name(static_cast<CacheStatus>(r.cache_status));
}

void append_text(std::string& out, const TransactionRecord& r) {
    append_time(out, r.unix_time);
    out.push_back(' ');
    append_word(out, r.field(Field::Client));
    out.push_back(' ');
    append_word(out, r.field(Field::Method));
    out.push_back(' ');
    append_word(out, r.field(Field::Host));
    out.push_back(' ');
    append_word(out, r.field(Field::Url));
    out.append(" ").append(std::to_string(r.status));
    out.append(" ").append(cache_name(r));
    out.append(" route=");
    append_word(out, r.field(Field::Route));
    out.append(" total=");
    append_ms(out, r.total_us);
    out.append("ms bytes=").append(std::to_string(r.bytes));
    out.append(" origin=");
    append_word(out, r.field(Field::Origin));
    if (r.origin_us != TransactionRecord::kNoTime) {
        out.append(" origin_time=");
        append_ms(out, r.origin_us);
        out.append("ms");
    }
    if (r.first_byte_us != TransactionRecord::kNoTime) {
        out.append(" first_byte=");
        append_ms(out, r.first_byte_us);
        out.append("ms");
    }
    out.append(" cache_status=\"").append(r.field(Field::CacheStatus)).append("\"");
    const std::string_view key = r.field(Field::Key);
    if (!key.empty()) {
        out.append(" key=");
        std::string_view rest = key;
        while (!rest.empty()) { // the key's lines joined by '|'
            const std::size_t nl = rest.find('\n');
            append_word(out, rest.substr(0, nl));
            rest = nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);
            if (!rest.empty()) {
                out.push_back('|');
            }
        }
    }
    out.append(" steps=");
    for (std::size_t i = 0; i < r.step_count; ++i) {
        if (i > 0) {
            out.push_back(',');
        }
        out.append(step_name(static_cast<Step>(r.steps[i].step)));
        out.push_back(':');
        append_ms(out, r.steps[i].at_us);
    }
    out.push_back('\n');
}

void append_json(std::string& out, const TransactionRecord& r) {
    out.append("{\"time\": \"");
    append_time(out, r.unix_time);
    out.append("\", \"worker\": ").append(std::to_string(r.worker));
    static constexpr std::pair<Field, std::string_view> kTexts[] = {
        {Field::Client, "client"}, {Field::Method, "method"}, {Field::Host, "host"},
        {Field::Url, "url"},       {Field::Route, "route"},   {Field::Key, "key"}};
    for (const auto& [field, name] : kTexts) {
        out.append(", \"").append(name).append("\": ");
        core::append_json_string(out, r.field(field));
    }
    out.append(", \"variants\": {");
    std::string_view rest = r.variants();
    bool first = true;
    while (!rest.empty()) {
        const std::size_t nl = rest.find('\n');
        const std::string_view line = rest.substr(0, nl);
        rest = nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);
        const std::size_t eq = line.find('=');
        if (eq == std::string_view::npos) {
            continue;
        }
        out.append(first ? "" : ", ");
        first = false;
        core::append_json_string(out, line.substr(0, eq));
        out.append(": ");
        core::append_json_string(out, line.substr(eq + 1));
    }
    out.append("}, \"steps\": [");
    for (std::size_t i = 0; i < r.step_count; ++i) {
        out.append(i > 0 ? ", " : "").append("{\"step\": \"");
        out.append(step_name(static_cast<Step>(r.steps[i].step))).append("\", \"ms\": ");
        append_ms(out, r.steps[i].at_us);
        out.push_back('}');
    }
    out.append("], \"cache\": \"").append(cache_name(r)).append("\", \"cache_status\": ");
    core::append_json_string(out, r.field(Field::CacheStatus));
    out.append(", \"origin\": ");
    core::append_json_string(out, r.field(Field::Origin));
    out.append(", \"origin_ms\": ");
    if (r.origin_us == TransactionRecord::kNoTime) {
        out.append("null");
    } else {
        append_ms(out, r.origin_us);
    }
    out.append(", \"first_byte_ms\": ");
    if (r.first_byte_us == TransactionRecord::kNoTime) {
        out.append("null");
    } else {
        append_ms(out, r.first_byte_us);
    }
    out.append(", \"status\": ").append(std::to_string(r.status));
    out.append(", \"bytes\": ").append(std::to_string(r.bytes));
    out.append(", \"total_ms\": ");
    append_ms(out, r.total_us);
    out.append("}\n");
}

} // namespace

void append_transaction(std::string& out, const TransactionRecord& record, bool json) {
    if (json) {
        append_json(out, record);
    } else {
        append_text(out, record);
    }
}

void append_dropped(std::string& out, std::uint64_t dropped, bool json) {
    if (json) {
        out.append("{\"dropped\": ").append(std::to_string(dropped)).append("}\n");
    } else {
        out.append("# dropped ")
            .append(std::to_string(dropped))
            .append(" records: the reader was too slow\n");
    }
}

} // namespace lacquer::proxy
