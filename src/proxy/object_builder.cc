#include "lacquer/proxy/object_builder.h"

#include "lacquer/core/spare_strings.h"
#include "lacquer/http/serialize.h"
#include "lacquer/net/connection.h"

#include <algorithm>

namespace lacquer::proxy {

ObjectBuilder::~ObjectBuilder() {
    for (std::string* s : {&key_, &vary_, &tags_, &head_, &etag_, &last_modified_}) {
        core::give_string(*s);
    }
}

void ObjectBuilder::begin(const cache::BuiltKey& key, std::string_view vary, std::string_view tags,
                          const http::ResponseHead& response, std::span<const std::string> dropped,
                          const cache::StoreDecision& decision, core::Instant now,
                          std::int64_t now_unix, std::uint64_t max_body) {
    core::assign_string(key_, key.canonical);
    hash_ = key.hash;
    url_hash_ = key.url_hash;
    core::assign_string(vary_, vary);
    core::assign_string(tags_, tags);
    core::clear_for(head_, http::stored_lines_size(response));
    http::write_stored_lines(head_, response, dropped);
    const http::Header* etag = response.headers.find("ETag");
    const http::Header* lm = response.headers.find("Last-Modified");
    core::assign_string(etag_, etag != nullptr ? etag->value : std::string_view());
    core::assign_string(last_modified_, lm != nullptr ? lm->value : std::string_view());
    status_ = response.status;
    stored_at_ = now;
    initial_age_ = decision.initial_age;
    window_ = decision.window;
    // RFC 9110 §6.6.1: a response without Date gets the time it was received.
    const bool dated = response.headers.find("Date") != nullptr;
    date_ =
        !dated && now_unix > 0 && now_unix <= 0xffffffff ? static_cast<std::uint32_t>(now_unix) : 0;
    using Object = cache::StoredObject;
    max_body_ = std::min(max_body, Object::kMaxBodySize);
    active_ = true;
    verdict_ = cache::StoreVerdict::Stored;
    const bool length_known = response.framing.kind == http::Framing::Kind::Length;
    if ((length_known && response.framing.length > max_body_) ||
        key_.size() > Object::kMaxKeySize || vary_.size() > Object::kMaxVarySize ||
        tags_.size() > Object::kMaxTagsSize) { // beyond what an object keeps
        abandon(cache::StoreVerdict::TooLarge);
        return;
    }
    cache::BodyStream::Fields f;
    f.head = head_;
    f.status = status_;
    f.length_known = length_known || response.framing.kind == http::Framing::Kind::None;
    f.length = length_known ? response.framing.length : 0;
    f.vary = vary_;
    if (length_known && f.length > 0) {
        // The object now, the body written straight into it: no block to copy from at the end,
        // and no such block freed around the objects that stay (heap fragmentation).
        object_ = cache::ObjectRef(
            cache::StoredObject::create(fields(static_cast<std::size_t>(f.length))));
        f.storage = object_;
    }
    stream_ = cache::StreamRef(cache::BodyStream::create(f));
}

cache::StoredObject::Fields ObjectBuilder::fields(std::size_t body_size) const {
    cache::StoredObject::Fields f;
    f.key = key_;
    f.hash = hash_;
    f.url_hash = url_hash_;
    f.vary = vary_;
    f.tags = tags_;
    f.head = head_;
    f.body_size = body_size;
    f.status = status_;
    f.stored_at = stored_at_;
    f.initial_age = initial_age_;
    f.date = date_;
    f.window = window_;
    f.etag = etag_;
    f.last_modified = last_modified_;
    return f;
}

void ObjectBuilder::take(const net::Connection& from, std::size_t n) {
    if (!active_) {
        return;
    }
    if (stream_->size() + n > max_body_) {
        abandon(cache::StoreVerdict::TooLarge);
        return;
    }
    for (std::size_t done = 0; done < n;) {
        const std::span<char> room = stream_->room(n - done);
        const std::size_t copied = from.copy_input(room.data(), room.size(), done);
        if (copied != room.size()) {
            abandon(cache::StoreVerdict::Incomplete);
            return;
        }
        stream_->commit(copied);
        done += copied;
    }
}

cache::ObjectRef ObjectBuilder::finish() {
    if (!active_) {
        return {};
    }
    const auto body_size = static_cast<std::size_t>(stream_->size());
    cache::ObjectRef object = std::move(object_);
    if (!object || object->body_size() != body_size) {
        object = cache::ObjectRef(cache::StoredObject::create(fields(body_size)));
        stream_->copy_to(object->body_for_fill());
    }
    stream_->complete(object); // readers still sending keep the stream until they are done
    stream_ = cache::StreamRef();
    active_ = false;
    return object;
}

void ObjectBuilder::abandon(cache::StoreVerdict why) {
    if (!active_) {
        return;
    }
    active_ = false;
    verdict_ = why;
    object_ = cache::ObjectRef(); // never published; readers' stream keeps its bytes alive
    if (stream_) {
        stream_->fail(); // readers that started end their answers unfinished
        stream_ = cache::StreamRef();
    }
}

} // namespace lacquer::proxy
