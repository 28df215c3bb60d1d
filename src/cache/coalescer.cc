#include "lacquer/cache/coalescer.h"

#include <algorithm>
#include <iterator>

namespace lacquer::cache {

namespace {
constexpr core::Millis kFirstBackoff{1000};
constexpr core::Millis kMaxBackoff{30000};
// Entries looked at per sweep: keeps a finish() cheap whatever the table's size.
constexpr std::size_t kSweepBudget = 16;
} // namespace

void Coalescer::sweep(Shard& s, core::Instant now) {
    std::size_t looked = 0;
    for (auto it = s.entries.begin(); it != s.entries.end() && looked < kSweepBudget; ++looked) {
        const Entry& e = it->second;
        if (!e.fetching && e.waiters.empty() && e.hit_for_miss_until <= now &&
            e.refresh_after <= now) {
            if (s.spare.size() < kSpareNodes) {
                const auto next = std::next(it);
                s.spare.push_back(s.entries.extract(it));
                it = next;
            } else {
                it = s.entries.erase(it);
            }
        } else {
            ++it;
        }
    }
}

Coalescer::Entry& Coalescer::entry(Shard& s, std::string_view key) {
    const auto it = s.entries.find(key);
    if (it != s.entries.end()) {
        return it->second;
    }
    if (s.spare.empty()) {
        return s.entries.try_emplace(std::string(key)).first->second;
    }
    Entries::node_type node = std::move(s.spare.back());
    s.spare.pop_back();
    node.key().assign(key);
    Entry& e = node.mapped();
    e.fetching = false;
    e.waiters.clear();
    e.stream = StreamRef();
    e.hit_for_miss_until = core::Instant{};
    e.refresh_after = core::Instant{};
    e.refresh_failures = 0;
    return s.entries.insert(std::move(node)).position->second;
}

Coalescer::Join Coalescer::join(const StoreKey& key, std::shared_ptr<FillWaiter> waiter,
                                core::Instant now) {
    Shard& s = shard_for(key);
    std::unique_lock<std::mutex> lock(s.mutex);
    Entry& e = entry(s, key.key);
    if (e.fetching && e.stream) {
        // The answer is arriving: this miss shares it from here (woken without the lock).
        FillResult streaming{FillOutcome::Streaming, {}, 0, e.stream};
        waits_.fetch_add(1, std::memory_order_relaxed);
        lock.unlock();
        waiter->wake(streaming);
        return Join::Wait;
    }
    if (e.fetching) {
        e.waiters.push_back(std::move(waiter));
        waits_.fetch_add(1, std::memory_order_relaxed);
        return Join::Wait;
    }
    if (e.hit_for_miss_until > now) {
        hit_for_miss_.fetch_add(1, std::memory_order_relaxed);
        return Join::HitForMiss;
    }
    e.fetching = true;
    leads_.fetch_add(1, std::memory_order_relaxed);
    return Join::Lead;
}

bool Coalescer::lead_refresh(const StoreKey& key, core::Instant now) {
    Shard& s = shard_for(key);
    std::lock_guard<std::mutex> lock(s.mutex);
    Entry& e = entry(s, key.key);
    if (e.fetching || e.refresh_after > now) {
        return false;
    }
    e.fetching = true;
    leads_.fetch_add(1, std::memory_order_relaxed);
    return true;
}

void Coalescer::publish(const StoreKey& key, const StreamRef& stream) {
    std::vector<std::shared_ptr<FillWaiter>> waiters;
    {
        Shard& s = shard_for(key);
        std::lock_guard<std::mutex> lock(s.mutex);
        const auto it = s.entries.find(key.key);
        if (it == s.entries.end() || !it->second.fetching) {
            return;
        }
        it->second.stream = stream;
        waiters.swap(it->second.waiters);
    }
    const FillResult streaming{FillOutcome::Streaming, {}, 0, stream};
    for (const std::shared_ptr<FillWaiter>& waiter : waiters) {
        waiter->wake(streaming);
    }
}

void Coalescer::finish(const StoreKey& key, const FillResult& result, core::Instant now,
                       core::Millis hit_for_miss, bool was_refresh) {
    std::vector<std::shared_ptr<FillWaiter>> waiters;
    {
        Shard& s = shard_for(key);
        std::lock_guard<std::mutex> lock(s.mutex);
        const auto it = s.entries.find(key.key);
        if (it != s.entries.end()) {
            Entry& e = it->second;
            e.fetching = false;
            e.stream = StreamRef();
            waiters.swap(e.waiters);
            if (result.outcome == FillOutcome::Uncacheable && hit_for_miss.count() > 0) {
                e.hit_for_miss_until = now + hit_for_miss;
            }
            if (result.outcome == FillOutcome::Stored) {
                e.hit_for_miss_until = core::Instant{};
                e.refresh_failures = 0;
                e.refresh_after = core::Instant{};
            } else if (result.outcome == FillOutcome::Failed && was_refresh) {
                const core::Millis doubled =
                    kFirstBackoff * (1 << std::min<std::uint32_t>(e.refresh_failures, 5));
                const core::Millis backoff = std::min(kMaxBackoff, doubled);
                ++e.refresh_failures;
                e.refresh_after = now + backoff;
            }
        }
        sweep(s, now);
    }
    for (const std::shared_ptr<FillWaiter>& waiter : waiters) {
        waiter->wake(result);
    }
}

bool Coalescer::leave(const StoreKey& key, const FillWaiter* waiter) {
    Shard& s = shard_for(key);
    std::lock_guard<std::mutex> lock(s.mutex);
    const auto it = s.entries.find(key.key);
    if (it == s.entries.end()) {
        return false;
    }
    auto& waiters = it->second.waiters;
    const auto w = std::find_if(waiters.begin(), waiters.end(),
                                [waiter](const auto& p) { return p.get() == waiter; });
    if (w == waiters.end()) {
        return false;
    }
    waiters.erase(w);
    return true;
}

CoalescerStats Coalescer::stats() const {
    CoalescerStats st;
    st.leads = leads_.load(std::memory_order_relaxed);
    st.waits = waits_.load(std::memory_order_relaxed);
    st.hit_for_miss = hit_for_miss_.load(std::memory_order_relaxed);
    for (const Shard& s : shards_) {
        std::lock_guard<std::mutex> lock(s.mutex);
        for (const auto& [key, e] : s.entries) {
            st.in_flight += e.fetching ? 1 : 0;
        }
    }
    return st;
}

std::vector<std::string> Coalescer::fetching(std::string_view prefix) const {
    std::vector<std::string> keys;
    for (const Shard& s : shards_) {
        std::lock_guard<std::mutex> lock(s.mutex);
        for (const auto& [key, e] : s.entries) {
            if (e.fetching && std::string_view(key).starts_with(prefix)) {
                keys.emplace_back(key);
            }
        }
    }
    return keys;
}

} // namespace lacquer::cache
