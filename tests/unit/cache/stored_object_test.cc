// What a stored object keeps and how: the Date line as a 4-byte time when it formats back to the
// same bytes (else as a line of the head), the narrowed fields (hashes' low 32 bits, stale
// windows clamped), and the header's size.
#include "lacquer/cache/object_store.h"
#include "lacquer/cache/stored_object.h"

#include <algorithm>
#include <chrono>
#include <gtest/gtest.h>
#include <string>

namespace lacquer::cache {
namespace {

ObjectRef make(std::string_view head, std::uint32_t date = 0) {
    StoredObject::Fields f;
    f.key = "G\nh\n/p\n\n";
    f.hash = 0x1234'5678'9abc'def0ULL;
    f.url_hash = 0x0fed'cba9'8765'4321ULL;
    f.head = head;
    f.date = date;
    f.body_size = 3;
    ObjectRef o(StoredObject::create(f));
    std::copy_n("abc", 3, o->body_for_fill());
    return o;
}

TEST(StoredObject, AnImfFixdateDateLineIsKeptAsItsTime) {
    const ObjectRef o = make("Content-Type: a/b\r\nDate: Sun, 06 Nov 1994 08:49:37 GMT\r\n"
                             "ETag: \"e\"\r\n");
    EXPECT_EQ(o->date(), 784111777u);
    EXPECT_EQ(o->head(), "Content-Type: a/b\r\nETag: \"e\"\r\n");
    EXPECT_EQ(std::string_view(o->body(), o->body_size()), "abc");
    EXPECT_EQ(o->charge(), sizeof(StoredObject) + o->key().size() + o->head().size() + 3 +
                               ObjectStore::kOverheadPerObject);
}

TEST(StoredObject, AnyOtherDateStaysALineOfTheHeadAsItCame) {
    for (const std::string_view head :
         {"Date: Sunday, 06-Nov-94 08:49:37 GMT\r\n", // RFC 850: formats back otherwise
          "Date: Sun Nov  6 08:49:37 1994\r\n",       // asctime
          "Date: Sun, 06 Nov 1994 08:49:37 GMT \r\n", // trailing space
          "date: Sun, 06 Nov 1994 08:49:37 GMT\r\n",  // another spelling of the name
          "Date: yesterday\r\n", "Date: Thu, 01 Jan 1970 00:00:00 GMT\r\n"}) {
        const ObjectRef o = make(head, 0);
        EXPECT_EQ(o->date(), 0u) << head;
        EXPECT_EQ(o->head(), head);
    }
}

TEST(StoredObject, WithoutADateLineTheGivenDateIsKept) {
    EXPECT_EQ(make("ETag: \"e\"\r\n", 784111777)->date(), 784111777u);
    EXPECT_EQ(make("ETag: \"e\"\r\n")->date(), 0u);
    // A Date line in the head wins over the given one (a 304 that sent a new Date).
    EXPECT_EQ(make("Date: Mon, 07 Nov 1994 08:49:37 GMT\r\n", 784111777)->date(), 784198177u);
}

TEST(StoredObject, HashesKeepTheirLow32BitsAndStaleWindowsAreClamped) {
    StoredObject::Fields f;
    f.key = "k";
    f.hash = 0xaaaa'bbbb'cccc'ddddULL;
    f.url_hash = 0x1111'2222'3333'4444ULL;
    f.status = 999;
    f.window.ttl = std::chrono::hours(24 * 365); // ttl keeps its full width
    f.window.stale = std::chrono::hours(24 * 30);
    f.window.stale_if_error = core::Millis(-5);
    f.window.must_revalidate = true;
    const ObjectRef o(StoredObject::create(f));
    EXPECT_EQ(o->hash(), 0xcccc'ddddULL);
    EXPECT_TRUE(o->has_hash(0xaaaa'bbbb'cccc'ddddULL));
    EXPECT_TRUE(o->has_hash(0x0000'0000'cccc'ddddULL));
    EXPECT_FALSE(o->has_hash(0xaaaa'bbbb'cccc'dddcULL));
    EXPECT_TRUE(o->has_url_hash(0x1111'2222'3333'4444ULL));
    EXPECT_EQ(o->status(), 999);
    const FreshnessWindow w = o->window();
    EXPECT_EQ(w.ttl, std::chrono::hours(24 * 365));
    EXPECT_EQ(w.stale, core::Millis(StoredObject::kMaxWindowMs));
    EXPECT_EQ(w.stale_if_error, core::Millis(0));
    EXPECT_TRUE(w.must_revalidate);
}

TEST(StoredObject, TheHeaderIs104Bytes) {
    EXPECT_EQ(sizeof(StoredObject), 104u); // perf/memory.sh's per-object figure depends on it
}

} // namespace
} // namespace lacquer::cache
