// The rings of the transaction log and its watchers (transaction_log.h): the workers write, the
// admin thread drains and hands each record to every watcher.
#include "lacquer/proxy/transaction_log.h"

#include "lacquer/core/assert.h"
#include "lacquer/proxy/transaction_filter.h"

#include <algorithm>
#include <cstring>

namespace lacquer::proxy {

void TransactionRecord::set_field(Field f, std::string_view value) {
    const auto i = static_cast<std::size_t>(f);
    std::size_t at = offsets[i];
    const std::size_t left = kTextBytes - at;
    // Every field gets a share: the URL up to kUrlBytes, the others what remains.
    const std::size_t room = f == Field::Url ? std::min(left, kUrlBytes) : left;
    if (value.empty()) {
        // nothing to copy (and an empty view's data() may be null, which memcpy may not take)
    } else if (value.size() <= room) {
        std::memcpy(text.data() + at, value.data(), value.size());
        at += value.size();
    } else if (room >= 3) {
        std::memcpy(text.data() + at, value.data(), room - 3);
        std::memcpy(text.data() + at + room - 3, "...", 3);
        at += room;
    }
    for (std::size_t j = i + 1; j <= kFields; ++j) {
        offsets[j] = static_cast<std::uint16_t>(at); // later fields start empty here
    }
}

std::string_view TransactionRecord::variants() const {
    std::string_view key = field(Field::Key);
    for (int line = 0; line < 4; ++line) { // method class, host, path, params
        const std::size_t nl = key.find('\n');
        if (nl == std::string_view::npos) {
            return {};
        }
        key.remove_prefix(nl + 1);
    }
    return key;
}

TransactionRing::TransactionRing(std::size_t capacity_power_of_two)
    : slots_(std::make_unique<TransactionRecord[]>(capacity_power_of_two)),
      mask_(capacity_power_of_two - 1) {
    LACQUER_ASSERT(capacity_power_of_two > 0 && (capacity_power_of_two & mask_) == 0);
}

TransactionRecord* TransactionRing::claim() {
    const std::uint64_t h = head_.load(std::memory_order_relaxed);
    if (h - tail_.load(std::memory_order_acquire) > mask_) {
        // The writer alone changes the count: no read-modify-write needed.
        dropped_.store(dropped_.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
        return nullptr;
    }
    return &slots_[h & mask_];
}

void TransactionRing::publish() {
    head_.store(head_.load(std::memory_order_relaxed) + 1, std::memory_order_release);
}

TransactionLog::TransactionLog(unsigned workers, unsigned capacity)
    : rings_(std::make_unique<std::atomic<TransactionRing*>[]>(capacity)), capacity_(capacity),
      workers_(std::min(workers, capacity)) {}

TransactionLog::~TransactionLog() {
    LACQUER_ASSERT(watches_.empty());
}

void TransactionLog::set_workers(unsigned workers) {
    unsigned now = workers_.load();
    while (std::min(workers, capacity_) > now &&
           !workers_.compare_exchange_weak(now, std::min(workers, capacity_))) {
    }
}

void TransactionLog::make_rings() {
    // Only while somebody watches or is about to: nobody watching costs no ring.
    for (unsigned w = static_cast<unsigned>(owned_.size()); w < workers_.load(); ++w) {
        owned_.push_back(std::make_unique<TransactionRing>(kRingRecords));
        rings_[w].store(owned_.back().get(), std::memory_order_release);
    }
}

std::unique_ptr<TransactionWatch>
TransactionLog::watch(std::unique_ptr<const TransactionFilter> filter) {
    std::lock_guard<std::mutex> lock(reader_mutex_);
    make_rings(); // before any worker may look
    if (watches_.empty()) {
        for (const auto& ring : owned_) {
            ring->skip_all(); // what was written for an earlier watcher is not this one's
        }
    }
    std::unique_ptr<TransactionWatch> w(new TransactionWatch(*this, std::move(filter)));
    w->ring_drops_at_ = ring_drops_locked();
    watches_.push_back(w.get());
    watching_.store(true, std::memory_order_relaxed);
    return w;
}

void TransactionLog::leave(TransactionWatch* watch) {
    std::lock_guard<std::mutex> lock(reader_mutex_);
    std::erase(watches_, watch);
    if (watches_.empty()) {
        watching_.store(false, std::memory_order_relaxed);
    }
}

std::size_t TransactionLog::watchers() const {
    std::lock_guard<std::mutex> lock(reader_mutex_);
    return watches_.size();
}

std::uint64_t TransactionLog::ring_drops() const {
    std::lock_guard<std::mutex> lock(reader_mutex_);
    return ring_drops_locked();
}

std::uint64_t TransactionLog::ring_drops_locked() const {
    std::uint64_t n = 0;
    for (const auto& ring : owned_) {
        n += ring->dropped();
    }
    return n;
}

void TransactionLog::drain() {
    std::lock_guard<std::mutex> lock(reader_mutex_);
    drain_locked();
}

void TransactionLog::drain_locked() {
    if (!watches_.empty()) {
        make_rings(); // workers a reload added
    }
    for (const auto& ring : owned_) {
        ring->drain([this](const TransactionRecord& record) {
            for (TransactionWatch* w : watches_) {
                w->offer(record);
            }
        });
    }
}

TransactionWatch::TransactionWatch(TransactionLog& log,
                                   std::unique_ptr<const TransactionFilter> filter)
    : log_(log), filter_(std::move(filter)) {}

TransactionWatch::~TransactionWatch() {
    log_.leave(this);
}

void TransactionWatch::offer(const TransactionRecord& record) {
    const std::uint64_t limit = filter_->count();
    if ((limit != 0 && written_ >= limit) || !filter_->matches(record)) {
        return;
    }
    if (pending_.size() >= kMaxPendingBytes) {
        ++dropped_; // the connection does not take what it asked for: lose, never block
        return;
    }
    append_transaction(pending_, record, filter_->json());
    ++written_;
}

bool TransactionWatch::pump(std::string& out) {
    std::lock_guard<std::mutex> lock(log_.reader_mutex_); // offer() writes pending_ under it
    log_.drain_locked();
    const std::uint64_t ring_drops = log_.ring_drops_locked();
    const std::uint64_t lost = (ring_drops - ring_drops_at_) + (dropped_ - reported_);
    if (lost > 0) {
        append_dropped(out, lost, filter_->json());
        ring_drops_at_ = ring_drops;
        reported_ = dropped_;
    }
    out.append(pending_);
    pending_.clear();
    const std::uint64_t limit = filter_->count();
    return limit == 0 || written_ < limit;
}

} // namespace lacquer::proxy
