#include "lacquer/origin/balancer.h"

#include "lacquer/core/assert.h"

namespace lacquer::origin {

namespace {

std::uint64_t mix(std::uint64_t h) { // splitmix64's finaliser
    h ^= h >> 30;
    h *= 0xbf58476d1ce4e5b9ULL;
    h ^= h >> 27;
    h *= 0x94d049bb133111ebULL;
    h ^= h >> 31;
    return h;
}

std::uint64_t name_hash(const std::string& name, std::uint64_t seed) { // FNV-1a, then mixed
    std::uint64_t h = 0xcbf29ce484222325ULL ^ seed;
    for (const char c : name) {
        h = (h ^ static_cast<unsigned char>(c)) * 0x100000001b3ULL;
    }
    return mix(h);
}

} // namespace

MaglevTable::MaglevTable(std::span<const std::string> names, std::span<const std::uint32_t> weights)
    : table_(kSize, 0) {
    const std::size_t n = names.size();
    LACQUER_ASSERT(n > 0 && n < 0xffff && weights.size() == n);
    // Maglev (Eisenbud et al. 2016): each server walks its own permutation of the table
    // (offset, skip from its name) and takes the first free entry on its turn; a server of
    // weight w gets w turns for every max-weight turns of the heaviest.
    std::vector<std::uint64_t> offset(n);
    std::vector<std::uint64_t> skip(n);
    std::vector<std::uint64_t> next(n, 0);
    std::vector<std::uint64_t> credit(n, 0);
    std::uint32_t max_weight = 1;
    for (std::size_t i = 0; i < n; ++i) {
        offset[i] = name_hash(names[i], 0x51) % kSize;
        skip[i] = name_hash(names[i], 0x7f) % (kSize - 1) + 1;
        max_weight = std::max(max_weight, weights[i]);
    }
    std::vector<bool> taken(kSize, false);
    std::size_t filled = 0;
    while (filled < kSize) {
        for (std::size_t i = 0; i < n && filled < kSize; ++i) {
            credit[i] += weights[i];
            while (credit[i] >= max_weight && filled < kSize) {
                credit[i] -= max_weight;
                std::uint64_t entry = (offset[i] + next[i] * skip[i]) % kSize;
                while (taken[entry]) {
                    ++next[i];
                    entry = (offset[i] + next[i] * skip[i]) % kSize;
                }
                ++next[i];
                taken[entry] = true;
                table_[entry] = static_cast<std::uint16_t>(i);
                ++filled;
            }
        }
    }
}

std::size_t MaglevTable::lookup(std::uint64_t hash, std::span<const std::uint32_t> weights) const {
    // The key's entry; when its server is skipped, the key's next entries by rehashing (random
    // entries, so a skipped server's keys spread over the others by their shares), and after a
    // bounded number of tries a scan, so that any usable server is found.
    constexpr int kRehashes = 32;
    std::uint64_t h = hash;
    for (int k = 0; k < kRehashes; ++k) {
        h = mix(h + 0x9e3779b97f4a7c15ULL);
        const std::size_t server = table_[h % kSize];
        if (server < weights.size() && weights[server] > 0) {
            return server;
        }
    }
    std::size_t entry = h % kSize;
    for (std::size_t k = 0; k < kSize; ++k) {
        const std::size_t server = table_[entry];
        if (server < weights.size() && weights[server] > 0) {
            return server;
        }
        entry = entry + 1 == kSize ? 0 : entry + 1;
    }
    return weights.size();
}

Balancer::Balancer(config::Balance policy, std::size_t servers, const MaglevTable* table)
    : policy_(policy), table_(table), current_(servers, 0) {
    LACQUER_ASSERT(policy != config::Balance::ConsistentHash || table != nullptr);
}

std::size_t Balancer::pick(std::uint64_t hash, std::span<const std::uint32_t> weights,
                           std::span<const std::size_t> active) {
    const std::size_t n = weights.size();
    switch (policy_) {
    case config::Balance::RoundRobin: {
        // Smooth weighted round robin: each turn every usable server gains its weight, the
        // richest is chosen and pays the total back.
        std::size_t best = n;
        std::int64_t total = 0;
        for (std::size_t i = 0; i < n; ++i) {
            if (weights[i] == 0) {
                continue;
            }
            current_[i] += weights[i];
            total += weights[i];
            if (best == n || current_[i] > current_[best]) {
                best = i;
            }
        }
        if (best != n) {
            current_[best] -= total;
        }
        return best;
    }
    case config::Balance::LeastConnections: {
        std::size_t best = n;
        for (std::size_t k = 0; k < n; ++k) {
            const std::size_t i = (rotate_ + k) % n;
            // active_i / weight_i < active_best / weight_best, without division
            if (weights[i] != 0 &&
                (best == n || active[i] * weights[best] < active[best] * weights[i])) {
                best = i;
            }
        }
        rotate_ = rotate_ + 1 >= n ? 0 : rotate_ + 1; // ties take turns
        return best;
    }
    case config::Balance::ConsistentHash:
        return table_->lookup(hash, weights);
    }
    return n;
}

} // namespace lacquer::origin
