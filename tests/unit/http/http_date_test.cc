// HTTP-date by the letter (RFC 9110 §5.6.7): IMF-fixdate or one of the two obsolete forms,
// exactly; anything else is invalid (and an invalid Expires means "already expired", RFC 9111
// §5.3, which the freshness tests check).
#include "lacquer/http/cache_control.h"

#include <gtest/gtest.h>

namespace lacquer::http {
namespace {

constexpr std::int64_t kT = 784111777; // Sun, 06 Nov 1994 08:49:37 GMT

TEST(Rfc9110HttpDate, TheThreeFormsOfSection5_6_7) {
    EXPECT_EQ(parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT"), kT);
    EXPECT_EQ(parse_http_date("Sunday, 06-Nov-94 08:49:37 GMT"), kT);
    EXPECT_EQ(parse_http_date("Sun Nov  6 08:49:37 1994"), kT);
    EXPECT_EQ(parse_http_date("Sun Nov 06 08:49:37 1994"), kT); // asctime: 2DIGIT too
    EXPECT_EQ(parse_http_date("Wednesday, 09-Nov-94 08:49:37 GMT"), kT + 3 * 86400);
}

TEST(Rfc9110HttpDate, AnythingElseIsInvalid) {
    for (const char* bad : {
             "Sun, 06 Nov 1994 08:49:37 gmt",   // GMT is case-sensitive (%s"GMT")
             "Sun, 06 Nov 1994 08:49:37 UTC",   // only GMT
             "sun, 06 Nov 1994 08:49:37 GMT",   // day names are case-sensitive
             "Sun, 06 nov 1994 08:49:37 GMT",   // month names too
             "Sun, 06 Nov 1994  08:49:37 GMT",  // double space
             "Sun,  06 Nov 1994 08:49:37 GMT",  // double space
             " Sun, 06 Nov 1994 08:49:37 GMT",  // leading space
             "Sun, 06 Nov 1994 08:49:37 GMT ",  // trailing space
             "Sun, 6 Nov 1994 08:49:37 GMT",    // day = 2DIGIT
             "Sun, 06 Nov 94 08:49:37 GMT",     // year = 4DIGIT
             "Sun, 06 Nov 1994 8:49:37 GMT",    // hour = 2DIGIT
             "Sun, 06 Nov 1994 08:49:37",       // no zone
             "Sun, 06 Nov 1994 08:49:37 +0000", // numeric zone
             "Xyz, 06 Nov 1994 08:49:37 GMT",   // no such day
             "Sun 06 Nov 1994 08:49:37 GMT",    // no comma
             "Sun, 06-Nov-94 08:49:37 GMT",     // RFC 850 needs the long day name
             "sunday, 06-Nov-94 08:49:37 GMT",  // case-sensitive
             "Sunday, 06-Nov-94 08:49:37 gmt",  // case-sensitive GMT
             "Sunday,  06-Nov-94 08:49:37 GMT", // double space
             "Sun Nov 6 08:49:37 1994",         // asctime pads the day to two places
             "Sun Nov  6 08:49:37  1994",       // double space
             "sun Nov  6 08:49:37 1994",        // case-sensitive
             "Sun, 06 Nov 1994 25:49:37 GMT",   // no hour 25
             "0",                               // RFC 9111 §5.3's example
             "",
         }) {
        EXPECT_FALSE(parse_http_date(bad)) << '"' << bad << '"';
    }
}

} // namespace
} // namespace lacquer::http
