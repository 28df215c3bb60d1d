#pragma once
// The balancing policies of a pool (CONFIG.md `balance`), as pure decisions over the weights a
// PoolHealth gives for now (0: skip the server) and one worker's exchanges in flight:
//   round_robin        smooth weighted round robin (nginx): weights respected, evenly interleaved;
//   least_connections  fewest exchanges in flight per unit of weight, on this worker;
//   consistent_hash    a Maglev table built from the servers' names (not their positions), so
//                      adding or removing one of N servers moves about 1/N of the keys; a key
//                      whose server is skipped goes to the next usable entry of the table.
// A Balancer is one worker's (round-robin and tie-break state); a MaglevTable is immutable and
// shared. Neither allocates after construction.

#include "lacquer/config/config.h"

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace lacquer::origin {

class MaglevTable {
public:
    static constexpr std::size_t kSize = 65537; // prime, >> servers x 100

    // `names[i]` identifies server i (its configured "host:port"); weights are 1..1000.
    MaglevTable(std::span<const std::string> names, std::span<const std::uint32_t> weights);

    // The server for `hash`, skipping servers whose weight is 0; `weights.size()` when none.
    std::size_t lookup(std::uint64_t hash, std::span<const std::uint32_t> weights) const;
    std::size_t owner(std::size_t entry) const { return table_[entry]; }

private:
    std::vector<std::uint16_t> table_;
};

class Balancer {
public:
    // `table` (consistent_hash only) must outlive the balancer.
    Balancer(config::Balance policy, std::size_t servers, const MaglevTable* table);

    // The next server, or `weights.size()` when every weight is 0. `active[i]`: this worker's
    // exchanges in flight on server i (least_connections). `hash`: the cache key's hash.
    std::size_t pick(std::uint64_t hash, std::span<const std::uint32_t> weights,
                     std::span<const std::size_t> active);

private:
    config::Balance policy_;
    const MaglevTable* table_;
    std::vector<std::int64_t> current_; // smooth weighted round robin
    std::size_t rotate_ = 0;            // least_connections: where ties start
};

} // namespace lacquer::origin
