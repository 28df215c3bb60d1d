#include "lacquer/http/chunked.h"

#include "lacquer/http/ascii.h"

namespace lacquer::http {

namespace {

// tchar (RFC 9110 §5.6.2): what a trailer field's name is made of.
bool is_tchar(char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

// In a trailer line, line_bytes_ counts the field name's bytes until the colon, then holds this.
constexpr std::size_t kInTrailerValue = static_cast<std::size_t>(-1);

} // namespace

ChunkedDecoder::Step ChunkedDecoder::next(std::string_view input) {
    std::size_t i = 0;
    auto fail = [&] {
        state_ = State::Error;
        return Step{Status::Error, i};
    };
    if (state_ == State::Data && remaining_ > 0) {
        return {Status::Data, 0};
    }
    if (state_ == State::Data) {
        state_ = State::DataCr;
    }
    while (i < input.size()) {
        const char c = input[i];
        switch (state_) {
        case State::Size: {
            // line_bytes_ counts the whitespace after the digits: BWS may only lead to ';' (RFC
            // 9112 §7.1.1) or, tolerated, to the CR; "4 0" is no size at all.
            const int v = hex_value(c);
            if (v >= 0 && line_bytes_ == 0) {
                if (digits_ == 15) {
                    return fail(); // 2^60 bytes: no real chunk is this large
                }
                size_ = size_ * 16 + static_cast<std::uint64_t>(v);
                ++digits_;
            } else if (digits_ == 0) { // NOLINT(bugprone-branch-clone): a size needs a digit first
                return fail();
            } else if (c == ';') {
                state_ = State::Extension;
            } else if (c == ' ' || c == '\t') {
                if (++line_bytes_ > kMaxLineBytes) {
                    return fail();
                }
            } else if (c == '\r') {
                state_ = State::SizeLf;
            } else {
                return fail();
            }
            break;
        }
        case State::Extension:
            if (c == '\r') {
                state_ = State::SizeLf;
            } else if (c == '\n' || (static_cast<unsigned char>(c) < 0x20 && c != '\t') ||
                       ++line_bytes_ > kMaxLineBytes) {
                return fail();
            }
            break;
        case State::SizeLf:
            if (c != '\n') {
                return fail();
            }
            line_bytes_ = 0;
            digits_ = 0;
            if (size_ == 0) {
                state_ = State::TrailerStart;
                break; // the loop steps past this LF
            }
            ++i;
            remaining_ = size_;
            size_ = 0;
            state_ = State::Data;
            return {Status::Data, i};
        case State::Data:
            return {Status::Data, i}; // unreachable in practice: handled on entry
        case State::DataCr:
            if (c != '\r') {
                return fail();
            }
            state_ = State::DataLf;
            break;
        case State::DataLf:
            if (c != '\n') {
                return fail();
            }
            state_ = State::Size;
            break;
        case State::TrailerStart:
            if (c == '\r') {
                state_ = State::FinalLf;
            } else if (c == '\n') {
                return fail();
            } else {
                state_ = State::Trailer;
                line_bytes_ = 0;
                continue; // count this byte in the trailer line
            }
            break;
        case State::Trailer:
            // A field line (RFC 9112 §7.1.2): token ":" value. Anything else, such as a request
            // line, is refused rather than swallowed as a trailer a peer may not see.
            if (++trailer_bytes_ > kMaxTrailerBytes) {
                return fail();
            }
            if (line_bytes_ != kInTrailerValue) {
                if (c == ':' && line_bytes_ > 0) {
                    line_bytes_ = kInTrailerValue;
                } else if (is_tchar(c)) {
                    ++line_bytes_;
                } else {
                    return fail();
                }
            } else if (c == '\r') {
                state_ = State::TrailerLf;
            } else if ((static_cast<unsigned char>(c) < 0x20 && c != '\t') || c == 0x7f) {
                return fail();
            }
            break;
        case State::TrailerLf:
            if (c != '\n') {
                return fail();
            }
            state_ = State::TrailerStart;
            break;
        case State::FinalLf:
            if (c != '\n') {
                return fail();
            }
            state_ = State::Done;
            return {Status::Done, i + 1};
        case State::Done:
            return {Status::Done, i};
        case State::Error:
            return {Status::Error, i};
        }
        ++i;
    }
    if (state_ == State::Done) {
        return {Status::Done, i};
    }
    if (state_ == State::Error) {
        return {Status::Error, i};
    }
    return {Status::NeedMore, i};
}

} // namespace lacquer::http
