// libFuzzer target: the chunked transfer coding -> ChunkedDecoder, fed in pieces the way a
// connection feeds it (framing from the front of the unread bytes, data taken in place, possibly
// in parts). Beyond "no crash":
// - a step never consumes more than it was given; NeedMore consumes all of it; Data with framing
//   consumed announces a chunk (0 < data_pending < 2^60); while data is pending next() consumes
//   nothing; data_pending is 0 whenever the decoder says NeedMore, Done or Error;
// - Done comes once, at one stream offset, and sticks (later calls: Done, nothing consumed), as
//   does Error; reset() starts afresh;
// - fed whole or in pieces, the decoder yields the same data, the same outcome, at the same offset;
// - encode mode: the rest of the input, chunked here with fuzzer-chosen chunk sizes, hex case,
//   leading zeros, extensions and trailers, decodes to exactly those bytes and ends right before
//   what follows the message.
//
// Input: byte 0 = flags (bit 7: encode mode, bits 0-3: log2 of the largest piece), byte 1 = seed
// for the piece sizes and the encoding choices; the rest is the chunked stream (or the payload).
#include "lacquer/http/chunked.h"

#include "lacquer/core/assert.h"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace {

using lacquer::http::ChunkedDecoder;
using Status = ChunkedDecoder::Status;

constexpr std::uint64_t kMaxChunk = std::uint64_t{1} << 60;
constexpr std::string_view kNext = "GET /next HTTP/1.1\r\n";

// xorshift32: cheap, deterministic choices from one seed byte.
class Choices {
public:
    explicit Choices(std::uint8_t seed)
        : state_(0x9E3779B9u ^ (std::uint32_t{seed} * 0x01000193u)) {}
    std::uint32_t next() {
        state_ ^= state_ << 13;
        state_ ^= state_ >> 17;
        state_ ^= state_ << 5;
        return state_;
    }
    std::size_t below(std::size_t n) { return n == 0 ? 0 : next() % n; }

private:
    std::uint32_t state_;
};

struct Result {
    Status status = Status::NeedMore; // NeedMore: the stream ended inside the message
    std::size_t offset = 0;           // stream offset of Done's end or of the refused byte
    std::string data;
};

// Checks a decoder that has stopped on Done or Error: it stays there and consumes nothing.
void check_sticky(ChunkedDecoder& decoder, Status final, std::string_view more) {
    for (const std::string_view input : {more, std::string_view()}) {
        const ChunkedDecoder::Step step = decoder.next(input);
        LACQUER_ASSERT(step.status == final && step.consumed == 0);
        LACQUER_ASSERT(decoder.data_pending() == 0);
        LACQUER_ASSERT(decoder.done() == (final == Status::Done));
    }
}

// Decodes `stream` arriving in pieces of 1..max_piece bytes (all at once when max_piece is 0).
Result decode(std::string_view stream, std::size_t max_piece, Choices& choices) {
    ChunkedDecoder decoder;
    Result result;
    std::size_t arrived = 0; // bytes of the stream the "connection" has received
    std::size_t dropped = 0; // bytes of the stream consumed (framing) or taken (data)
    std::uint64_t taken = 0;
    bool probe = false; // next() while data is pending must consume nothing
    while (true) {
        const std::string_view window = stream.substr(dropped, arrived - dropped);
        if (decoder.data_pending() > 0) {
            if (probe) {
                const ChunkedDecoder::Step step = decoder.next(window);
                LACQUER_ASSERT(step.status == Status::Data && step.consumed == 0);
            }
            probe = !probe;
            const std::uint64_t pending = decoder.data_pending();
            const auto n =
                static_cast<std::size_t>(std::min<std::uint64_t>(pending, window.size()));
            if (n > 0) {
                // Take the data in one or two parts.
                const std::size_t first = n > 1 && (choices.next() & 1) != 0 ? n / 2 : n;
                result.data.append(window.substr(0, first));
                decoder.data_taken(first);
                LACQUER_ASSERT(decoder.data_pending() == pending - first);
                dropped += first;
                taken += first;
                continue;
            }
        } else {
            const ChunkedDecoder::Step step = decoder.next(window);
            LACQUER_ASSERT(step.consumed <= window.size());
            switch (step.status) {
            case Status::Data:
                LACQUER_ASSERT(step.consumed > 0);
                LACQUER_ASSERT(decoder.data_pending() > 0 && decoder.data_pending() < kMaxChunk);
                dropped += step.consumed;
                continue;
            case Status::NeedMore:
                LACQUER_ASSERT(step.consumed == window.size());
                LACQUER_ASSERT(decoder.data_pending() == 0 && !decoder.done());
                dropped += step.consumed;
                break; // wait for more bytes
            case Status::Done:
                LACQUER_ASSERT(step.consumed > 0); // at least the final LF
                LACQUER_ASSERT(decoder.done() && decoder.data_pending() == 0);
                result.status = Status::Done;
                result.offset = dropped + step.consumed;
                LACQUER_ASSERT(stream[result.offset - 1] == '\n');
                check_sticky(decoder, Status::Done, stream.substr(result.offset));
                LACQUER_ASSERT(taken == result.data.size());
                return result;
            case Status::Error:
                LACQUER_ASSERT(!decoder.done() && decoder.data_pending() == 0);
                result.status = Status::Error;
                result.offset = dropped + step.consumed;
                LACQUER_ASSERT(result.offset < arrived);
                check_sticky(decoder, Status::Error, window.substr(step.consumed));
                return result;
            }
        }
        if (arrived == stream.size()) {
            LACQUER_ASSERT(taken == result.data.size());
            decoder.reset();
            LACQUER_ASSERT(!decoder.done() && decoder.data_pending() == 0);
            return result; // the stream ended inside the message
        }
        const std::size_t piece = max_piece == 0 ? stream.size() : 1 + choices.below(max_piece);
        arrived = std::min(stream.size(), arrived + piece);
    }
}

void append_hex(std::string& out, std::uint64_t n, Choices& choices) {
    static constexpr std::string_view kLower = "0123456789abcdef";
    static constexpr std::string_view kUpper = "0123456789ABCDEF";
    const std::string_view digits = (choices.next() & 1) != 0 ? kUpper : kLower;
    std::string hex;
    do {
        hex.insert(hex.begin(), digits[n % 16]);
        n /= 16;
    } while (n != 0);
    const std::size_t zeros = choices.below(4) == 0 ? choices.below(16 - hex.size()) : 0;
    out.append(zeros, '0');
    out += hex;
}

void append_extension(std::string& out, Choices& choices) {
    switch (choices.below(6)) {
    case 0:
        out += ";name=value";
        break;
    case 1:
        out += " ;q=\"quoted string\"";
        break;
    case 2:
        out += "\t;a;b=1";
        break;
    default:
        break;
    }
}

// The payload as a chunked message followed by the start of the next one.
std::string encode(std::string_view payload, Choices& choices) {
    std::string out;
    while (!payload.empty()) {
        const std::size_t n = std::min(payload.size(), 1 + choices.below(64));
        append_hex(out, n, choices);
        append_extension(out, choices);
        out += "\r\n";
        out += payload.substr(0, n);
        out += "\r\n";
        payload.remove_prefix(n);
    }
    append_hex(out, 0, choices);
    append_extension(out, choices);
    out += "\r\n";
    for (std::size_t i = choices.below(3); i > 0; --i) {
        out += "X-Trailer: t\r\n";
    }
    out += "\r\n";
    return out;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 2) {
        return 0;
    }
    const bool encode_mode = (data[0] & 0x80) != 0;
    const std::size_t max_piece = std::size_t{1} << (data[0] & 0x0f);
    const std::string_view rest(reinterpret_cast<const char*>(data + 2), size - 2);

    if (encode_mode) {
        Choices choices(data[1]);
        const std::string message = encode(rest, choices);
        const std::string stream = message + std::string(kNext);
        const Result result = decode(stream, max_piece, choices);
        LACQUER_ASSERT(result.status == Status::Done);
        LACQUER_ASSERT(result.offset == message.size());
        LACQUER_ASSERT(result.data == rest);
        return 0;
    }

    Choices whole_choices(data[1]);
    Choices piece_choices(data[1]);
    const Result whole = decode(rest, 0, whole_choices);
    const Result pieces = decode(rest, max_piece, piece_choices);
    LACQUER_ASSERT(whole.status == pieces.status);
    LACQUER_ASSERT(whole.offset == pieces.offset);
    LACQUER_ASSERT(whole.data == pieces.data);
    return 0;
}
