// RouteFingerprints: each caching route's key-relevant settings hashed in a fixed order, every
// string with its length so that no two settings run together. FNV-1a 64: a few hundred bytes
// per route, once per snapshot, and it is the same in every build (xxHash stays in cache/).
#include "lacquer/proxy/route_fingerprint.h"

#include <algorithm>
#include <string>

namespace lacquer::proxy {

namespace {

class Digest {
public:
    void add(std::string_view text) {
        number(text.size());
        for (const char c : text) {
            byte(static_cast<unsigned char>(c));
        }
    }
    void number(std::uint64_t n) {
        for (int i = 0; i < 8; ++i) {
            byte(static_cast<unsigned char>(n >> (8 * i)));
        }
    }
    std::uint64_t done() const { return h_ == 0 ? 1 : h_; } // 0 means "not caching"

private:
    void byte(unsigned char b) {
        h_ ^= b;
        h_ *= 0x100000001b3ULL;
    }
    std::uint64_t h_ = 0xcbf29ce484222325ULL;
};

std::uint64_t fingerprint(const Route& route, const http::PathRules& rules) {
    if (route.cache == nullptr || route.reject) {
        return 0;
    }
    const RouteCache& rc = *route.cache;
    Digest d;
    d.add("lacquer route key v1");
    d.add(route.name);
    d.number(rules.merge_slashes ? 1 : 0);
    d.number(rc.key.all_params ? 1 : 0);
    d.number(rc.key.params.size());
    for (const std::string& p : rc.key.params) {
        d.add(p);
    }
    d.number(static_cast<std::uint64_t>(rc.key.unknown_params));
    d.number(rc.key.variants.size());
    for (const cache::Variant* v : rc.key.variants) {
        d.add(v->name);
        d.number(v->sources.size());
        for (const cache::Variant::Source& s : v->sources) {
            d.number(static_cast<std::uint64_t>(s.kind));
            d.add(s.name);
            d.number(s.language_ranges ? 1 : 0);
        }
        d.number(v->values.size());
        for (const std::string& value : v->values) {
            d.add(value);
        }
        d.number(v->default_index);
        d.add(v->forward_header);
    }
    d.number(rc.forward_all_headers ? 1 : 0);
    d.number(rc.forward_headers.size());
    for (const std::string& h : rc.forward_headers) {
        d.add(h);
    }
    d.number(rc.representation_only ? 1 : 0);
    d.number(rc.allow_underscores ? 1 : 0);
    d.number(rc.withheld_headers.size());
    for (const std::string& h : rc.withheld_headers) {
        d.add(h);
    }
    return d.done();
}

} // namespace

RouteFingerprints::RouteFingerprints(const RouteTable& routes) : routes_(routes) {
    std::size_t size = routes.default_route().index + 1;
    for (const Route& r : routes.routes()) {
        size = std::max(size, r.index + 1);
    }
    by_index_.assign(size, 0);
    for (const Route& r : routes.routes()) {
        by_index_[r.index] = fingerprint(r, routes.path_rules());
    }
    by_index_[routes.default_route().index] =
        fingerprint(routes.default_route(), routes.path_rules());
}

std::uint64_t RouteFingerprints::of_key(std::string_view canonical_key) const {
    const cache::KeyFields fields = cache::key_fields(canonical_key);
    if (fields.method_class != "G" || fields.path.empty()) {
        return 0;
    }
    const Route& route = routes_.match(host_without_port(fields.host), fields.path, "GET");
    return route.index < by_index_.size() ? by_index_[route.index] : 0;
}

} // namespace lacquer::proxy
