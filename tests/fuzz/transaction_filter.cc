// libFuzzer target: the transaction log's query (GET /log?...) -> TransactionFilter, then a
// record built from the rest of the input, matched and written as text and as JSON. Beyond
// "no crash":
// - parsing is deterministic: the same query gives the same verdict on the same record;
// - a refused query says why (a non-empty error);
// - a line is one line: text and JSON each end in their only '\n', whatever the record holds;
// - fields are cut to the record's room, never past it.
//
// Input: the query up to the first '\n'; then the record's fields separated by '\n' (client,
// method, host, url, route, key, cache status, origin), then its numbers from the remaining bytes.
#include "lacquer/proxy/transaction_filter.h"

#include "lacquer/core/assert.h"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

using namespace lacquer;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view input(reinterpret_cast<const char*>(data), size);
    const std::size_t nl = input.find('\n');
    const std::string_view query = input.substr(0, nl);
    input = nl == std::string_view::npos ? std::string_view() : input.substr(nl + 1);

    proxy::TransactionRecord record;
    using Field = proxy::TransactionRecord::Field;
    for (std::size_t f = 0; f < proxy::TransactionRecord::kFields; ++f) {
        const std::size_t end = input.find('\n');
        record.set_field(static_cast<Field>(f), input.substr(0, end));
        input = end == std::string_view::npos ? std::string_view() : input.substr(end + 1);
        LACQUER_ASSERT(record.offsets[f + 1] <= proxy::TransactionRecord::kTextBytes);
    }
    std::uint8_t numbers[16] = {};
    if (!input.empty()) {
        std::memcpy(numbers, input.data(), std::min(input.size(), sizeof numbers));
    }
    record.status = static_cast<std::uint16_t>(numbers[0] | (numbers[1] << 8));
    record.cache_status = numbers[2] % 9;
    record.total_us = static_cast<std::uint32_t>(numbers[3] << 16 | numbers[4] << 8 | numbers[5]);
    record.step_count = numbers[6] % (proxy::TransactionRecord::kSteps + 1);
    for (std::size_t i = 0; i < record.step_count; ++i) {
        record.steps[i].step = numbers[7 + i % 8] % 15;
    }

    std::string error;
    const auto filter = proxy::TransactionFilter::parse(query, error);
    std::string again_error;
    const auto again = proxy::TransactionFilter::parse(query, again_error);
    LACQUER_ASSERT((filter == nullptr) == (again == nullptr));
    if (filter == nullptr) {
        LACQUER_ASSERT(!error.empty());
    } else {
        LACQUER_ASSERT(filter->matches(record) == again->matches(record));
    }
    for (const bool json : {false, true}) {
        std::string line;
        proxy::append_transaction(line, record, json);
        LACQUER_ASSERT(!line.empty() && line.back() == '\n');
        LACQUER_ASSERT(line.find('\n') == line.size() - 1);
    }
    return 0;
}
