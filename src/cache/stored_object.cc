#include "lacquer/cache/stored_object.h"

#include "lacquer/cache/object_store.h"
#include "lacquer/core/assert.h"
#include "lacquer/http/cache_control.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <new>
#include <optional>

namespace lacquer::cache {

static_assert(sizeof(StoredObject) <= 104, "the per-object header: see stored_object.h");

namespace {

// The head's Date line when it is an IMF-fixdate that formats back to the very same text: its
// bytes in `head` and its time. Any other Date stays a line of the head, as it came.
struct DateLine {
    std::size_t at = 0;
    std::size_t size = 0; // 0: none
    std::uint32_t unix_seconds = 0;
};

DateLine find_date_line(std::string_view head) {
    constexpr std::string_view kName = "Date: ";
    for (std::size_t at = 0; at < head.size();) {
        const std::size_t end = head.find("\r\n", at);
        if (end == std::string_view::npos) {
            break;
        }
        const std::string_view line = head.substr(at, end - at);
        if (line.starts_with(kName)) { // as the origin wrote it: delivery writes this name
            const std::string_view value = line.substr(kName.size());
            const std::optional<std::int64_t> t = http::parse_http_date(value);
            char formatted[32];
            if (!t || *t <= 0 || *t > 0xffffffff ||
                value != std::string_view(formatted, http::format_http_date(*t, formatted))) {
                return {};
            }
            return {at, end + 2 - at, static_cast<std::uint32_t>(*t)};
        }
        at = end + 2;
    }
    return {};
}

std::int32_t window_ms(core::Millis window) {
    return static_cast<std::int32_t>(
        std::clamp<std::int64_t>(window.count(), 0, StoredObject::kMaxWindowMs));
}

} // namespace

StoredObject* StoredObject::create(const Fields& f) {
    // Validators too long to be real are dropped, never cut: a cut one could match wrongly.
    const std::size_t etag = f.etag.size() <= 1024 ? f.etag.size() : 0;
    const std::size_t lm = f.last_modified.size() <= 128 ? f.last_modified.size() : 0;
    const DateLine date = find_date_line(f.head);
    const std::size_t head_size = f.head.size() - date.size;
    const std::size_t body_offset =
        f.key.size() + head_size + etag + lm + f.vary.size() + f.tags.size();
    LACQUER_ASSERT(f.status >= 0 && f.status <= 999 && f.initial_age >= 0 &&
                   f.initial_age <= 0xffffffff);
    LACQUER_ASSERT(f.key.size() <= kMaxKeySize && f.vary.size() <= kMaxVarySize &&
                   f.tags.size() <= kMaxTagsSize && f.body_size <= kMaxBodySize &&
                   f.head.size() <= 0xffffffff);
    const std::size_t total = sizeof(StoredObject) + body_offset + f.body_size;
    void* memory = std::malloc(total);
    if (memory == nullptr) {
        throw std::bad_alloc();
    }
    auto* o = new (memory) StoredObject();
    char* p = o->bytes();
    auto put = [&p](std::string_view bytes) {
        if (!bytes.empty()) { // memcpy from an empty view's nullptr is undefined
            std::memcpy(p, bytes.data(), bytes.size());
            p += bytes.size();
        }
    };
    put(f.key);
    put(f.head.substr(0, date.at));
    put(f.head.substr(date.at + date.size));
    put(f.etag.substr(0, etag));
    put(f.last_modified.substr(0, lm));
    put(f.vary);
    put(f.tags);
    o->key_size_ = static_cast<std::uint16_t>(f.key.size());
    o->head_size_ = static_cast<std::uint32_t>(head_size);
    o->etag_size_ = static_cast<std::uint16_t>(etag);
    o->lm_size_ = static_cast<std::uint8_t>(lm);
    o->vary_size_ = static_cast<std::uint16_t>(f.vary.size());
    o->tags_size_ = static_cast<std::uint16_t>(f.tags.size());
    o->body_size_ = static_cast<std::uint32_t>(f.body_size);
    o->hash_ = static_cast<std::uint32_t>(f.hash);
    o->url_hash_ = static_cast<std::uint32_t>(f.url_hash);
    o->date_ = date.size != 0 ? date.unix_seconds : f.date;
    o->status_ = static_cast<std::uint16_t>(f.status) |
                 (f.window.must_revalidate ? kMustRevalidate : std::uint16_t{0}) |
                 (f.window.reusable_with_authorization ? kWithAuthorization : std::uint16_t{0});
    o->stored_at_ = f.stored_at;
    o->initial_age_ = static_cast<std::uint32_t>(f.initial_age);
    o->ttl_ = f.window.ttl;
    o->stale_ms_ = window_ms(f.window.stale);
    o->stale_if_error_ms_ = window_ms(f.window.stale_if_error);
    return o;
}

std::size_t StoredObject::charge() const {
    return sizeof(StoredObject) + body_offset() + body_size() + ObjectStore::kOverheadPerObject;
}

bool StoredObject::has_tag(std::string_view tag) const {
    std::string_view rest = tags();
    while (!rest.empty()) {
        const std::size_t end = rest.find_first_of(" ,\t");
        if (rest.substr(0, end) == tag) {
            return true;
        }
        if (end == std::string_view::npos) {
            break;
        }
        rest.remove_prefix(end + 1);
    }
    return false;
}

void StoredObject::unref() const {
    if (refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
        auto* self = const_cast<StoredObject*>(this);
        self->~StoredObject();
        std::free(self);
    }
}

void StoredObject::mark_stale(core::Instant at) const {
    const std::int64_t mark =
        std::chrono::duration_cast<core::Millis>(at.time_since_epoch()).count() + 1;
    std::int64_t seen = stale_mark_.load(std::memory_order_relaxed);
    while ((seen == 0 || mark < seen) &&
           !stale_mark_.compare_exchange_weak(seen, mark, std::memory_order_relaxed)) {
    }
}

core::Millis StoredObject::age_at(core::Instant now) const {
    const core::Millis age = std::chrono::duration_cast<core::Millis>(now - stored_at_);
    const std::int64_t mark = stale_mark_.load(std::memory_order_relaxed);
    if (mark == 0) {
        return age;
    }
    const core::Millis since_mark =
        std::chrono::duration_cast<core::Millis>(now.time_since_epoch()) - core::Millis(mark - 1);
    return std::max(age, ttl_ + std::max(since_mark, core::Millis(0)));
}

} // namespace lacquer::cache
