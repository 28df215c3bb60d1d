#include "lacquer/http/chunked.h"

#include "lacquer/http/ascii.h"

namespace lacquer::http {

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
            const int v = hex_value(c);
            if (v >= 0) {
                if (digits_ == 15) {
                    return fail(); // 2^60 bytes: no real chunk is this large
                }
                size_ = size_ * 16 + static_cast<std::uint64_t>(v);
                ++digits_;
            } else if (digits_ == 0) {
                return fail();
            } else if (c == ';' || c == ' ' || c == '\t') {
                state_ = State::Extension; // BWS before ';' is tolerated, as RFC 9112 allows
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
                continue; // count this byte in the trailer line
            }
            break;
        case State::Trailer:
            if (++trailer_bytes_ > kMaxTrailerBytes) {
                return fail();
            }
            if (c == '\r') {
                state_ = State::TrailerLf;
            } else if (c == '\n' || c == '\0') {
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
