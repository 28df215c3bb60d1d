#include "lacquer/http/head_parser.h"

#include "lacquer/core/assert.h"
#include "lacquer/core/spare_blocks.h"
#include "lacquer/http/ascii.h"
#include "lacquer/http/headers.h"

#include <array>
#include <cstring>
#include <llhttp.h>
#include <memory>
#include <new>
#include <optional>
#include <type_traits>

namespace lacquer::http {

namespace {

struct HeadErrorInfo {
    std::string_view name;
    int status;
};
constexpr std::array kHeadErrors{
#define LACQUER_AS_INFO(name, status) HeadErrorInfo{#name, status},
    LACQUER_HEAD_ERRORS(LACQUER_AS_INFO)
#undef LACQUER_AS_INFO
};

bool is_ows(char c) {
    return c == ' ' || c == '\t';
}

// tchar (RFC 9110 §5.6.2). llhttp lets "Host : x" through as a name with a trailing space: a
// classic desync shape, refused here.
bool is_token(std::string_view v) {
    if (v.empty()) {
        return false;
    }
    for (char c : v) {
        const bool alnum =
            (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
        if (!alnum && std::string_view("!#$%&'*+-.^_`|~").find(c) == std::string_view::npos) {
            return false;
        }
    }
    return true;
}

// Whether the connection persists after this message (RFC 9112 §9.3): HTTP/1.1 unless
// "Connection: close", HTTP/1.0 only with "Connection: keep-alive".
bool persistent(const HeaderList& headers, bool http11) {
    bool close = false;
    bool keep = false;
    for (const Header& h : headers) {
        if (iequals(h.name, "Connection")) {
            close = close || has_token(h.value, "close");
            keep = keep || has_token(h.value, "keep-alive");
        }
    }
    return http11 ? !close : (keep && !close);
}

std::string_view trim_trailing_ows(std::string_view v) {
    while (!v.empty() && is_ows(v.back())) {
        v.remove_suffix(1);
    }
    return v;
}

// Field values must not carry control characters other than HTAB (RFC 9110 §5.5); llhttp's
// strict mode already refuses CR/LF, but NUL and the rest are checked here.
bool is_clean_value(std::string_view v) {
    for (char c : v) {
        const auto u = static_cast<unsigned char>(c);
        if ((u < 0x20 && c != '\t') || u == 0x7f) {
            return false;
        }
    }
    return true;
}

bool is_digit(char c) {
    return c >= '0' && c <= '9';
}

// unreserved / sub-delims (RFC 3986 §2.2, §2.3): what a reg-name or an IP literal is made of,
// with pct-encoded checked by the caller.
bool is_host_char(char c) {
    return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           std::string_view("-._~!$&'()*+,;=").find(c) != std::string_view::npos;
}

// uri-host [ ":" port ] (RFC 9112 §3.2, RFC 3986 §3.2.2): a bracketed IP literal, or a reg-name
// (an IPv4 address is one) with valid %HH escapes; then digits after ':'. Empty is valid (a
// target without an authority). No userinfo, path, whitespace or control bytes.
bool is_valid_host(std::string_view v) {
    std::size_t i = 0;
    if (!v.empty() && v.front() == '[') {
        const std::size_t close = v.find(']');
        if (close == std::string_view::npos || close == 1) {
            return false;
        }
        for (char c : v.substr(1, close - 1)) {
            if (!is_host_char(c) && c != ':' && c != '%') {
                return false;
            }
        }
        i = close + 1;
    } else {
        for (; i < v.size() && v[i] != ':'; ++i) {
            if (v[i] == '%') {
                if (i + 2 >= v.size() || hex_value(v[i + 1]) < 0 || hex_value(v[i + 2]) < 0) {
                    return false;
                }
                i += 2;
            } else if (!is_host_char(v[i])) {
                return false;
            }
        }
    }
    if (i == v.size()) {
        return true;
    }
    if (v[i] != ':') {
        return false;
    }
    for (++i; i < v.size(); ++i) {
        if (!is_digit(v[i])) {
            return false;
        }
    }
    return true;
}

// The authority of an absolute-form target, as the proxy reads it (up to the first '/'), or
// nullopt for the other forms.
std::optional<std::string_view> absolute_form_authority(std::string_view target) {
    for (std::string_view scheme : {std::string_view("http://"), std::string_view("https://")}) {
        if (target.size() > scheme.size() && target.substr(0, scheme.size()) == scheme) {
            const std::string_view rest = target.substr(scheme.size());
            return rest.substr(0, rest.find('/'));
        }
    }
    return std::nullopt;
}

} // namespace

std::string_view head_error_name(HeadError error) {
    return kHeadErrors[static_cast<std::size_t>(error)].name;
}
int head_error_status(HeadError error) {
    return kHeadErrors[static_cast<std::size_t>(error)].status;
}

// The working memory of a parser reading a message: taken on the first byte, given back by
// reset(). The head storage follows it in the same block.
struct HeadParser::Work {
    llhttp_t parser{};
    union {
        RequestHead request;   // kind_ == HeadKind::Request
        ResponseHead response; // kind_ == HeadKind::Response
    };
    Work() {} // NOLINT(modernize-use-equals-default): the head is constructed by take_work()
};

const RequestHead HeadParser::kNoRequest{};
const ResponseHead HeadParser::kNoResponse{};

// llhttp calls these with fragments; they only store and never decide beyond limits.
struct HeadParser::Callbacks {
    static HeadParser& self(llhttp_t* p) { return *static_cast<HeadParser*>(p->data); }

    static int on_method(llhttp_t* p, const char* at, std::size_t n) {
        self(p).append(Element::Method, at, n);
        return self(p).error_ == HeadError::None ? 0 : -1;
    }
    static int on_method_complete(llhttp_t* p) {
        self(p).work_->request.method = self(p).finish_element();
        return 0;
    }
    static int on_url(llhttp_t* p, const char* at, std::size_t n) {
        HeadParser& s = self(p);
        s.append(Element::Url, at, n);
        if (s.error_ == HeadError::None && s.used_ - s.element_start_ > s.limits_.max_uri_bytes) {
            s.fail(HeadError::UriTooLong);
        }
        return s.error_ == HeadError::None ? 0 : -1;
    }
    static int on_url_complete(llhttp_t* p) {
        self(p).work_->request.target = self(p).finish_element();
        return 0;
    }
    static int on_status(llhttp_t* p, const char* at, std::size_t n) {
        self(p).append(Element::Status, at, n);
        return self(p).error_ == HeadError::None ? 0 : -1;
    }
    static int on_status_complete(llhttp_t* p) {
        HeadParser& s = self(p);
        s.work_->response.reason = s.finish_element();
        if (!is_clean_value(s.work_->response.reason)) {
            s.fail(HeadError::Malformed); // the reason phrase goes on to clients verbatim
            return -1;
        }
        return 0;
    }
    static int on_header_field(llhttp_t* p, const char* at, std::size_t n) {
        self(p).append(Element::Field, at, n);
        return self(p).error_ == HeadError::None ? 0 : -1;
    }
    static int on_header_field_complete(llhttp_t* p) {
        HeadParser& s = self(p);
        s.pending_name_ = s.finish_element();
        if (!is_token(s.pending_name_)) {
            s.fail(HeadError::Malformed);
            return -1;
        }
        s.element_ = Element::Value; // a value may be empty: llhttp then sends no fragment
        s.element_start_ = s.used_;
        s.value_end_ = kValueNotStarted;
        return 0;
    }
    static int on_header_value(llhttp_t* p, const char* at, std::size_t n) {
        HeadParser& s = self(p);
        // llhttp joins obs-fold lines (CRLF then SP/HTAB) by skipping the fold: a gap between
        // two fragments of one value. RFC 9112 §5.2 lets a proxy refuse them; we do.
        const std::size_t offset = s.head_bytes_ + static_cast<std::size_t>(at - s.feed_base_);
        if (s.value_end_ != kValueNotStarted && offset != s.value_end_) {
            s.fail(HeadError::Malformed);
            return -1;
        }
        s.value_end_ = offset + n;
        s.append(Element::Value, at, n);
        return s.error_ == HeadError::None ? 0 : -1;
    }
    static int on_header_value_complete(llhttp_t* p) {
        HeadParser& s = self(p);
        const std::string_view value = trim_trailing_ows(s.finish_element());
        if (!is_clean_value(value)) {
            s.fail(HeadError::Malformed);
            return -1;
        }
        HeaderList& list = *s.headers_;
        if (list.count == kMaxHeaders) {
            s.fail(HeadError::TooManyHeaders);
            return -1;
        }
        list.items[list.count++] = Header{s.pending_name_, value};
        return 0;
    }
    static int on_headers_complete(llhttp_t* p) {
        HeadParser& s = self(p);
        if (!s.finish_head()) {
            return -1;
        }
        return HPE_PAUSED; // the body is framed by the caller
    }
};

HeadParser::HeadParser(HeadKind kind, HeadLimits limits) : kind_(kind), limits_(limits) {
    reset();
}

HeadParser::~HeadParser() {
    give_work();
}

void HeadParser::take_work() {
    // One spare block: the Work, then the head storage.
    static_assert(alignof(Work) <= __STDCPP_DEFAULT_NEW_ALIGNMENT__);
    char* block = core::take_block(sizeof(Work) + limits_.max_head_bytes);
    work_ = new (block) Work;
    storage_ = block + sizeof(Work);
    init_work();
}

void HeadParser::init_work() {
    static const llhttp_settings_t kSettings = [] {
        llhttp_settings_t st;
        llhttp_settings_init(&st);
        st.on_method = &Callbacks::on_method;
        st.on_method_complete = &Callbacks::on_method_complete;
        st.on_url = &Callbacks::on_url;
        st.on_url_complete = &Callbacks::on_url_complete;
        st.on_status = &Callbacks::on_status;
        st.on_status_complete = &Callbacks::on_status_complete;
        st.on_header_field = &Callbacks::on_header_field;
        st.on_header_field_complete = &Callbacks::on_header_field_complete;
        st.on_header_value = &Callbacks::on_header_value;
        st.on_header_value_complete = &Callbacks::on_header_value_complete;
        st.on_headers_complete = &Callbacks::on_headers_complete;
        return st;
    }();
    llhttp_init(&work_->parser, kind_ == HeadKind::Request ? HTTP_REQUEST : HTTP_RESPONSE,
                &kSettings);
    work_->parser.data = this;
    if (kind_ == HeadKind::Request) {
        request_ = std::construct_at(&work_->request);
        headers_ = &request_->headers;
    } else {
        response_ = std::construct_at(&work_->response);
        headers_ = &response_->headers;
    }
}

void HeadParser::give_work() noexcept {
    if (work_ == nullptr) {
        return;
    }
    // Heads and llhttp_t are trivially destructible: the block goes back as it is.
    static_assert(std::is_trivially_destructible_v<RequestHead> &&
                  std::is_trivially_destructible_v<ResponseHead>);
    core::give_block(reinterpret_cast<char*>(work_), sizeof(Work) + limits_.max_head_bytes);
    work_ = nullptr;
    storage_ = nullptr;
    request_ = nullptr;
    response_ = nullptr;
    headers_ = nullptr;
}

void HeadParser::reset() {
    give_work();
    reset_state();
}

void HeadParser::restart() {
    if (work_ != nullptr) {
        init_work();
    }
    reset_state();
}

void HeadParser::reset_state() {
    used_ = 0;
    element_start_ = 0;
    element_ = Element::None;
    pending_name_ = {};
    head_bytes_ = 0;
    feed_base_ = nullptr;
    value_end_ = kValueNotStarted;
    message_begun_ = false;
    leading_cr_ = false;
    after_lf_ = false;
    error_ = HeadError::None;
    response_to_head_ = false;
}

void HeadParser::expect_response_to(std::string_view request_method) {
    response_to_head_ = request_method == "HEAD";
}

void HeadParser::fail(HeadError error) {
    if (error_ == HeadError::None) {
        error_ = error;
    }
}

void HeadParser::append(Element element, const char* at, std::size_t length) {
    if (element_ != element) {
        element_ = element;
        element_start_ = used_;
    }
    if (length > limits_.max_head_bytes - used_) {
        fail(element == Element::Url ? HeadError::UriTooLong : HeadError::HeadTooLarge);
        return;
    }
    std::memcpy(storage_ + used_, at, length);
    used_ += length;
}

std::string_view HeadParser::finish_element() {
    const std::string_view view(storage_ + element_start_, used_ - element_start_);
    element_ = Element::None;
    element_start_ = used_;
    return view;
}

HeadParser::Fed HeadParser::feed(const char* data, std::size_t length) {
    if (error_ != HeadError::None) {
        return {Status::Error, 0};
    }
    if (work_ == nullptr) {
        if (length == 0) {
            return {Status::NeedMore, 0};
        }
        take_work();
    }
    const std::size_t room = limits_.max_head_bytes - head_bytes_;
    // Feed no more than the head may still take; if the head does not end there, it is too large.
    const std::size_t chunk = length < room ? length : room;
    // Empty lines before a message are skipped (RFC 9112 §2.2), as CRLF or LF only: llhttp would
    // also skip a bare CR, which must not start a message differently than a peer reads it.
    for (std::size_t i = 0; i < chunk && !message_begun_; ++i) {
        const char c = data[i];
        if (leading_cr_ && c != '\n') {
            fail(HeadError::Malformed);
            return {Status::Error, 0};
        }
        leading_cr_ = c == '\r';
        message_begun_ = c != '\r' && c != '\n';
    }
    feed_base_ = data;
    const llhttp_errno_t rc = llhttp_execute(&work_->parser, data, chunk);
    if (rc == HPE_PAUSED) {
        const char* pos = llhttp_get_error_pos(&work_->parser);
        const auto consumed = static_cast<std::size_t>(pos - data);
        if (starts_a_folded_line(data, consumed)) {
            return {Status::Error, 0};
        }
        head_bytes_ += consumed;
        return {Status::Complete, consumed};
    }
    if (rc != HPE_OK) {
        // A fold before the point where llhttp stopped came first: it is the error, however
        // the bytes were split into feeds (the fuzz target checks that the split never matters).
        const char* pos = llhttp_get_error_pos(&work_->parser);
        const std::size_t seen = pos != nullptr && pos >= data && pos <= data + chunk
                                     ? static_cast<std::size_t>(pos - data)
                                     : chunk;
        if (starts_a_folded_line(data, seen)) {
            error_ = HeadError::Malformed;
        } else if (error_ == HeadError::None) {
            error_ =
                (rc == HPE_INVALID_VERSION) ? HeadError::VersionNotSupported : HeadError::Malformed;
        }
        return {Status::Error, 0};
    }
    if (starts_a_folded_line(data, chunk)) {
        return {Status::Error, 0};
    }
    head_bytes_ += chunk;
    if (chunk < length || head_bytes_ == limits_.max_head_bytes) {
        fail(HeadError::HeadTooLarge);
        return {Status::Error, 0};
    }
    return {Status::NeedMore, chunk};
}

bool HeadParser::starts_a_folded_line(const char* data, std::size_t length) {
    // A head line that starts with SP or HTAB is obs-fold (RFC 9112 §5.2), or whitespace
    // before the first field (§2.2): refused in every shape, including a value that only
    // begins on the continuation line ("Transfer-Encoding:" CRLF SP "chunked"), which gives
    // llhttp's callbacks no gap to see. Only the byte after each LF matters: memchr finds them.
    const char* const end = data + length;
    const char* next = data; // the first byte of a line, when after_lf_ says one starts there
    bool line_starts = after_lf_;
    for (;;) {
        if (next == end) {
            after_lf_ = line_starts;
            return false;
        }
        if (line_starts && (*next == ' ' || *next == '\t')) {
            fail(HeadError::Malformed);
            return true;
        }
        const void* lf = std::memchr(next, '\n', static_cast<std::size_t>(end - next));
        if (lf == nullptr) {
            after_lf_ = false;
            return false;
        }
        next = static_cast<const char*>(lf) + 1;
        line_starts = true;
    }
}

bool HeadParser::finish_head() {
    return kind_ == HeadKind::Request ? finish_request() : finish_response();
}

bool HeadParser::finish_request() {
    llhttp_t& p = work_->parser;
    RequestHead& r = work_->request;
    r.version_major = p.http_major;
    r.version_minor = p.http_minor;
    if (r.version_major != 1 || r.version_minor > 1) {
        fail(HeadError::VersionNotSupported);
        return false;
    }
    const bool http11 = r.version_minor == 1;
    // RFC 9112 §3.2: exactly one Host in HTTP/1.1; never more than one.
    const std::size_t hosts = r.headers.count_of("Host");
    if (hosts > 1 || (http11 && hosts == 0)) {
        fail(HeadError::MissingHost);
        return false;
    }
    if (r.target.empty() || r.method.empty()) {
        fail(HeadError::Malformed);
        return false;
    }
    // An invalid Host value gets a 400 (RFC 9112 §3.2), and so does an absolute-form authority
    // that could stand in for a missing one; both name the origin, a route and a cache key.
    const Header* host = r.headers.find("Host");
    if (http11 && host->value.empty()) {
        fail(HeadError::MissingHost); // names no authority: nothing to route or key on
        return false;
    }
    const auto authority = absolute_form_authority(r.target);
    if ((host != nullptr && !is_valid_host(host->value)) ||
        (authority.has_value() && (authority->empty() || !is_valid_host(*authority)))) {
        fail(HeadError::Malformed);
        return false;
    }
    // One framing only (RFC 9112 §6.3): llhttp refuses most conflicts; this is the backstop.
    // The only transfer coding forwarded is a lone "chunked" (any case, OWS trimmed): the body
    // is decoded and chunked afresh, so any other coding would be lost on the way (nginx
    // refuses those too). llhttp sets no flag for a blank value: the field counts all the same.
    const std::size_t te_fields = r.headers.count_of("Transfer-Encoding");
    const bool has_te = (p.flags & F_TRANSFER_ENCODING) != 0 || te_fields > 0;
    const bool chunked =
        te_fields == 1 && iequals(r.headers.find("Transfer-Encoding")->value, "chunked");
    const bool has_length = (p.flags & F_CONTENT_LENGTH) != 0;
    // In HTTP/1.0, Transfer-Encoding means faulty framing (RFC 9112 §6.1): a hop before may
    // not have known chunked, so the bytes after this message cannot be trusted.
    if ((has_te && (has_length || !chunked || !http11)) ||
        r.headers.count_of("Content-Length") > 1 || te_fields > 1) {
        fail(HeadError::BadFraming);
        return false;
    }
    if (chunked) {
        r.framing = {Framing::Kind::Chunked, 0};
    } else if (has_length && p.content_length > 0) {
        r.framing = {Framing::Kind::Length, p.content_length};
    } else {
        r.framing = {Framing::Kind::None, 0};
    }
    for (const Header& h : r.headers) {
        if (http11 && iequals(h.name, "Expect")) {
            if (!iequals(h.value, "100-continue")) {
                fail(HeadError::Malformed); // only 100-continue is defined (RFC 9110 §10.1.1)
                return false;
            }
            r.expect_continue = true;
        }
    }
    r.keep_alive = persistent(r.headers, http11);
    return true;
}

bool HeadParser::finish_response() {
    llhttp_t& p = work_->parser;
    ResponseHead& r = work_->response;
    r.status = p.status_code;
    r.version_major = p.http_major;
    r.version_minor = p.http_minor;
    if (r.version_major != 1 || r.status < 100 || r.status > 999) {
        fail(HeadError::Malformed);
        return false;
    }
    const bool has_length = (p.flags & F_CONTENT_LENGTH) != 0;
    const std::size_t te_fields = r.headers.count_of("Transfer-Encoding"); // blank ones count
    const bool has_te = (p.flags & F_TRANSFER_ENCODING) != 0 || te_fields > 0;
    // The only transfer coding a body may come in is a lone "chunked": the proxy decodes it
    // and stores or forwards the content, so under any other coding (gzip, "gzip, chunked")
    // the coded bytes would pass for the content (RFC 9112 §6.1; nginx answers 502 too).
    const bool chunked =
        te_fields == 1 && iequals(r.headers.find("Transfer-Encoding")->value, "chunked");
    if ((has_te && (has_length || !chunked)) || r.headers.count_of("Content-Length") > 1) {
        fail(HeadError::BadFraming); // an origin that frames ambiguously is not trusted
        return false;
    }
    r.has_content_length = has_length;
    r.content_length = has_length ? p.content_length : 0;
    const bool no_body = response_to_head_ || r.status < 200 || r.status == 204 || r.status == 304;
    if (no_body) {
        r.framing = {Framing::Kind::None, 0};
    } else if (chunked) {
        r.framing = {Framing::Kind::Chunked, 0};
    } else if (has_length) {
        r.framing = {p.content_length > 0 ? Framing::Kind::Length : Framing::Kind::None,
                     p.content_length};
    } else {
        r.framing = {Framing::Kind::UntilClose, 0};
    }
    r.keep_alive =
        persistent(r.headers, r.version_minor >= 1) && r.framing.kind != Framing::Kind::UntilClose;
    return true;
}

} // namespace lacquer::http
