// GET /log and GET /debug/object on the running server (observation.h).
#include "observation.h"

#include "lacquer/cache/cache_key.h"
#include "lacquer/core/json_text.h"
#include "lacquer/proxy/purge_target.h"
#include "lacquer/proxy/transaction_filter.h"

#include <cstdio>
#include <string>

namespace lacquer::server {

namespace {

// The log's watcher as the admin listener's stream: it leaves when the stream goes.
class LogStream final : public admin::AdminStream {
public:
    explicit LogStream(std::unique_ptr<proxy::TransactionWatch> watch) : watch_(std::move(watch)) {}
    bool pump(std::string& out) override { return watch_->pump(out); }

private:
    std::unique_ptr<proxy::TransactionWatch> watch_;
};

std::string seconds(core::Millis ms) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.3f", static_cast<double>(ms.count()) / 1e3);
    return buf;
}

// The variant lines of a canonical key ("locale=de-DE\n..."), after its first four lines.
std::string_view variant_lines(std::string_view key) {
    for (int line = 0; line < 4; ++line) {
        const std::size_t nl = key.find('\n');
        if (nl == std::string_view::npos) {
            return {};
        }
        key.remove_prefix(nl + 1);
    }
    return key;
}

// Calls each(name, value) for each "name=value" line.
template <class Each> void each_variant(std::string_view lines, Each each) {
    while (!lines.empty()) {
        const std::size_t nl = lines.find('\n');
        const std::string_view line = lines.substr(0, nl);
        lines = nl == std::string_view::npos ? std::string_view() : lines.substr(nl + 1);
        const std::size_t eq = line.find('=');
        if (eq != std::string_view::npos) {
            each(line.substr(0, eq), line.substr(eq + 1));
        }
    }
}

// Where an object stands at `age`: fresh, servable stale while refreshing, only on an origin
// error, or past its hard bound (never served; eviction or the next fetch removes it).
std::string_view state_at(const cache::FreshnessWindow& w, core::Millis age) {
    if (age < w.ttl) {
        return "fresh";
    }
    if (age < w.ttl + w.stale && !w.must_revalidate) {
        return "stale";
    }
    if (age < w.hard_bound() && !w.must_revalidate) {
        return "stale-if-error";
    }
    return "expired";
}

void append_object_json(std::string& out, const cache::StoredObject& o, core::Instant now) {
    const cache::FreshnessWindow w = o.window();
    const core::Millis age = o.age_at(now);
    out.append("{\"key\": ");
    core::append_json_string(out, o.key());
    out.append(", \"variants\": {");
    bool first = true;
    each_variant(variant_lines(o.key()), [&](std::string_view name, std::string_view value) {
        out.append(first ? "" : ", ");
        first = false;
        core::append_json_string(out, name);
        out.append(": ");
        core::append_json_string(out, value);
    });
    out.append("}, \"vary\": ");
    core::append_json_string(out, o.vary());
    out.append(", \"status\": ").append(std::to_string(o.status()));
    out.append(", \"state\": \"").append(state_at(w, age)).append("\"");
    out.append(", \"age_s\": ").append(seconds(age));
    out.append(", \"ttl_s\": ").append(seconds(w.ttl));
    out.append(", \"fresh_left_s\": ").append(seconds(w.ttl - age));
    out.append(", \"stale_s\": ").append(seconds(w.stale));
    out.append(", \"stale_if_error_s\": ").append(seconds(w.stale_if_error));
    out.append(", \"hard_bound_s\": ").append(seconds(w.hard_bound()));
    out.append(", \"hard_bound_left_s\": ").append(seconds(w.hard_bound() - age));
    out.append(", \"must_revalidate\": ").append(w.must_revalidate ? "true" : "false");
    out.append(", \"body_bytes\": ").append(std::to_string(o.body_size()));
    out.append(", \"charge_bytes\": ").append(std::to_string(o.charge()));
    out.append(", \"tags\": [");
    std::string_view rest = o.tags();
    first = true;
    while (!rest.empty()) {
        const std::size_t end = rest.find_first_of(" ,\t");
        const std::string_view tag = rest.substr(0, end);
        rest = end == std::string_view::npos ? std::string_view() : rest.substr(end + 1);
        if (!tag.empty()) {
            out.append(first ? "" : ", ");
            first = false;
            core::append_json_string(out, tag);
        }
    }
    out.append("], \"etag\": ");
    core::append_json_string(out, o.etag());
    out.append(", \"last_modified\": ");
    core::append_json_string(out, o.last_modified());
    out.append(", \"hits\": ").append(std::to_string(o.hits()));
    out.append("}");
}

void append_object_text(std::string& out, const cache::StoredObject& o, core::Instant now) {
    const cache::FreshnessWindow w = o.window();
    const core::Millis age = o.age_at(now);
    out.append("variant");
    each_variant(variant_lines(o.key()), [&](std::string_view name, std::string_view value) {
        out.append(" ").append(name).append("=").append(value);
    });
    if (!o.vary().empty()) {
        out.append(" vary=").append(o.vary());
    }
    out.append("\n  status ").append(std::to_string(o.status()));
    out.append(", ").append(state_at(w, age)).append(", age ").append(seconds(age));
    out.append("s, fresh for ").append(seconds(w.ttl - age)).append("s (ttl ");
    out.append(seconds(w.ttl)).append("s), stale ").append(seconds(w.stale));
    out.append("s, stale-if-error ").append(seconds(w.stale_if_error));
    out.append("s, hard bound in ").append(seconds(w.hard_bound() - age)).append("s\n");
    out.append("  ").append(std::to_string(o.body_size())).append(" body bytes (");
    out.append(std::to_string(o.charge())).append(" charged), hits ");
    out.append(std::to_string(o.hits())).append(o.hits() >= 3 ? "+" : "");
    out.append(", tags [").append(o.tags()).append("]");
    out.append(", etag ").append(o.etag().empty() ? "-" : o.etag());
    out.append(", last-modified ").append(o.last_modified().empty() ? "-" : o.last_modified());
    out.append("\n");
}

admin::AdminAnswer inspect(const CurrentRoutes& current_routes, const cache::ObjectStore& store,
                           const cache::Coalescer& coalescer, const core::Clock& clock,
                           std::size_t max_uri_bytes, std::string_view url, std::string_view host,
                           bool json) {
    admin::AdminAnswer a;
    const std::shared_ptr<const proxy::RouteTable> routes = current_routes();
    std::string path_buffer(url.size(), '\0');
    cache::KeyBuffer buffer(max_uri_bytes);
    cache::BuiltKey key;
    const proxy::Route* route = nullptr;
    const bool keyed = proxy::purge_key(*routes, host.empty() ? std::string_view("-") : host, url,
                                        nullptr, path_buffer, buffer, key, &route);
    if (!keyed) {
        a.status = route == nullptr ? 400 : 404;
        a.body = route == nullptr ? "400 Bad Request: the URL's path is not valid\n"
                 : route->cache == nullptr
                     ? "404 Not Found: route '" + route->name + "' does not cache this URL\n"
                     : "404 Not Found: route '" + route->name + "' builds no key for this URL\n";
        return a;
    }
    const core::Instant now = clock.now();
    const std::vector<cache::ObjectRef> objects = store.objects_of_url(key.url_hash, key.url);
    const std::vector<std::string> fetching = coalescer.fetching(key.url);
    std::string& out = a.body;
    if (json) {
        a.content_type = "application/json";
        out.append("{\"url\": ");
        core::append_json_string(out, url);
        out.append(", \"host\": ");
        core::append_json_string(out, host);
        out.append(", \"route\": ");
        core::append_json_string(out, route->name);
        out.append(", \"key\": ");
        core::append_json_string(out, key.url);
        out.append(", \"fetching\": [");
        for (std::size_t i = 0; i < fetching.size(); ++i) {
            out.append(i > 0 ? ", " : "");
            core::append_json_string(out, fetching[i]);
        }
        out.append("], \"objects\": [");
        for (std::size_t i = 0; i < objects.size(); ++i) {
            out.append(i > 0 ? ", " : "");
            append_object_json(out, *objects[i], now);
        }
        out.append("]}\n");
        return a;
    }
    out.append("url ").append(url).append(host.empty() ? "" : " host ").append(host);
    out.append("\nroute ").append(route->name).append("\nkey ");
    std::string_view lines = key.url;
    while (!lines.empty()) {
        const std::size_t nl = lines.find('\n');
        out.append(lines.substr(0, nl));
        lines = nl == std::string_view::npos ? std::string_view() : lines.substr(nl + 1);
        out.append(lines.empty() ? "" : " | ");
    }
    out.append("\nfetch in flight: ").append(fetching.empty() ? "no" : "yes");
    out.append(fetching.size() > 1 ? " (" + std::to_string(fetching.size()) + " keys)" : "");
    out.append("\n").append(std::to_string(objects.size())).append(" stored variant");
    out.append(objects.size() == 1 ? "\n" : "s\n");
    for (const cache::ObjectRef& o : objects) {
        append_object_text(out, *o, now);
    }
    return a;
}

} // namespace

admin::ObservationControl
make_observation_control(proxy::TransactionLog& log, const CurrentRoutes& routes,
                         const cache::ObjectStore& store, const cache::Coalescer& coalescer,
                         const core::Clock& clock, std::size_t max_uri_bytes) {
    admin::ObservationControl c;
    c.watch_log = [&log](std::string_view query,
                         std::string& error) -> std::shared_ptr<admin::AdminStream> {
        std::unique_ptr<const proxy::TransactionFilter> filter =
            proxy::TransactionFilter::parse(query, error);
        if (!filter) {
            return nullptr;
        }
        return std::make_shared<LogStream>(log.watch(std::move(filter)));
    };
    c.inspect = [routes, &store, &coalescer, &clock,
                 max_uri_bytes](std::string_view url, std::string_view host, bool json) {
        return inspect(routes, store, coalescer, clock, max_uri_bytes, url, host, json);
    };
    return c;
}

} // namespace lacquer::server
