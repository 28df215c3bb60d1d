// A stored response freshened by a 304 (not_modified.h).
#include "not_modified.h"

#include "lacquer/http/headers.h"
#include "lacquer/http/serialize.h"
#include "object_delivery.h"

#include <cstring>

namespace lacquer::proxy {

std::string merge_not_modified(std::string_view stored, const http::HeaderList& fresh) {
    auto carried = [&fresh](std::string_view name) {
        return !http::is_connection_specific(fresh, name) && !http::iequals(name, "Age") &&
               !http::iequals(name, "Via") && !http::iequals(name, "Content-Length") &&
               !http::iequals(name, "Transfer-Encoding");
    };
    auto replaced = [&](std::string_view name) {
        for (const http::Header& h : fresh) {
            if (http::iequals(h.name, name) && carried(h.name)) {
                return true;
            }
        }
        return false;
    };
    std::string out(http::stored_status_line(stored)); // empty: the standard one
    for (std::size_t at = out.size(), end = 0; at < stored.size(); at = end + 2) {
        end = stored.find("\r\n", at);
        if (end == std::string_view::npos) {
            break; // a stored head always ends its lines; nothing half is kept
        }
        const std::string_view line = stored.substr(at, end - at);
        if (!replaced(line.substr(0, line.find(':')))) {
            out.append(line);
            out.append("\r\n");
        }
    }
    for (const http::Header& h : fresh) {
        if (carried(h.name)) {
            out.append(h.name);
            out.append(": ");
            out.append(h.value);
            out.append("\r\n");
        }
    }
    return out;
}

namespace {

std::string_view opaque_tag(std::string_view tag) {
    return tag.starts_with("W/") ? tag.substr(2) : tag;
}

} // namespace

bool not_modified_matches(const http::HeaderList& fresh, const cache::StoredObject& stored) {
    if (const http::Header* etag = fresh.find("ETag")) {
        return !stored.etag().empty() && opaque_tag(etag->value) == opaque_tag(stored.etag());
    }
    if (const http::Header* modified = fresh.find("Last-Modified")) {
        return !stored.last_modified().empty() && modified->value == stored.last_modified();
    }
    return true;
}

std::string without_validators(std::string_view request) {
    std::string out;
    out.reserve(request.size());
    for (std::size_t at = 0; at < request.size();) {
        std::size_t end = request.find("\r\n", at);
        end = end == std::string_view::npos ? request.size() : end + 2;
        const std::string_view line = request.substr(at, end - at);
        const std::string_view name = line.substr(0, line.find(':'));
        if (!http::iequals(name, "If-None-Match") && !http::iequals(name, "If-Modified-Since")) {
            out.append(line);
        }
        at = end;
    }
    return out;
}

Freshened freshen(const cache::StoredObject& old, const http::ResponseHead& not_modified,
                  const http::RequestHead& request, const cache::FreshnessPolicy& policy,
                  core::Instant now, std::int64_t now_unix, http::HeadLimits limits) {
    const std::string head = merge_not_modified(old.head(), not_modified.headers);
    // The merged response as a message, so that freshness reads all of its fields: the 304's
    // Cache-Control and Expires with the stored Date, or the stored ones it did not resend.
    std::string message;
    if (http::stored_status_line(head).empty()) {
        char line[http::kStatusLineMax];
        message.append(http::write_status_line(line, old.status()));
    }
    // A 304 without Date is dated when it arrived (RFC 9110 §6.6.1), and that Date replaces
    // the stored one like any field it carries (RFC 9111 §4.3.4).
    const bool own_date = not_modified.headers.find("Date") != nullptr;
    const auto arrived = static_cast<std::uint32_t>(now_unix);
    if (!own_date) {
        message.append(stored_date_line(arrived));
    }
    message.append(head);
    message.append("\r\n");
    http::HeadParser parser(http::HeadKind::Response, limits);
    parser.expect_response_to("GET");
    const http::HeadParser::Fed fed = parser.feed(message.data(), message.size());

    Freshened out;
    cache::StoreDecision decision;
    decision.verdict = cache::StoreVerdict::Status;
    if (fed.status == http::HeadParser::Status::Complete) {
        decision = cache::decide_storage(request, "GET", parser.response(), policy, now_unix);
    }
    out.storable = decision.storable();
    const http::Header* etag = not_modified.headers.find("ETag");
    const http::Header* last_modified = not_modified.headers.find("Last-Modified");
    cache::StoredObject::Fields f;
    f.key = old.key();
    f.hash = old.hash();
    f.url_hash = old.url_hash();
    f.head = head;
    f.date = own_date ? 0 : arrived; // the 304's own Date is a line of `head`
    f.body_size = old.body_size();
    f.status = old.status();
    f.stored_at = now;
    f.initial_age = decision.initial_age; // RFC 9111 §4.2.3, of the merged response
    f.window = decision.window; // not storable: zero, it answers the requests at hand only
    f.etag = etag != nullptr ? etag->value : old.etag();
    f.last_modified = last_modified != nullptr ? last_modified->value : old.last_modified();
    f.vary = old.vary();
    f.tags = old.tags();
    out.object = cache::ObjectRef(cache::StoredObject::create(f));
    if (old.body_size() > 0) {
        std::memcpy(out.object->body_for_fill(), old.body(), old.body_size());
    }
    return out;
}

} // namespace lacquer::proxy
