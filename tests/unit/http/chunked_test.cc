#include "lacquer/http/chunked.h"

#include <gtest/gtest.h>
#include <string>

namespace lacquer::http {
namespace {

// Decodes `wire` fed in pieces of `step` bytes; returns the data, or "ERROR".
std::string decode(std::string_view wire, std::size_t step, std::size_t* leftover = nullptr) {
    ChunkedDecoder d;
    std::string out;
    std::string pending;
    std::size_t pos = 0;
    while (true) {
        if (pending.empty() && pos < wire.size()) {
            pending = std::string(wire.substr(pos, step));
            pos += pending.size();
        }
        const auto s = d.next(pending);
        pending.erase(0, s.consumed);
        if (s.status == ChunkedDecoder::Status::Error) {
            return "ERROR";
        }
        if (s.status == ChunkedDecoder::Status::Done) {
            if (leftover != nullptr) {
                *leftover = pending.size() + (wire.size() - pos);
            }
            return out;
        }
        if (s.status == ChunkedDecoder::Status::Data) {
            const std::size_t n = std::min<std::uint64_t>(d.data_pending(), pending.size());
            out += pending.substr(0, n);
            pending.erase(0, n);
            d.data_taken(n);
            if (n == 0 && pos >= wire.size()) {
                return "INCOMPLETE";
            }
            continue;
        }
        if (pos >= wire.size()) {
            return "INCOMPLETE";
        }
    }
}

TEST(ChunkedDecoder, DecodesWhateverTheSplit) {
    const std::string wire = "5\r\nhello\r\nA;ext=1\r\n0123456789\r\n0\r\nX-Trailer: t\r\n\r\nNEXT";
    for (std::size_t step = 1; step <= wire.size(); ++step) {
        std::size_t leftover = 0;
        EXPECT_EQ(decode(wire, step, &leftover), "hello0123456789") << step;
        EXPECT_EQ(leftover, 4u) << step;
    }
}

TEST(ChunkedDecoder, EndsRightAfterTheLastChunkWithoutTrailers) {
    const std::string wire = "2\r\nok\r\n0\r\n\r\nNEXT";
    for (std::size_t step = 1; step <= wire.size(); ++step) {
        std::size_t leftover = 0;
        EXPECT_EQ(decode(wire, step, &leftover), "ok") << step;
        EXPECT_EQ(leftover, 4u) << step;
    }
}

TEST(ChunkedDecoder, RefusesHostileFraming) {
    const char* bad[] = {
        "5\nhello\r\n0\r\n\r\n",                 // bare LF after size
        "5\r\nhelloX\r\n0\r\n\r\n",              // data longer than its size
        "g\r\n",                                 // not hex
        "\r\n",                                  // no digits
        "1000000000000000\r\n",                  // 2^60: overflow guard
        "-1\r\n",                                // sign
        "0\r\n\n",                               // bare LF at the end
        "5\r\nhello\r\n0\r\nX: a\nY: b\r\n\r\n", // bare LF in a trailer
        // Found by the smuggling corpus: whitespace after the size let junk through as an
        // extension, and any line passed as a trailer.
        "4 0\r\nabcd\r\n0\r\n\r\n",                       // a digit after BWS
        "4 x\r\nabcd\r\n0\r\n\r\n",                       // junk after BWS, no ';'
        "0\r\nGET /smuggled HTTP/1.1\r\nHost: a\r\n\r\n", // a request line as a trailer
        "0\r\nX-T\r\n\r\n",                               // no colon
        "0\r\nX-T : a\r\n\r\n",                           // space before the colon
        "0\r\n: a\r\n\r\n",                               // empty name
        "0\r\nX-T: a\r\n b\r\n\r\n",                      // obs-fold
        "0\r\nX-T: a\x01b\r\n\r\n",                       // control byte in the value
    };
    for (const char* wire : bad) {
        EXPECT_EQ(decode(wire, 3), "ERROR") << wire;
    }
}

TEST(ChunkedDecoder, AcceptsBwsBeforeExtensionsAndFieldLineTrailers) {
    const std::string wire = "5 ;a=\"b c\"\r\nhello\r\n3\t \r\nabc\r\n0\r\nX-T: a\tb\r\nY:\r\n\r\n";
    for (std::size_t step = 1; step <= wire.size(); ++step) {
        EXPECT_EQ(decode(wire, step), "helloabc") << step;
    }
}

TEST(ChunkedDecoder, NeedsTheFinalEmptyLine) {
    EXPECT_EQ(decode("5\r\nhello\r\n0\r\n", 100), "INCOMPLETE");
}

} // namespace
} // namespace lacquer::http
