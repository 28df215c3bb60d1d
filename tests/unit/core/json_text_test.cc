// One JSON string escaping for every writer: UTF-8 read back as the same characters, a byte
// outside UTF-8 as \udcXX, and nothing a parser could read as the end of the string.
#include "lacquer/core/json_text.h"

#include <gtest/gtest.h>

namespace lacquer::core {
namespace {

TEST(JsonText, Utf8StaysAsItIs) {
    EXPECT_EQ(json_string("Grüße, 東京, 🙂"), "\"Grüße, 東京, 🙂\"");
}

TEST(JsonText, QuotesBackslashesAndControlBytesAreEscaped) {
    EXPECT_EQ(json_string("a\"b\\c\nd\te\r\x01\x7f"), "\"a\\\"b\\\\c\\nd\\te\\r\\u0001\\u007f\"");
}

TEST(JsonText, BytesOutsideUtf8BecomeLoneSurrogatesNotLatin1) {
    // A Latin-1 ü, a truncated sequence, an overlong '/', a UTF-16 surrogate, past U+10FFFF.
    EXPECT_EQ(json_string("\xfc"), "\"\\udcfc\"");
    EXPECT_EQ(json_string("\xc3"), "\"\\udcc3\"");
    EXPECT_EQ(json_string("\xc0\xaf"), "\"\\udcc0\\udcaf\"");
    EXPECT_EQ(json_string("\xed\xa0\x80"), "\"\\udced\\udca0\\udc80\"");
    EXPECT_EQ(json_string("\xf4\x90\x80\x80"), "\"\\udcf4\\udc90\\udc80\\udc80\"");
}

TEST(JsonText, Utf8SequenceLengths) {
    EXPECT_EQ(utf8_sequence(""), 0u);
    EXPECT_EQ(utf8_sequence("a"), 0u); // ASCII is not a multi-byte sequence
    EXPECT_EQ(utf8_sequence("\xc3\xbc"), 2u);
    EXPECT_EQ(utf8_sequence("\xe6\x9d\xb1"), 3u);
    EXPECT_EQ(utf8_sequence("\xf0\x9f\x99\x82"), 4u);
    EXPECT_EQ(utf8_sequence("\xe6\x9d"), 0u);
}

} // namespace
} // namespace lacquer::core
