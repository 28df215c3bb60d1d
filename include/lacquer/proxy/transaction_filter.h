#pragma once
// What one watcher of the transaction log wants, read from the admin query
// (`GET
// /log?url=RE&route=R&status=5xx&cache=miss&host=H&client=CIDR&slower=MS&format=json&count=N`), and
// how a record is written for it (a text line or a JSON line). Parsing never throws: a bad query is
// an error message for a 400. Immutable once parsed; the reader thread uses it.

#include "lacquer/config/address_range.h"
#include "lacquer/proxy/transaction_log.h"
#include "lacquer/proxy/url_pattern.h"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace lacquer::proxy {

class TransactionFilter {
public:
    // nullptr with `error` set ("status: expected 404 or 5xx", ...) when the query is bad.
    // Parameters: url (RE2, matched against "/path?query"), route, status (a code or a class
    // such as 5xx), cache (a cache status name: hit, miss, ...), host (exact, port ignored),
    // client (an address or CIDR range), slower (milliseconds: total time above it),
    // format (text | json), count (stop after that many records). Each at most once.
    static std::unique_ptr<const TransactionFilter> parse(std::string_view query,
                                                          std::string& error);

    bool matches(const TransactionRecord& record) const;
    bool json() const { return json_; }
    std::uint64_t count() const { return count_; } // 0: unbounded

private:
    TransactionFilter() = default;
    std::optional<UrlPattern> url_;
    std::string route_;
    std::string host_;
    int status_ = 0;        // 0: any
    int status_class_ = 0;  // 1..5, 0: any
    int cache_status_ = -1; // proxy::CacheStatus, -1: any
    std::optional<config::AddressRange> client_;
    std::uint32_t slower_us_ = 0; // 0: any
    bool has_slower_ = false;
    bool json_ = false;
    std::uint64_t count_ = 0;
};

// One record as a line (ending in '\n'): text for people, or a JSON object.
void append_transaction(std::string& out, const TransactionRecord& record, bool json);
// The notice of records lost since the last one (a full ring or a slow connection).
void append_dropped(std::string& out, std::uint64_t dropped, bool json);

// One watcher: the records its filter took, formatted, waiting for the reader's connection.
// The reader thread only. Destroying it leaves the log.
class TransactionWatch {
public:
    // Formatted bytes kept for a connection that does not take them; past this, records are
    // dropped and counted.
    static constexpr std::size_t kMaxPendingBytes = 1 << 20;

    ~TransactionWatch();
    TransactionWatch(const TransactionWatch&) = delete;
    TransactionWatch& operator=(const TransactionWatch&) = delete;

    // Drains the rings, then appends what this watcher has (and a drop notice when records
    // were lost) to `out`. False once `count` records have been written: the stream ends.
    bool pump(std::string& out);
    // Called by the log for each drained record.
    void offer(const TransactionRecord& record);
    std::uint64_t dropped() const { return dropped_; }

private:
    friend class TransactionLog;
    TransactionWatch(TransactionLog& log, std::unique_ptr<const TransactionFilter> filter);
    TransactionLog& log_;
    std::unique_ptr<const TransactionFilter> filter_;
    std::string pending_;
    std::uint64_t written_ = 0;       // records formatted
    std::uint64_t dropped_ = 0;       // records this watcher could not keep
    std::uint64_t ring_drops_at_ = 0; // the log's ring drops already reported
    std::uint64_t reported_ = 0;      // dropped_ already reported
};

} // namespace lacquer::proxy
