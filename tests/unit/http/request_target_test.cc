// read_request_target(): target forms (RFC 9112 §3.2), fragments, and path normalisation
// (RFC 3986 §5.2.4 dot-segments, unreserved escapes, merged slashes). Issue 15 items 1 and 7.
#include "lacquer/http/request_target.h"

#include <gtest/gtest.h>
#include <memory>
#include <string>
#include <vector>

namespace lacquer::http {
namespace {

// A read with its own copy of the target and its own buffer, so that the views stay valid.
struct Read {
    std::string sent;
    std::vector<char> buffer;
    TargetOutcome outcome{};
    RequestTarget target;
};

std::unique_ptr<Read> read(std::string_view target, std::string_view method = "GET",
                           PathRules rules = {}) {
    auto r = std::make_unique<Read>();
    r->sent = target;
    r->buffer.assign(target.size(), '\0');
    r->outcome = read_request_target(r->sent, method, rules, r->buffer, r->target);
    return r;
}

struct PathCase {
    std::string_view sent;
    std::string_view path;
};

class PathNormalisation : public ::testing::TestWithParam<PathCase> {};

TEST_P(PathNormalisation, RoutesKeysAndOriginSeeOnePath) {
    const PathCase& c = GetParam();
    const auto r = read(c.sent);
    ASSERT_EQ(r->outcome, TargetOutcome::Ok) << c.sent;
    EXPECT_EQ(r->target.path, c.path) << c.sent;
    // Normalising the result again changes nothing.
    const auto again = read(r->target.path);
    ASSERT_EQ(again->outcome, TargetOutcome::Ok);
    EXPECT_EQ(again->target.path, c.path);
}

INSTANTIATE_TEST_SUITE_P(
    Rfc3986Section5_2_4, PathNormalisation,
    ::testing::Values(
        PathCase{"/p/x", "/p/x"}, PathCase{"/c/../p/x", "/p/x"}, PathCase{"/c/%2e%2e/p/x", "/p/x"},
        PathCase{"/c/%2E%2E/p/x", "/p/x"}, PathCase{"/c/.%2e/p/x", "/p/x"},
        PathCase{"//p/x", "/p/x"}, PathCase{"/p//x", "/p/x"}, PathCase{"/./p/./x", "/p/x"},
        PathCase{"/..", "/"}, PathCase{"/../../p/x", "/p/x"}, PathCase{"/a/b/..", "/a/"},
        PathCase{"/a/.", "/a/"}, PathCase{"/", "/"}, PathCase{"/a/b/c/./../../g", "/a/g"},
        PathCase{"/mid/content=5/../6", "/mid/6"}, PathCase{"/%7Euser/%61bc", "/~user/abc"},
        PathCase{"/a%2fb", "/a%2Fb"}, PathCase{"/a%2F..%2Fb", "/a%2F..%2Fb"},
        PathCase{"/a/..b/c", "/a/..b/c"}, PathCase{"/a/.b", "/a/.b"}, PathCase{"/a%20b", "/a%20b"},
        PathCase{"/p/x/", "/p/x/"}));

TEST(RequestTarget, AnUnchangedPathIsAViewOfTheTarget) {
    const std::string target = "/v3/listings?limit=5";
    std::vector<char> buffer(target.size());
    RequestTarget out;
    ASSERT_EQ(read_request_target(target, "GET", {}, buffer, out), TargetOutcome::Ok);
    EXPECT_EQ(out.path.data(), target.data());
    EXPECT_EQ(out.origin_form.data(), target.data());
    EXPECT_EQ(out.origin_form, target);
    EXPECT_EQ(out.query, "limit=5");
}

TEST(RequestTarget, TheOriginFormCarriesTheNormalisedPathAndTheQueryAsSent) {
    const auto r = read("/c/../p/x?b=%2e&a=1");
    ASSERT_EQ(r->outcome, TargetOutcome::Ok);
    EXPECT_EQ(r->target.origin_form, "/p/x?b=%2e&a=1");
    EXPECT_EQ(read("/c/../p/x?")->target.origin_form, "/p/x?");
}

TEST(RequestTarget, MergingSlashesIsAnOption) {
    PathRules keep;
    keep.merge_slashes = false;
    EXPECT_EQ(read("//p/x", "GET", keep)->target.path, "//p/x");
    EXPECT_EQ(read("/a//../b", "GET", keep)->target.path, "/a/b"); // RFC 3986's own reading
    EXPECT_EQ(read("/a//../b")->target.path, "/b");
}

TEST(RequestTarget, AbsoluteFormGivesItsAuthority) {
    auto r = read("http://other.example/x");
    ASSERT_EQ(r->outcome, TargetOutcome::Ok);
    EXPECT_TRUE(r->target.absolute_form);
    EXPECT_EQ(r->target.authority, "other.example");
    EXPECT_EQ(r->target.origin_form, "/x");

    r = read("HTTPS://Other.Example:8443/a/../b?q=1");
    ASSERT_EQ(r->outcome, TargetOutcome::Ok);
    EXPECT_EQ(r->target.authority, "Other.Example:8443");
    EXPECT_EQ(r->target.origin_form, "/b?q=1");

    r = read("http://h");
    ASSERT_EQ(r->outcome, TargetOutcome::Ok);
    EXPECT_EQ(r->target.origin_form, "/");
    r = read("http://h?q");
    ASSERT_EQ(r->outcome, TargetOutcome::Ok);
    EXPECT_EQ(r->target.path, "/");
    EXPECT_EQ(r->target.origin_form, "/?q");
}

TEST(RequestTarget, RFC9112Section3_2_RefusesWhatIsNotARequestTarget) {
    for (std::string_view bad : {"/x#frag", "/x?q#f", "#", "http://h/x#f", "http:///x", "http://",
                                 "x/y", "other.example:80", "/%zz", "/%2", "*"}) {
        EXPECT_EQ(read(bad)->outcome, TargetOutcome::Malformed) << bad;
    }
    const auto star = read("*", "OPTIONS");
    ASSERT_EQ(star->outcome, TargetOutcome::Ok);
    EXPECT_TRUE(star->target.asterisk);
}

TEST(RequestTarget, TooSmallABufferIsTooLongNeverAnOverflow) {
    std::vector<char> small(3);
    RequestTarget out;
    EXPECT_EQ(read_request_target("/c/../p/x", "GET", {}, small, out), TargetOutcome::TooLong);
}

} // namespace
} // namespace lacquer::http
