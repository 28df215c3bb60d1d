// The `log` section: where the access log goes, its format and named fields, and the request
// id and trace context the proxy keeps for each request.
#include "field_syntax.h"
#include "lacquer/config/log_fields.h"
#include "sections.h"

#include <algorithm>
#include <array>

namespace lacquer::config {

namespace {

struct NamedField {
    std::string_view name;
    LogField field;
};

constexpr NamedField kFields[] = {
#define LACQUER_LOG_FIELD_NAME(id, name, what) {name, LogField::id},
    LACQUER_LOG_FIELDS(LACQUER_LOG_FIELD_NAME)
#undef LACQUER_LOG_FIELD_NAME
};

// nginx's (and a few common) names for the same values.
constexpr NamedField kAliases[] = {
    {"remote_addr", LogField::Client},
    {"request_method", LogField::Method},
    {"request_uri", LogField::Target},
    {"url", LogField::Target},
    {"server_protocol", LogField::Protocol},
    {"body_bytes_sent", LogField::Bytes},
    {"request_length", LogField::RequestBytes},
    {"http_referer", LogField::Referer},
    {"http_user_agent", LogField::UserAgent},
    {"http_host", LogField::Host},
    {"cache_status", LogField::Cache},
    {"tls_version", LogField::Tls},
    {"ssl_protocol", LogField::Tls},
    {"ssl_server_name", LogField::Sni},
};

} // namespace

std::optional<LogField> log_field_named(std::string_view name) {
    for (const NamedField& f : kFields) {
        if (f.name == name) {
            return f.field;
        }
    }
    for (const NamedField& f : kAliases) {
        if (f.name == name) {
            return f.field;
        }
    }
    return std::nullopt;
}

std::string_view log_field_name(LogField field) {
    const auto i = static_cast<std::size_t>(field);
    return i < std::size(kFields) ? kFields[i].name : std::string_view("?");
}

namespace detail {

namespace {

// A line has at most this many fields: a longer list is a mistake, not a log format.
constexpr std::size_t kMaxLogFields = 64;

std::vector<LogFieldSpec> read_fields(const YamlValue& value) {
    std::vector<LogFieldSpec> fields;
    const std::vector<YamlValue> items = value.as_list();
    if (items.empty()) {
        value.fail("expected at least one field name");
    }
    if (items.size() > kMaxLogFields) {
        value.fail("at most " + std::to_string(kMaxLogFields) + " fields, got " +
                   std::to_string(items.size()));
    }
    for (const YamlValue& item : items) {
        const std::string name = item.as_string();
        const std::optional<LogField> field = log_field_named(name);
        if (!field) {
            std::string known;
            for (const NamedField& f : kFields) {
                known += known.empty() ? "" : ", ";
                known += f.name;
            }
            item.fail("unknown log field " + quoted(name) + " (known: " + known + ")");
        }
        if (std::any_of(fields.begin(), fields.end(),
                        [&](const LogFieldSpec& f) { return f.name == name; })) {
            item.fail("log field " + quoted(name) + " is listed twice");
        }
        fields.push_back({*field, name});
    }
    return fields;
}

} // namespace

LogConfig read_log(const YamlValue& value) {
    const YamlMap map =
        YamlMap::with_keys(value, {"access", "format", "fields", "request_id", "traceparent"});
    LogConfig log;
    if (const std::optional<YamlValue> access = map.find("access")) {
        const std::string target = access->as_string();
        if (target == "stdout") {
            log.access = AccessLogTarget::Stdout;
        } else if (target == "off") {
            log.access = AccessLogTarget::Off;
        } else if (target.empty()) {
            access->fail("expected stdout, off or a file path, got \"\"");
        } else {
            log.access = AccessLogTarget::File;
            log.access_path = target;
        }
    }
    const std::optional<YamlValue> format = map.find("format");
    if (format) {
        log.format = format->as_enum<AccessLogFormat>({{"combined", AccessLogFormat::Combined},
                                                       {"json", AccessLogFormat::Json},
                                                       {"custom", AccessLogFormat::Custom}});
    }
    if (const std::optional<YamlValue> fields = map.find("fields")) {
        log.fields = read_fields(*fields);
    } else if (log.format == AccessLogFormat::Custom) {
        format->fail("format: custom needs `fields`, the list of what each line says");
    }
    if (const std::optional<YamlValue> id = map.find("request_id")) {
        log.request_id = id->as_bool();
    }
    if (const std::optional<YamlValue> trace = map.find("traceparent")) {
        log.traceparent = trace->as_enum<TraceparentMode>(
            {{"pass", TraceparentMode::Pass}, {"start", TraceparentMode::Start}});
    }
    return log;
}

} // namespace detail
} // namespace lacquer::config
