// What a hit writes around the stored head and body, which go out by reference: the standard
// status line (into a stack buffer), the Date line of the object's date() (per-thread, kept
// from one hit to the next) and the per-request lines (Via, Age, Cache-Status, framing,
// Connection) into the connection's reused scratch string, through http::write_status_line,
// proxy::stored_date_line and proxy::write_hit_lines: the parts of deliver_object that do not
// need a socket.
#include "lacquer/cache/stored_object.h"
#include "lacquer/core/clock.h"
#include "lacquer/http/serialize.h"
#include "lacquer/proxy/cache_status.h"
#include "micro_allocs.h"
#include "proxy/object_delivery.h"

#include <algorithm>
#include <benchmark/benchmark.h>
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

namespace {

using namespace lacquer;

cache::ObjectRef make_object() {
    cache::StoredObject::Fields f;
    f.key = "G\napi.example.com\n/v3/listings\nlimit=20&page=2&sort=price\n";
    f.head = "Content-Type: application/json\r\nCache-Control: public, max-age=600\r\n"
             "ETag: \"5f2b-1a\"\r\n"; // as http::write_stored_lines writes it
    f.date = 1'700'000'000;           // the origin's Date, kept as a time
    f.body_size = 1024;
    f.stored_at = core::Instant{} + std::chrono::seconds(1000);
    f.initial_age = 3;
    f.etag = "\"5f2b-1a\"";
    cache::ObjectRef o(cache::StoredObject::create(f));
    std::fill_n(o->body_for_fill(), f.body_size, 'b');
    return o;
}

// /fresh: a plain hit on a keep-alive connection. /stale_close: an object served stale
// because the origin failed (fwd=stale; fwd-status=503) on a connection that then closes.
void BM_HitSerialisation(benchmark::State& state, bool stale_close) {
    const cache::ObjectRef held = make_object();
    const cache::StoredObject& object = *held;
    const core::Instant now = object.stored_at() + std::chrono::seconds(42);
    proxy::ObjectDelivery how;
    how.cache_status = proxy::hit_status(stale_close ? 503 : 0);
    how.close = stale_close;
    std::string scratch; // ClientSession::scratch_: one per connection, reused
    char line_buffer[http::kStatusLineMax];
    std::string_view status_line;
    std::string_view date_line;
    const auto assemble = [&] {
        date_line = proxy::stored_date_line(object.date());
        status_line = http::stored_status_line(object.head());
        if (status_line.empty()) {
            status_line = http::write_status_line(line_buffer, object.status());
        }
        how.age =
            object.initial_age() +
            std::chrono::duration_cast<std::chrono::seconds>(now - object.stored_at()).count();
        proxy::write_hit_lines(scratch, object, how); // what deliver_object writes fresh
    };
    assemble();
    const std::string_view expected =
        stale_close ? "Via: 1.1 lacquer\r\nAge: 45\r\nCache-Status: lacquer; hit; fwd=stale; "
                      "fwd-status=503\r\n"
                      "Content-Length: 1024\r\nConnection: close\r\n\r\n"
                    : "Via: 1.1 lacquer\r\nAge: 45\r\nCache-Status: lacquer; hit\r\n"
                      "Content-Length: 1024\r\n\r\n";
    if (status_line != "HTTP/1.1 200 OK\r\n" ||
        date_line != "Date: Tue, 14 Nov 2023 22:13:20 GMT\r\n" || scratch != expected) {
        state.SkipWithError(
            ("unexpected head: " + std::string(status_line) + std::string(date_line) + scratch)
                .c_str());
        return;
    }
    const std::uint64_t before = bench::allocations();
    for (auto _ : state) {
        benchmark::DoNotOptimize(how);
        assemble();
        benchmark::DoNotOptimize(status_line.data());
        benchmark::DoNotOptimize(date_line.data());
        benchmark::DoNotOptimize(scratch.data());
        benchmark::ClobberMemory();
    }
    bench::report_allocs(state, before);
}
BENCHMARK_CAPTURE(BM_HitSerialisation, fresh, false);
BENCHMARK_CAPTURE(BM_HitSerialisation, stale_close, true);

} // namespace
