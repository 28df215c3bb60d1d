#pragma once
// Freshening a stored response with a 304 (RFC 9111 §4.3.4): the 304's header fields update
// the stored ones (§3.2), and freshness is decided again on the updated response. Pure: the
// time comes in as arguments. Used by CacheFill for foreground and background revalidation.

#include "lacquer/cache/freshness.h"
#include "lacquer/cache/stored_object.h"
#include "lacquer/core/clock.h"
#include "lacquer/http/head.h"
#include "lacquer/http/head_parser.h"

#include <cstdint>
#include <string>
#include <string_view>

namespace lacquer::proxy {

// The stored head (StoredObject::head(), status line included when it has one) updated with
// `fresh`'s fields (§3.2): each field the 304 sends replaces every stored field of that name;
// the others stay. Not updated: Content-Length (§3.2), Age and Via (per hop, the cache writes
// its own), and hop-by-hop fields or those the 304's Connection names (§3.1).
std::string merge_not_modified(std::string_view stored_head, const http::HeaderList& fresh);

// RFC 9111 §4.3.4: may the 304 `fresh` update `stored`? Its validators must name the stored
// response: an ETag equal to the stored one (weak comparison), a Last-Modified equal to the
// stored one. A 304 without validators updates the response that was asked about (the one
// stored response of the key, as most caches do). False: another representation (the cache
// must not update with it; CacheFill asks again, unconditionally).
bool not_modified_matches(const http::HeaderList& fresh, const cache::StoredObject& stored);

// `request` (a serialised head) without its If-None-Match and If-Modified-Since lines.
std::string without_validators(std::string_view request);

struct Freshened {
    cache::ObjectRef object; // the stored response as the 304 updates it: same status and body
    // The updated response may be stored (else it answers only the requests that revalidated).
    bool storable = false;
};

// `old` updated by `not_modified` (the origin's 304 to `request`, our conditional request),
// with its body copied: a 304 never leaves a body-less object. Its freshness is decided on the
// merged head under `policy` at `now` (`now_unix` reads Date and Expires).
Freshened freshen(const cache::StoredObject& old, const http::ResponseHead& not_modified,
                  const http::RequestHead& request, const cache::FreshnessPolicy& policy,
                  core::Instant now, std::int64_t now_unix, http::HeadLimits limits);

} // namespace lacquer::proxy
