// Config -> YAML in the shape load_config_file() reads. Strings are written double-quoted
// (escaped), so a path or a header name can never turn into YAML syntax; numbers, booleans and
// the enumerations plain.
#include "lacquer/config/write_config.h"

#include "lacquer/config/units.h"

#include <cstdio>
#include <string_view>

namespace lacquer::config {

namespace {

class YamlOut {
public:
    std::string text;

    static std::string quoted(std::string_view s) {
        std::string out = "\"";
        for (const char c : s) {
            const auto byte = static_cast<unsigned char>(c);
            if (c == '"' || c == '\\') {
                out.push_back('\\');
                out.push_back(c);
            } else if (byte < 0x20 || byte == 0x7f) {
                char hex[8];
                std::snprintf(hex, sizeof hex, "\\x%02X", byte);
                out.append(hex);
            } else {
                out.push_back(c);
            }
        }
        out.push_back('"');
        return out;
    }
    static std::string list(const std::vector<std::string>& items) {
        std::string out = "[";
        for (std::size_t i = 0; i < items.size(); ++i) {
            out.append(i == 0 ? "" : ", ").append(quoted(items[i]));
        }
        return out + "]";
    }

    // `key: value` at `depth` (two spaces each); `value` is written as it is.
    void raw(int depth, std::string_view key, std::string_view value) {
        indent(depth);
        text.append(key).append(": ").append(value).push_back('\n');
    }
    void str(int depth, std::string_view key, std::string_view value) {
        raw(depth, key, quoted(value));
    }
    void flag(int depth, std::string_view key, bool value) {
        raw(depth, key, value ? "true" : "false");
    }
    void number(int depth, std::string_view key, std::uint64_t value) {
        raw(depth, key, std::to_string(value));
    }
    void duration(int depth, std::string_view key, Duration value) {
        raw(depth, key, format_duration(value));
    }
    void size(int depth, std::string_view key, std::uint64_t value) {
        raw(depth, key, format_size(value));
    }
    void section(int depth, std::string_view key) {
        indent(depth);
        text.append(key).append(":\n");
    }
    // "- " opening a list item at `depth`; its first key follows on the same line.
    void item(int depth) {
        indent(depth);
        text.append("- ");
        pending_item_ = true;
    }

private:
    void indent(int depth) {
        if (pending_item_) {
            pending_item_ = false; // the key goes right after "- "
            return;
        }
        text.append(static_cast<std::size_t>(depth) * 2, ' ');
    }
    bool pending_item_ = false;
};

std::vector<std::string> range_texts(const std::vector<AddressRange>& ranges) {
    std::vector<std::string> out;
    out.reserve(ranges.size());
    for (const AddressRange& r : ranges) {
        out.push_back(r.text);
    }
    return out;
}

void write_listen(YamlOut& y, const Config& c) {
    y.section(0, "listen");
    for (const ListenerConfig& l : c.listen) {
        y.item(1);
        y.str(2, "address", l.address_text());
        if (!l.unix_path.empty()) {
            if (l.unix_mode) {
                char mode[8];
                std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(*l.unix_mode));
                y.str(2, "mode", mode);
            }
            if (!l.unix_owner.empty()) {
                y.str(2, "owner", l.unix_owner);
            }
        }
        if (l.tls && !l.tls->certificates.empty()) {
            const ListenerTls& tls = *l.tls;
            y.section(2, "tls");
            y.str(3, "certificate", tls.certificates[0].certificate);
            y.str(3, "private_key", tls.certificates[0].private_key);
            if (!tls.certificates[0].ocsp.empty()) {
                y.str(3, "ocsp", tls.certificates[0].ocsp);
            }
            if (tls.certificates.size() > 1) {
                y.section(3, "sni");
                for (std::size_t i = 1; i < tls.certificates.size(); ++i) {
                    y.item(4);
                    y.raw(5, "names", YamlOut::list(tls.certificates[i].names));
                    y.str(5, "certificate", tls.certificates[i].certificate);
                    y.str(5, "private_key", tls.certificates[i].private_key);
                    if (!tls.certificates[i].ocsp.empty()) {
                        y.str(5, "ocsp", tls.certificates[i].ocsp);
                    }
                }
            }
            if (!tls.ciphers.empty()) {
                y.str(3, "ciphers", tls.ciphers);
            }
            if (!tls.ciphersuites.empty()) {
                y.str(3, "ciphersuites", tls.ciphersuites);
            }
        }
        y.flag(2, "proxy_protocol", l.proxy_protocol);
        if (!l.proxy_from.empty()) {
            y.raw(2, "proxy_from", YamlOut::list(range_texts(l.proxy_from)));
        }
        y.raw(2, "balance", l.balance_exact ? "exact" : "kernel");
    }
}

std::string_view eviction_name(Eviction e) {
    switch (e) {
    case Eviction::Clock:
        return "clock";
    case Eviction::TinyLfu:
        return "tinylfu";
    case Eviction::S3Fifo:
        break;
    }
    return "s3fifo";
}

void write_server(YamlOut& y, const Config& c) {
    if (c.workers == 0) {
        y.raw(0, "workers", "auto");
    } else {
        y.number(0, "workers", c.workers);
    }
    y.flag(0, "merge_slashes", c.merge_slashes);
    write_listen(y, c);
    if (c.admin.present) {
        y.section(0, "admin");
        y.str(1, "address", c.admin.address.text());
        if (!c.admin.token_file.empty()) {
            y.str(1, "token_file", c.admin.token_file); // the path only, never the token
        }
        y.raw(1, "purge_from", YamlOut::list(range_texts(c.admin.purge_from)));
    }
    const Limits& l = c.limits;
    y.section(0, "limits");
    y.size(1, "max_header_bytes", l.max_header_bytes);
    y.size(1, "max_uri_bytes", l.max_uri_bytes);
    y.size(1, "max_body_bytes", l.max_body_bytes);
    y.number(1, "max_connections", l.max_connections);
    y.duration(1, "client_header_timeout", l.client_header_timeout);
    y.duration(1, "client_body_timeout", l.client_body_timeout);
    y.duration(1, "client_request_timeout", l.client_request_timeout);
    y.size(1, "client_body_buffer", l.client_body_buffer);
    y.str(1, "client_body_temp_dir", l.client_body_temp_dir);
    y.duration(1, "client_idle_timeout", l.client_idle_timeout);
    y.duration(1, "drain_timeout", l.drain_timeout);
    y.section(0, "storage");
    y.size(1, "memory", c.storage.memory);
    y.size(1, "max_object_size", c.storage.max_object_size);
    y.raw(1, "eviction", eviction_name(c.storage.eviction));
    if (!c.storage.snapshot.empty()) {
        y.str(1, "snapshot", c.storage.snapshot);
        if (c.storage.snapshot_every.count() > 0) {
            y.duration(1, "snapshot_every", c.storage.snapshot_every);
        }
    }
    y.section(0, "log");
    switch (c.log.access) {
    case AccessLogTarget::Stdout:
        y.raw(1, "access", "stdout");
        break;
    case AccessLogTarget::Off:
        y.raw(1, "access", "off");
        break;
    case AccessLogTarget::File:
        y.str(1, "access", c.log.access_path);
        break;
    }
    y.raw(1, "format",
          c.log.format == AccessLogFormat::Json     ? "json"
          : c.log.format == AccessLogFormat::Custom ? "custom"
                                                    : "combined");
    if (!c.log.fields.empty()) {
        std::vector<std::string> names;
        for (const LogFieldSpec& f : c.log.fields) {
            names.push_back(f.name);
        }
        y.raw(1, "fields", YamlOut::list(names));
    }
    y.flag(1, "request_id", c.log.request_id);
    y.raw(1, "traceparent", c.log.traceparent == TraceparentMode::Start ? "start" : "pass");
}

std::string_view balance_name(Balance b) {
    switch (b) {
    case Balance::LeastConnections:
        return "least_connections";
    case Balance::ConsistentHash:
        return "consistent_hash";
    case Balance::RoundRobin:
        break;
    }
    return "round_robin";
}

void write_origin(YamlOut& y, const OriginPoolConfig& p) {
    y.section(1, YamlOut::quoted(p.name));
    y.section(2, "servers");
    for (const OriginServerConfig& s : p.servers) {
        y.item(3);
        y.str(4, "address", s.address.text());
        y.number(4, "weight", s.weight);
    }
    y.raw(2, "balance", balance_name(p.balance));
    if (!p.tls.enabled) {
        y.flag(2, "tls", false);
    } else {
        y.section(2, "tls");
        y.flag(3, "verify", p.tls.verify);
        if (!p.tls.ca_file.empty()) {
            y.str(3, "ca_file", p.tls.ca_file);
        }
        if (!p.tls.server_name.empty()) {
            y.str(3, "server_name", p.tls.server_name);
        }
        if (!p.tls.certificate.empty()) {
            y.str(3, "certificate", p.tls.certificate);
            y.str(3, "private_key", p.tls.private_key);
        }
    }
    y.duration(2, "connect_timeout", p.connect_timeout);
    y.duration(2, "first_byte_timeout", p.first_byte_timeout);
    y.duration(2, "between_bytes_timeout", p.between_bytes_timeout);
    y.number(2, "max_connections_per_server", p.max_connections_per_server);
    if (p.health) {
        const HealthProbeConfig& h = *p.health;
        y.section(2, "health");
        y.str(3, "path", h.path);
        y.duration(3, "interval", h.interval);
        y.duration(3, "timeout", h.timeout);
        y.number(3, "unhealthy_after", h.unhealthy_after);
        y.number(3, "healthy_after", h.healthy_after);
        y.number(3, "expect_status", static_cast<std::uint64_t>(h.expect_status));
    }
    if (!p.outlier_detection.enabled) {
        y.flag(2, "outlier_detection", false);
    } else {
        const OutlierDetectionConfig& o = p.outlier_detection;
        y.section(2, "outlier_detection");
        y.number(3, "consecutive_failures", o.consecutive_failures);
        y.duration(3, "base_ejection_time", o.base_ejection_time);
        y.duration(3, "max_ejection_time", o.max_ejection_time);
        y.number(3, "max_ejected_percent", o.max_ejected_percent);
    }
    y.duration(2, "slow_start", p.slow_start);
    y.duration(2, "resolve_every", p.resolve_every);
    y.number(2, "retries", p.retry.retries);
    y.raw(2, "retry_budget", std::to_string(p.retry.budget_percent) + "%");
    y.flag(2, "retry_on_503", p.retry.on_503);
    y.flag(2, "retry_non_idempotent", p.retry.non_idempotent);
    y.number(2, "max_in_flight", p.admission.max_in_flight);
    y.number(2, "max_queue", p.admission.max_queue);
    y.duration(2, "queue_timeout", p.admission.queue_timeout);
}

void write_variants(YamlOut& y, const Config& c) {
    if (c.variants.empty()) {
        return;
    }
    y.section(0, "variants");
    for (const VariantConfig& v : c.variants) {
        y.section(1, YamlOut::quoted(v.name));
        y.raw(2, "sources", YamlOut::list(v.sources));
        y.raw(2, "values", YamlOut::list(v.values));
        y.str(2, "default", v.default_value);
        y.str(2, "forward_header", v.forward_header);
    }
}

std::string_view unknown_params_name(UnknownParams u) {
    return u == UnknownParams::Pass ? "pass" : u == UnknownParams::Reject ? "reject" : "strip";
}

void write_cache(YamlOut& y, int depth, const CachePolicyConfig& p) {
    y.section(depth, "cache");
    const int d = depth + 1;
    y.raw(d, "key_params", p.all_params ? "all" : YamlOut::list(p.key_params));
    y.raw(d, "unknown_params", unknown_params_name(p.unknown_params));
    y.raw(d, "variants", YamlOut::list(p.variants));
    if (p.forward_headers_set) {
        y.raw(d, "forward_headers", YamlOut::list(p.forward_headers));
    }
    y.duration(d, "ttl", p.ttl);
    y.flag(d, "override_ttl", p.override_ttl);
    y.duration(d, "stale", p.stale);
    y.duration(d, "stale_if_error", p.stale_if_error);
    y.duration(d, "hit_for_miss", p.hit_for_miss);
    if (p.wait_timeout.count() > 0) { // 0: derived from the origin's timeouts
        y.duration(d, "wait_timeout", p.wait_timeout);
    }
    if (!p.tags_header.empty()) {
        y.str(d, "tags_header", p.tags_header);
    }
    y.flag(d, "refuse_5xx", p.refuse_5xx);
    y.raw(d, "targeted_cache_control", YamlOut::list(p.targeted_cache_control));
    y.flag(d, "remove_targeted_cache_control", p.remove_targeted_cache_control);
}

void write_routes(YamlOut& y, const Config& c) {
    if (!c.routes.empty()) {
        y.section(0, "routes");
    }
    for (const RouteConfig& r : c.routes) {
        y.item(1);
        y.str(2, "name", r.name);
        y.section(2, "match");
        if (!r.match.host.empty()) {
            y.str(3, "host", r.match.host);
        }
        if (!r.match.path_prefix.empty()) {
            y.str(3, "path_prefix", r.match.path_prefix);
        }
        if (!r.match.path_regex.empty()) {
            y.str(3, "path_regex", r.match.path_regex);
        }
        y.raw(3, "methods", YamlOut::list(r.match.methods));
        if (!r.origin.empty()) {
            y.str(2, "origin", r.origin);
        }
        y.flag(2, "pass", r.pass);
        y.flag(2, "underscores_in_headers", r.underscores_in_headers);
        y.flag(2, "retry_non_idempotent", r.retry_non_idempotent);
        if (r.cache) {
            write_cache(y, 2, *r.cache);
        }
    }
    const DefaultRouteConfig& d = c.default_route;
    if (d.reject) {
        y.raw(0, "default_route", "reject");
        return;
    }
    y.section(0, "default_route");
    y.str(1, "origin", d.origin);
    y.flag(1, "pass", d.pass);
    y.flag(1, "underscores_in_headers", d.underscores_in_headers);
    y.flag(1, "retry_non_idempotent", d.retry_non_idempotent);
    if (!d.pass) {
        write_cache(y, 1, d.cache);
    }
}

} // namespace

std::string write_config_yaml(const Config& config) {
    YamlOut y;
    y.text = "# The effective config of lacquerd (" + config.file +
             "), defaults filled in.\n# Secrets are named by their files, never printed.\n";
    write_server(y, config);
    y.section(0, "origins");
    for (const OriginPoolConfig& p : config.origins) {
        write_origin(y, p);
    }
    write_variants(y, config);
    write_routes(y, config);
    return std::move(y.text);
}

} // namespace lacquer::config
