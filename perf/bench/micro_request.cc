// The request side of the hot path: parsing a request head (http::HeadParser, reset between
// requests as on a keep-alive connection) and building its cache key with variants
// (cache::build_key). Both should allocate nothing once the parser and the KeyBuffer exist.
#include "lacquer/cache/cache_key.h"
#include "lacquer/cache/variant_set.h"
#include "lacquer/http/head.h"
#include "lacquer/http/head_parser.h"
#include "micro_allocs.h"
#include "unit/cache/variant_fixtures.h" // the variants of CONFIG.md

#include <benchmark/benchmark.h>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace {

using namespace lacquer;

// A browser's API call through a CDN: ~400 bytes, with the headers the variants read
// (Accept-Language, the currency cookie) and a param outside the route's key (utm_source).
constexpr std::string_view kRequestHead =
    "GET /v3/listings?sort=price&limit=20&utm_source=x&page=2 HTTP/1.1\r\n"
    "Host: api.example.com\r\n"
    "User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0\r\n"
    "Accept: application/json, text/plain, */*\r\n"
    "Accept-Language: de-DE,de;q=0.9,en-US;q=0.8,en;q=0.7\r\n"
    "Accept-Encoding: gzip, deflate, br\r\n"
    "Cookie: session_hint=7f3a9c; currency=EUR; _ga=GA1.2.1234567890.1700000000\r\n"
    "X-Forwarded-For: 203.0.113.7\r\n"
    "Connection: keep-alive\r\n"
    "\r\n";

// BM_ParseRequestHead/whole: the head in one read; /two_pieces: split inside the Cookie value,
// as a segment boundary would, so the parser resumes a header value across feeds.
void BM_ParseRequestHead(benchmark::State& state, int pieces) {
    http::HeadParser parser(http::HeadKind::Request, http::HeadLimits{});
    const std::size_t cut = pieces == 1 ? kRequestHead.size() : kRequestHead.find("currency=EUR");
    const std::string_view first = kRequestHead.substr(0, cut);
    const std::string_view second = kRequestHead.substr(cut);
    const auto parse = [&] {
        parser.reset();
        http::HeadParser::Fed fed = parser.feed(first.data(), first.size());
        if (!second.empty()) {
            fed = parser.feed(second.data(), second.size());
        }
        return fed;
    };
    const http::HeadParser::Fed warm = parse();
    if (warm.status != http::HeadParser::Status::Complete || parser.request().headers.count != 8) {
        state.SkipWithError("the request head does not parse");
        return;
    }
    const std::uint64_t before = bench::allocations();
    for (auto _ : state) {
        http::HeadParser::Fed fed = parse();
        benchmark::DoNotOptimize(fed);
        benchmark::DoNotOptimize(parser.request().headers.count);
    }
    bench::report_allocs(state, before);
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) *
                            static_cast<std::int64_t>(kRequestHead.size()));
}
BENCHMARK_CAPTURE(BM_ParseRequestHead, whole, 1);
BENCHMARK_CAPTURE(BM_ParseRequestHead, two_pieces, 2);

// A route with key_params [limit, page, sort] and the three variants; the request comes from
// the parser, and its RequestView is built per request with cache::request_view, as
// serve_from_cache does. locale resolves from Accept-Language (de-DE), currency from the cookie,
// region falls through both sources to its default.
void BM_BuildKeyWithVariants(benchmark::State& state) {
    const cache::VariantSet variants(cache::fixtures::example_variants());
    config::CachePolicyConfig route;
    route.key_params = {"limit", "page", "sort"};
    route.variants = {"locale", "currency", "region"};
    const cache::KeyPolicy policy = cache::compile_key_policy(route, variants);
    cache::KeyBuffer buffer(http::HeadLimits{}.max_uri_bytes);
    cache::BuiltKey key;

    http::HeadParser parser(http::HeadKind::Request, http::HeadLimits{});
    if (parser.feed(kRequestHead.data(), kRequestHead.size()).status !=
        http::HeadParser::Status::Complete) {
        state.SkipWithError("the request head does not parse");
        return;
    }
    const http::RequestHead& req = parser.request();
    const auto build = [&] {
        const http::Header* host = req.headers.find("Host");
        const cache::RequestView view = cache::request_view(
            host != nullptr ? host->value : std::string_view(), req.target, &req.headers);
        return cache::build_key(policy, req.method, view, buffer, key);
    };
    if (build() != cache::KeyOutcome::Ok ||
        key.canonical != "G\napi.example.com\n/v3/listings\nlimit=20&page=2&sort=price\n"
                         "locale=de-DE\ncurrency=EUR\nregion=US\n" ||
        key.upstream_target != "/v3/listings?limit=20&page=2&sort=price") {
        state.SkipWithError("unexpected key");
        return;
    }
    const std::uint64_t before = bench::allocations();
    for (auto _ : state) {
        const cache::KeyOutcome outcome = build();
        benchmark::DoNotOptimize(outcome);
        benchmark::DoNotOptimize(key.hash);
    }
    bench::report_allocs(state, before);
}
BENCHMARK(BM_BuildKeyWithVariants);

} // namespace
