// Cache keys: param order and filtering, percent-encoding normalisation, unknown-param
// policies, variants in the key, idempotence (the upstream target keys like the request), fixed
// buffers, and zero allocations on a warm buffer.
#include "lacquer/cache/cache_key.h"
#include "lacquer/http/head.h"
#include "unit/cache/allocation_count.h"
#include "unit/cache/variant_fixtures.h"

#include <atomic>
#include <cstdlib>
#include <gtest/gtest.h>
#include <new>
#include <string>
#include <utility>
#include <vector>
#include <xxhash.h>

// Every global operator new in this binary counts (allocation_count.h), so a test can assert
// that a code path allocates nothing (STYLE.md §E). libstdc++'s array and nothrow forms call the
// plain one, but a sanitizer runtime replaces each form on its own, so every form that could
// meet our operator delete is replaced here: malloc and free on both sides, always.
std::atomic<std::size_t> lacquer::test::g_allocations{0};
using lacquer::test::g_allocations;

void* operator new(std::size_t size) {
    g_allocations.fetch_add(1, std::memory_order_relaxed);
    if (void* p = std::malloc(size == 0 ? 1 : size)) {
        return p;
    }
    throw std::bad_alloc();
}
// GCC pairs new with free here after inlining and warns; the pair is malloc/free, on purpose.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
void operator delete(void* p) noexcept {
    std::free(p);
}
void operator delete(void* p, std::size_t) noexcept {
    std::free(p);
}
void* operator new(std::size_t size, const std::nothrow_t&) noexcept {
    g_allocations.fetch_add(1, std::memory_order_relaxed);
    return std::malloc(size == 0 ? 1 : size);
}
void operator delete(void* p, const std::nothrow_t&) noexcept {
    std::free(p);
}
void* operator new[](std::size_t size) {
    return operator new(size);
}
void* operator new[](std::size_t size, const std::nothrow_t& tag) noexcept {
    return operator new(size, tag);
}
void operator delete[](void* p) noexcept {
    std::free(p);
}
void operator delete[](void* p, std::size_t) noexcept {
    std::free(p);
}
void operator delete[](void* p, const std::nothrow_t&) noexcept {
    std::free(p);
}
#pragma GCC diagnostic pop

namespace lacquer::cache {
namespace {

using fixtures::example_variants;
using fixtures::variant_config;

config::CachePolicyConfig policy_config(std::vector<std::string> params,
                                        config::UnknownParams unknown,
                                        std::vector<std::string> variants = {}) {
    config::CachePolicyConfig cache;
    cache.all_params = params.size() == 1 && params[0] == "all";
    if (!cache.all_params) {
        cache.key_params = std::move(params);
    }
    cache.unknown_params = unknown;
    cache.variants = std::move(variants);
    return cache;
}

class CacheKeyTest : public ::testing::Test {
protected:
    KeyOutcome build(const KeyPolicy& policy, std::string_view path, std::string_view query,
                     std::string_view method = "GET", std::string_view host = "example.com",
                     const http::HeaderList* headers = nullptr) {
        return build_key(policy, method, RequestView{host, path, query, headers}, buffer_, key_);
    }

    // The params line of the canonical key (the fourth line).
    std::string params_line() const {
        std::string_view rest = key_.canonical;
        for (int i = 0; i < 3; ++i) {
            rest.remove_prefix(rest.find('\n') + 1);
        }
        return std::string(rest.substr(0, rest.find('\n')));
    }

    VariantSet variants_{example_variants()};
    KeyBuffer buffer_{8 * 1024};
    BuiltKey key_;
};

TEST_F(CacheKeyTest, CanonicalLayoutAndHash) {
    const KeyPolicy policy = compile_key_policy(
        policy_config({"b", "a"}, config::UnknownParams::Strip, {"locale", "currency"}), variants_);
    ASSERT_EQ(build(policy, "/p", "b=2&a=1", "GET", "Example.COM:8080"), KeyOutcome::Ok);
    EXPECT_EQ(key_.canonical, "G\nexample.com:8080\n/p\na=1&b=2\nlocale=en-US\ncurrency=USD\n");
    EXPECT_EQ(key_.hash, XXH3_64bits(key_.canonical.data(), key_.canonical.size()));
    EXPECT_EQ(key_.url, "G\nexample.com:8080\n/p\na=1&b=2\n"); // shared by every variant
    EXPECT_EQ(key_.url_hash, XXH3_64bits(key_.url.data(), key_.url.size()));
    EXPECT_EQ(key_.upstream_target, "/p?a=1&b=2");
    EXPECT_EQ(key_.variant_count, 2U);
    EXPECT_EQ(key_.variant_values[0], 0);
    EXPECT_EQ(key_.variant_values[1], 0);
    EXPECT_EQ(policy.params, (std::vector<std::string>{"a", "b"}));
    EXPECT_EQ(key_outcome_name(KeyOutcome::RejectParams), "RejectParams");
}

struct ParamCase {
    const char* name;
    std::vector<std::string> key_params; // {"all"} for key_params: all
    config::UnknownParams unknown;
    const char* path;
    const char* query;
    KeyOutcome outcome;
    const char* target; // upstream_target for Ok and PassParams
};

class KeyParams : public CacheKeyTest, public ::testing::WithParamInterface<ParamCase> {};

TEST_P(KeyParams, NormalisesFiltersAndSorts) {
    const ParamCase& c = GetParam();
    const KeyPolicy policy = compile_key_policy(policy_config(c.key_params, c.unknown), variants_);
    ASSERT_EQ(build(policy, c.path, c.query), c.outcome) << c.name;
    EXPECT_EQ(key_.upstream_target,
              c.outcome == KeyOutcome::Ok || c.outcome == KeyOutcome::PassParams ? c.target : "")
        << c.name;
    if (c.outcome != KeyOutcome::Ok) {
        EXPECT_TRUE(key_.canonical.empty());
        return;
    }
    const std::string_view target = key_.upstream_target;
    const std::size_t question = target.find('?');
    EXPECT_EQ(params_line(), question == std::string_view::npos ? "" : target.substr(question + 1));

    // Idempotence: the origin's request-target keys exactly like the client's request.
    const std::string canonical(key_.canonical);
    const std::string path(target.substr(0, question));
    const std::string query(question == std::string_view::npos ? "" : target.substr(question + 1));
    ASSERT_EQ(build(policy, path, query), KeyOutcome::Ok) << c.name;
    EXPECT_EQ(key_.canonical, canonical) << c.name;
    EXPECT_EQ(key_.upstream_target, c.target) << c.name;
}

using U = config::UnknownParams;
const std::vector<std::string> kAll = {"all"};
const std::vector<std::string> kListing = {"limit", "offset", "sort_on", "q", "a"};

INSTANTIATE_TEST_SUITE_P(
    Table, KeyParams,
    ::testing::Values(
        ParamCase{"sorted by name", kAll, U::Strip, "/p", "b=2&a=1&c=3", KeyOutcome::Ok,
                  "/p?a=1&b=2&c=3"},
        ParamCase{"repeated keep order", kAll, U::Strip, "/p", "a=2&b=1&a=1", KeyOutcome::Ok,
                  "/p?a=2&a=1&b=1"},
        ParamCase{"no value vs empty value", kAll, U::Strip, "/p", "a=&a", KeyOutcome::Ok,
                  "/p?a=&a"},
        ParamCase{"empty pieces skipped", kAll, U::Strip, "/p", "&&a=1&&", KeyOutcome::Ok,
                  "/p?a=1"},
        ParamCase{"empty name kept", kAll, U::Strip, "/p", "=x&b", KeyOutcome::Ok, "/p?=x&b"},
        ParamCase{"value with =", kAll, U::Strip, "/p", "a=b=c", KeyOutcome::Ok, "/p?a=b=c"},
        ParamCase{"unreserved decoded", kAll, U::Strip, "/%7euser/%41%2d%2E%5f", "", KeyOutcome::Ok,
                  "/~user/A-._"},
        ParamCase{"reserved upper-cased", kAll, U::Strip, "/a%2fb%3a", "x=%2f%e2%82%ac",
                  KeyOutcome::Ok, "/a%2Fb%3A?x=%2F%E2%82%AC"},
        ParamCase{"plus kept", kAll, U::Strip, "/p", "q=a+b%2B", KeyOutcome::Ok, "/p?q=a+b%2B"},
        ParamCase{"raw bytes escaped", kAll, U::Strip, "/caf\xC3\xA9 x\"", "a=<b>#", KeyOutcome::Ok,
                  "/caf%C3%A9%20x%22?a=%3Cb%3E%23"},
        ParamCase{"question mark in path", kAll, U::Strip, "/a?b", "", KeyOutcome::Ok, "/a%3Fb"},
        ParamCase{"no dot-segment removal", kAll, U::Strip, "/a/../b/./c", "", KeyOutcome::Ok,
                  "/a/../b/./c"},
        ParamCase{"empty path", kAll, U::Strip, "", "", KeyOutcome::Ok, "/"},
        ParamCase{"encoded name sorts decoded", kAll, U::Strip, "/p", "b=1&%61=2", KeyOutcome::Ok,
                  "/p?a=2&b=1"},
        ParamCase{"bad escape alone", kAll, U::Strip, "/%", "", KeyOutcome::BadEncoding, ""},
        ParamCase{"bad escape hex", kAll, U::Strip, "/%G1", "", KeyOutcome::BadEncoding, ""},
        ParamCase{"bad escape short", kAll, U::Strip, "/%1", "", KeyOutcome::BadEncoding, ""},
        ParamCase{"bad escape in value", kAll, U::Strip, "/p", "a=%zz", KeyOutcome::BadEncoding,
                  ""},
        ParamCase{"bad escape in name", kAll, U::Strip, "/p", "%=1", KeyOutcome::BadEncoding, ""},
        ParamCase{"allow-list strips", kListing, U::Strip, "/l",
                  "utm_source=x&offset=5&limit=10&fbclid=y", KeyOutcome::Ok,
                  "/l?limit=10&offset=5"},
        ParamCase{"allow-list encoded name", kListing, U::Strip, "/l", "lim%69t=1&sort%5Fon=2",
                  KeyOutcome::Ok, "/l?limit=1&sort_on=2"},
        ParamCase{"allow-list is exact", kListing, U::Strip, "/l", "Limit=1&limits=2&q",
                  KeyOutcome::Ok, "/l?q"},
        ParamCase{"nothing kept no question mark", kListing, U::Strip, "/l", "x=1", KeyOutcome::Ok,
                  "/l"},
        ParamCase{"pass still refuses bad escapes", kListing, U::Pass, "/%7el", "limit=10&utm=x%zz",
                  KeyOutcome::BadEncoding, ""},
        ParamCase{"pass", kListing, U::Pass, "/%7el", "limit=10&utm=%c3", KeyOutcome::PassParams,
                  "/~l?limit=10&utm=%c3"},
        ParamCase{"pass without unknowns is Ok", kListing, U::Pass, "/l", "limit=1", KeyOutcome::Ok,
                  "/l?limit=1"},
        ParamCase{"reject", kListing, U::Reject, "/l", "limit=10&utm=x", KeyOutcome::RejectParams,
                  ""},
        ParamCase{"reject without unknowns is Ok", kListing, U::Reject, "/l", "offset=1&a",
                  KeyOutcome::Ok, "/l?a&offset=1"}),
    [](const auto& param_info) {
        std::string name = param_info.param.name;
        for (char& c : name) {
            c = (c == ' ' || c == '-' || c == '=') ? '_' : c;
        }
        return name;
    });

TEST_F(CacheKeyTest, MethodClassAndHost) {
    const KeyPolicy policy = compile_key_policy(policy_config(kAll, U::Strip), variants_);
    ASSERT_EQ(build(policy, "/p", "", "GET"), KeyOutcome::Ok);
    const std::string get(key_.canonical);
    ASSERT_EQ(build(policy, "/p", "", "HEAD"), KeyOutcome::Ok);
    EXPECT_EQ(key_.canonical, get);
    ASSERT_EQ(build(policy, "/p", "", "POST"), KeyOutcome::Ok);
    EXPECT_NE(key_.canonical, get);
    ASSERT_EQ(build(policy, "/p", "", "GET", "EXAMPLE.com"), KeyOutcome::Ok);
    EXPECT_EQ(key_.canonical, get);
    ASSERT_EQ(build(policy, "/p", "", "GET", "example.com:80"), KeyOutcome::Ok);
    EXPECT_NE(key_.canonical, get);
    EXPECT_EQ(build(policy, "/p", "", "GET", "exa mple.com"), KeyOutcome::BadEncoding);
    EXPECT_EQ(build(policy, "/p", "", "GET", "a\nb"), KeyOutcome::BadEncoding);
    EXPECT_EQ(build(policy, "/p", "", "GET", ""), KeyOutcome::Ok);
}

TEST_F(CacheKeyTest, DifferentlyWrittenSameRequestSameKey) {
    const KeyPolicy policy = compile_key_policy(policy_config(kListing, U::Strip), variants_);
    ASSERT_EQ(build(policy, "/%7ex/%2f", "offset=2&limit=1&utm=3"), KeyOutcome::Ok);
    const std::string first(key_.canonical);
    const std::uint64_t hash = key_.hash;
    ASSERT_EQ(build(policy, "/~x/%2F", "lim%69t=1&offset=2", "HEAD", "EXAMPLE.COM"),
              KeyOutcome::Ok);
    EXPECT_EQ(key_.canonical, first);
    EXPECT_EQ(key_.hash, hash);
}

TEST_F(CacheKeyTest, VariantsAreResolvedIntoTheKey) {
    const KeyPolicy policy =
        compile_key_policy(policy_config(kAll, U::Strip, {"locale", "currency"}), variants_);
    http::HeaderList headers;
    headers.items[0] = {"Accept-Language", "de-AT,de;q=0.9"};
    headers.items[1] = {"Cookie", "currency=eur"};
    headers.count = 2;
    ASSERT_EQ(build(policy, "/p", "locale=ja-jp&x=1", "GET", "h", &headers), KeyOutcome::Ok);
    EXPECT_EQ(key_.canonical, "G\nh\n/p\nlocale=ja-jp&x=1\nlocale=ja-JP\ncurrency=EUR\n");
    EXPECT_EQ(key_.variant_values[0], 4);
    EXPECT_EQ(key_.variant_values[1], 1);
    ASSERT_EQ(build(policy, "/p", "", "GET", "h", &headers), KeyOutcome::Ok);
    EXPECT_EQ(key_.canonical, "G\nh\n/p\n\nlocale=de-DE\ncurrency=EUR\n");
    headers.items[0].value = "de";
    const std::string before(key_.canonical);
    ASSERT_EQ(build(policy, "/p", "", "GET", "h", &headers), KeyOutcome::Ok);
    EXPECT_EQ(key_.canonical, before); // de-AT and de both normalise to de-DE
    headers.items[0].value = "fr";
    ASSERT_EQ(build(policy, "/p", "", "GET", "h", &headers), KeyOutcome::Ok);
    EXPECT_NE(key_.canonical, before);
}

TEST_F(CacheKeyTest, QuerySourcedVariantIsKeyedButNotForwardedAsAParam) {
    // The origin learns the locale from the variant's forward header, not from the query.
    const KeyPolicy policy =
        compile_key_policy(policy_config({"a"}, U::Strip, {"locale"}), variants_);
    ASSERT_EQ(build(policy, "/p", "locale=fr-fr&a=1"), KeyOutcome::Ok);
    EXPECT_EQ(key_.canonical, "G\nexample.com\n/p\na=1\nlocale=fr-FR\n");
    EXPECT_EQ(key_.upstream_target, "/p?a=1");
}

TEST_F(CacheKeyTest, OtherMethodsCannotForgeTheLineLayout) {
    const KeyPolicy policy = compile_key_policy(policy_config(kAll, U::Strip), variants_);
    ASSERT_EQ(build(policy, "/p", "", "G\nx%"), KeyOutcome::Ok);
    EXPECT_EQ(key_.canonical, "MG%0Ax%25\nexample.com\n/p\n\n");
}

TEST_F(CacheKeyTest, PolicyCompilation) {
    const KeyPolicy policy = compile_key_policy(
        policy_config({"b", "a", "b", "%7ex", "%zz"}, U::Reject, {"currency"}), variants_);
    EXPECT_EQ(policy.params, (std::vector<std::string>{"%zz", "a", "b", "~x"}));
    EXPECT_TRUE(policy.allows("~x"));
    EXPECT_FALSE(policy.allows("c"));
    ASSERT_EQ(policy.variants.size(), 1U);
    EXPECT_EQ(policy.variants[0], variants_.find("currency"));
    EXPECT_THROW(compile_key_policy(policy_config(kAll, U::Strip, {"nope"}), variants_),
                 std::invalid_argument);
    EXPECT_THROW(
        compile_key_policy(policy_config(kAll, U::Strip, std::vector<std::string>(17, "locale")),
                           variants_),
        std::invalid_argument);
}

TEST_F(CacheKeyTest, TooManyParamsOrTooLongIsTooLarge) {
    const KeyPolicy policy = compile_key_policy(policy_config(kAll, U::Strip), variants_);
    std::string query;
    for (int i = 0; i < 256; ++i) {
        query += "p=1&";
    }
    EXPECT_EQ(build(policy, "/p", query), KeyOutcome::Ok);
    query += "p=1";
    EXPECT_EQ(build(policy, "/p", query), KeyOutcome::TooLarge);
    EXPECT_TRUE(key_.canonical.empty());

    KeyBuffer small(16);
    const std::string fits(16 + 1000, 'a');
    EXPECT_EQ(build_key(policy, "GET", RequestView{"h", "/" + fits, "", nullptr}, small, key_),
              KeyOutcome::Ok);
    // Escaping triples raw bytes: the buffer refuses instead of growing.
    const std::string raw(small.target_capacity(), ' ');
    EXPECT_EQ(build_key(policy, "GET", RequestView{"h", raw, "", nullptr}, small, key_),
              KeyOutcome::TooLarge);
    EXPECT_EQ(build_key(policy, "GET", RequestView{"h", "/", raw, nullptr}, small, key_),
              KeyOutcome::TooLarge);
    const std::string host(small.key_capacity(), 'h');
    EXPECT_EQ(build_key(policy, "GET", RequestView{host, "/", "", nullptr}, small, key_),
              KeyOutcome::TooLarge);
    EXPECT_TRUE(key_.canonical.empty());
    EXPECT_TRUE(key_.upstream_target.empty());
    // Reject and Pass decide only after every param was read, so a bad escape anywhere wins.
    const KeyPolicy reject = compile_key_policy(policy_config({"a"}, U::Reject), variants_);
    EXPECT_EQ(build(reject, "/p", "x=1&a=%"), KeyOutcome::BadEncoding);
}

TEST_F(CacheKeyTest, WarmBufferBuildsWithoutAllocating) {
    const KeyPolicy policy =
        compile_key_policy(policy_config(kListing, U::Strip, {"locale", "currency"}), variants_);
    const KeyPolicy pass = compile_key_policy(policy_config(kListing, U::Pass), variants_);
    http::HeaderList headers;
    headers.items[0] = {"Accept-Language", "fr;q=0.1, de-AT, ja-JP;q=0.8, *;q=0.01"};
    headers.items[1] = {"Cookie", "session=abc; currency=\"GBP\""};
    headers.items[2] = {"X-Currency", "JPY"};
    headers.count = 3;
    const RequestView request{"Example.com", "/v3/%7elistings", "utm=1&offset=20&limit=10&q=a%2fb",
                              &headers};
    ASSERT_EQ(build_key(policy, "GET", request, buffer_, key_), KeyOutcome::Ok); // warm up

    const std::size_t before = g_allocations.load();
    KeyOutcome outcome = KeyOutcome::TooLarge;
    for (int i = 0; i < 100; ++i) {
        outcome = build_key(policy, "GET", request, buffer_, key_);
        static_cast<void>(build_key(pass, "HEAD", request, buffer_, key_));
        static_cast<void>(resolve(*policy.variants[0], request));
        outcome = build_key(policy, "GET", request, buffer_, key_);
    }
    const std::size_t allocations = g_allocations.load() - before;
    EXPECT_EQ(allocations, 0U);
    ASSERT_EQ(outcome, KeyOutcome::Ok);
    EXPECT_EQ(key_.canonical,
              "G\nexample.com\n/v3/~listings\nlimit=10&offset=20&q=a%2Fb\nlocale=de-DE\n"
              "currency=GBP\n");
    // The counter itself works.
    const std::size_t probe = g_allocations.load();
    const std::string allocated(1000, 'x');
    EXPECT_GT(g_allocations.load(), probe);
}

TEST_F(CacheKeyTest, AReleasedBufferHoldsNothingAndTakesItsSpareBlockAgain) {
    const KeyPolicy policy =
        compile_key_policy(policy_config(kListing, U::Strip, {"locale", "currency"}), variants_);
    const RequestView request{"example.com", "/v3/listings", "offset=20&limit=10", nullptr};
    KeyBuffer buffer(8 * 1024);
    EXPECT_FALSE(buffer.holds_memory()); // a connection between requests
    ASSERT_EQ(build_key(policy, "GET", request, buffer, key_), KeyOutcome::Ok);
    EXPECT_TRUE(buffer.holds_memory());
    const std::string first(key_.canonical);
    buffer.release();
    EXPECT_FALSE(buffer.holds_memory());

    const std::size_t before = g_allocations.load();
    for (int i = 0; i < 100; ++i) {
        ASSERT_EQ(build_key(policy, "GET", request, buffer, key_), KeyOutcome::Ok);
        ASSERT_EQ(key_.canonical, first);
        buffer.release(); // back to this thread's spares, taken again by the next build
    }
    if (core::kKeepsBlocks) {
        EXPECT_EQ(g_allocations.load() - before, 0U);
    }
}

} // namespace
} // namespace lacquer::cache
