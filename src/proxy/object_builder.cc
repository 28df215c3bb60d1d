#include "lacquer/proxy/object_builder.h"

#include "lacquer/http/serialize.h"
#include "lacquer/net/connection.h"

#include <cstring>

namespace lacquer::proxy {

namespace {
// A session keeps its buffers between misses, but not a large one: thousands of idle
// connections must not each hold the biggest body they ever fetched.
constexpr std::size_t kKeptCapacity = 64 * 1024;
} // namespace

void ObjectBuilder::begin(const cache::BuiltKey& key, std::string_view vary, std::string_view tags,
                          const http::ResponseHead& response, const cache::FreshnessWindow& window,
                          core::Instant now, std::int64_t now_unix, std::uint64_t max_body) {
    key_.assign(key.canonical);
    hash_ = key.hash;
    url_hash_ = key.url_hash;
    vary_.assign(vary);
    tags_.assign(tags);
    head_.clear();
    http::write_response_lines(head_, response, true);
    body_.clear();
    const http::Header* etag = response.headers.find("ETag");
    const http::Header* lm = response.headers.find("Last-Modified");
    etag_.assign(etag != nullptr ? etag->value : std::string_view());
    last_modified_.assign(lm != nullptr ? lm->value : std::string_view());
    status_ = response.status;
    stored_at_ = now;
    stored_unix_ = now_unix;
    initial_age_ = cache::origin_age(response.headers);
    window_ = window;
    max_body_ = max_body;
    active_ = true;
    verdict_ = cache::StoreVerdict::Stored;
    if (response.framing.kind == http::Framing::Kind::Length) {
        if (response.framing.length > max_body_) {
            abandon(cache::StoreVerdict::TooLarge);
            return;
        }
        body_.reserve(static_cast<std::size_t>(response.framing.length));
    }
}

void ObjectBuilder::take(const net::Connection& from, std::size_t n) {
    if (!active_) {
        return;
    }
    if (body_.size() + n > max_body_) {
        abandon(cache::StoreVerdict::TooLarge);
        return;
    }
    const std::size_t at = body_.size();
    body_.resize(at + n);
    const std::size_t copied = from.copy_input(body_.data() + at, n);
    if (copied != n) {
        abandon(cache::StoreVerdict::Incomplete);
    }
}

cache::ObjectRef ObjectBuilder::finish() {
    if (!active_) {
        return {};
    }
    cache::StoredObject::Fields fields;
    fields.key = key_;
    fields.hash = hash_;
    fields.url_hash = url_hash_;
    fields.vary = vary_;
    fields.tags = tags_;
    fields.head = head_;
    fields.body_size = body_.size();
    fields.status = status_;
    fields.stored_at = stored_at_;
    fields.stored_unix = stored_unix_;
    fields.initial_age = initial_age_;
    fields.window = window_;
    fields.etag = etag_;
    fields.last_modified = last_modified_;
    cache::ObjectRef object(cache::StoredObject::create(fields));
    if (!body_.empty()) {
        std::memcpy(object->body_for_fill(), body_.data(), body_.size());
    }
    active_ = false;
    release_memory();
    return object;
}

void ObjectBuilder::abandon(cache::StoreVerdict why) {
    if (!active_) {
        return;
    }
    active_ = false;
    verdict_ = why;
    release_memory();
}

void ObjectBuilder::release_memory() {
    body_.clear();
    if (body_.capacity() > kKeptCapacity) {
        std::string().swap(body_);
    }
}

} // namespace lacquer::proxy
