// RFC 8941 Dictionaries (§3.2, parsed by §4.2.2) and RFC 9213 targeted cache control (§2.1,
// §2.2) read through them.
#include "lacquer/http/cache_control.h"
#include "lacquer/http/head_parser.h"
#include "lacquer/http/structured_field.h"

#include <gtest/gtest.h>
#include <string>
#include <vector>

namespace lacquer::http {
namespace {

using sf::DictMember;
using sf::ItemType;

std::vector<DictMember> dict(std::string_view field) {
    std::vector<DictMember> out;
    EXPECT_TRUE(sf::parse_dictionary(field, out)) << field;
    return out;
}

bool valid(std::string_view field) {
    std::vector<DictMember> out;
    return sf::parse_dictionary(field, out);
}

TEST(Rfc8941Dictionary, EveryItemTypeWithParametersAndInnerLists) {
    const auto d =
        dict(R"(a=1, b=-2.5;q=1, c="x\"y", d=tok/en:1, e=:aGk=:, f=?0, g, h=(1 "s" t);p)");
    ASSERT_EQ(d.size(), 8u);
    EXPECT_EQ(d[0].key, "a");
    EXPECT_EQ(d[0].type, ItemType::Integer);
    EXPECT_EQ(d[0].integer, 1);
    EXPECT_EQ(d[1].type, ItemType::Decimal);
    EXPECT_EQ(d[1].integer, -2500);
    EXPECT_EQ(d[2].type, ItemType::String);
    EXPECT_EQ(d[2].text, R"(x\"y)");
    EXPECT_EQ(d[3].type, ItemType::Token);
    EXPECT_EQ(d[3].text, "tok/en:1");
    EXPECT_EQ(d[4].type, ItemType::ByteSequence);
    EXPECT_EQ(d[4].text, "aGk=");
    EXPECT_EQ(d[5].type, ItemType::Boolean);
    EXPECT_EQ(d[5].integer, 0);
    EXPECT_EQ(d[6].type, ItemType::Boolean); // §3.2: a bare key is Boolean true
    EXPECT_EQ(d[6].integer, 1);
    EXPECT_EQ(d[7].type, ItemType::InnerList);
}

TEST(Rfc8941Dictionary, ALaterDuplicateOverwritesInTheFirstPlace) {
    const auto d = dict("max-age=1, x, max-age=2");
    ASSERT_EQ(d.size(), 2u);
    EXPECT_EQ(d[0].key, "max-age");
    EXPECT_EQ(d[0].integer, 2);
}

TEST(Rfc8941Dictionary, WhitespaceAsSection4Allows) {
    EXPECT_TRUE(valid("  a=1,\tb=2  ")); // leading SP, OWS around commas, trailing SP
    EXPECT_TRUE(valid(""));              // an empty dictionary
    EXPECT_TRUE(valid("a=1 ,b"));        // OWS after a member, then the comma
}

TEST(Rfc8941Dictionary, InvalidFieldsAreRefusedWhole) {
    for (const char* bad : {
             "A=1",                // keys are lower case
             "a=1,",               // trailing comma
             "a=1,,b",             // empty member
             "a=1;",               // parameter without a key
             "a=1 b=2",            // no comma
             "a=\"unterminated",   // string
             "a=\"\\x\"",          // bad escape
             "a=\"\x01\"",         // control character in a string
             "a=1234567890123456", // integer of 16 digits
             "a=1.2345",           // four fractional digits
             "a=1234567890123.1",  // 13 integer digits in a decimal
             "a=1.",               // decimal without fraction
             "a=?2",               // boolean
             "a=:abc",             // unterminated byte sequence
             "a=:a b:",            // bad base64
             "a=(1 2",             // unterminated inner list
             "a=(1,2)",            // inner list items are space separated
             "a=@",                // no bare item starts with @
             "a=-",                // a sign alone
             "\ta=1",              // a leading HTAB is not SP
         }) {
        std::vector<DictMember> out{DictMember{}};
        EXPECT_FALSE(sf::parse_dictionary(bad, out)) << bad;
        EXPECT_TRUE(out.empty()) << bad;
    }
}

// Parses a response head for the targeted-field tests.
struct Response {
    HeadParser parser{HeadKind::Response, {}};
    std::string bytes;
    explicit Response(const std::string& headers) {
        bytes = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n" + headers + "\r\n";
        EXPECT_EQ(parser.feed(bytes.data(), bytes.size()).status, HeadParser::Status::Complete);
    }
    const HeaderList& headers() const { return parser.response().headers; }
};

const std::vector<std::string> kCdn{"CDN-Cache-Control"};

TEST(Rfc9213TargetedCacheControl, DirectivesOfSection2_1AsTheirTypesSay) {
    const Response r("CDN-Cache-Control: max-age=60, s-maxage=30, stale-while-revalidate=5, "
                     "stale-if-error=7, must-revalidate, public\r\n");
    const auto cc = parse_targeted_cache_control(r.headers(), kCdn);
    ASSERT_TRUE(cc);
    EXPECT_EQ(cc->max_age, 60);
    EXPECT_EQ(cc->s_maxage, 30);
    EXPECT_EQ(cc->stale_while_revalidate, 5);
    EXPECT_EQ(cc->stale_if_error, 7);
    EXPECT_TRUE(cc->must_revalidate_itself);
    EXPECT_TRUE(cc->is_public);
    // A directive of the wrong type is ignored, not the field (§2.1).
    const Response typed(
        "CDN-Cache-Control: max-age=\"60\", s-maxage=1.5, no-store=?0, private\r\n");
    const auto t = parse_targeted_cache_control(typed.headers(), kCdn);
    ASSERT_TRUE(t);
    EXPECT_FALSE(t->max_age);
    EXPECT_FALSE(t->s_maxage);
    EXPECT_FALSE(t->no_store);
    EXPECT_TRUE(t->is_private);
}

TEST(Rfc9213TargetedCacheControl, LinesJoinAndAnInvalidFieldIsIgnoredWhole) {
    const Response joined("CDN-Cache-Control: max-age=60\r\nCDN-Cache-Control: no-cache\r\n");
    const auto cc = parse_targeted_cache_control(joined.headers(), kCdn);
    ASSERT_TRUE(cc);
    EXPECT_EQ(cc->max_age, 60);
    EXPECT_TRUE(cc->no_cache);
    // Cache-Control syntax is no Dictionary: "max-age=60, Private" has an upper-case key.
    const Response invalid("CDN-Cache-Control: max-age=60, Private\r\n");
    EXPECT_FALSE(parse_targeted_cache_control(invalid.headers(), kCdn));
    const Response empty("CDN-Cache-Control: \r\n");
    EXPECT_FALSE(parse_targeted_cache_control(empty.headers(), kCdn));
}

TEST(Rfc9213TargetedCacheControl, TheFirstValidFieldOfTheListWins) {
    const std::vector<std::string> list{"Lacquer-Cache-Control", "CDN-Cache-Control"};
    const Response both("CDN-Cache-Control: max-age=60\r\nLacquer-Cache-Control: max-age=5\r\n");
    EXPECT_EQ(parse_targeted_cache_control(both.headers(), list)->max_age, 5);
    const Response first_invalid(
        "CDN-Cache-Control: max-age=60\r\nLacquer-Cache-Control: max-age=5,\r\n");
    EXPECT_EQ(parse_targeted_cache_control(first_invalid.headers(), list)->max_age, 60);
    EXPECT_FALSE(parse_targeted_cache_control(both.headers(), {}));
}

} // namespace
} // namespace lacquer::http
