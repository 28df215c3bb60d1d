#pragma once
// Strict decoder for the chunked transfer coding (RFC 9112 §7.1). It reads framing bytes itself
// and tells the caller how many data bytes stand next in the stream, so the caller can move them
// without a copy. Chunk extensions are skipped; trailers are read and dropped. Bare LF, sizes
// over 2^60, non-hex digits and overlong size lines or trailers are errors.

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace lacquer::http {

class ChunkedDecoder {
public:
    enum class Status : std::uint8_t { NeedMore, Data, Done, Error };
    struct Step {
        Status status;
        std::size_t consumed; // framing bytes of the input used by this step (drop them)
    };

    // Reads framing from the front of `input`. On Data, data_pending() bytes of chunk data
    // follow the consumed framing; take them (or part of them) and report with data_taken().
    Step next(std::string_view input);
    std::uint64_t data_pending() const { return remaining_; }
    void data_taken(std::uint64_t n) { remaining_ -= n; }

    void reset() { *this = ChunkedDecoder{}; }
    bool done() const { return state_ == State::Done; }

private:
    enum class State : std::uint8_t {
        Size,      // hex digits
        Extension, // after ';' up to CR
        SizeLf,    // CR seen after the size line
        Data,      // remaining_ bytes of data
        DataCr,    // CRLF after data
        DataLf,
        TrailerStart, // start of a trailer line (or the final CRLF)
        Trailer,      // inside a trailer line
        TrailerLf,    // CR of a trailer line seen
        FinalLf,      // CR of the final empty line seen
        Done,
        Error,
    };
    static constexpr std::size_t kMaxLineBytes = 4096;
    static constexpr std::size_t kMaxTrailerBytes = 16 * 1024;

    State state_ = State::Size;
    std::uint64_t size_ = 0;
    int digits_ = 0;
    std::uint64_t remaining_ = 0;
    std::size_t line_bytes_ = 0;
    std::size_t trailer_bytes_ = 0;
};

} // namespace lacquer::http
