#include "lacquer/proxy/generation.h"

#include "lacquer/proxy/proxy_metrics.h"
#include "lacquer/proxy/worker_context.h"

#include <algorithm>

namespace lacquer::proxy {

WorkerGeneration::WorkerGeneration(net::Worker& worker,
                                   std::shared_ptr<const Generation> generation,
                                   unsigned worker_count, metrics::Shard* shard)
    : generation_(std::move(generation)) {
    const Generation& g = *generation_;
    for (std::size_t p = 0; p < g.pool_specs.size(); ++p) {
        pools_.push_back(
            std::make_unique<origin::OriginPool>(worker, g.pool_specs[p], worker_count));
        if (g.metrics != nullptr) {
            pools_.back()->count_into(g.metrics->origins[p].get(), shard);
        }
    }
}

void WorkerContext::release(WorkerGeneration& generation) {
    --generation.users;
    if (generation.users == 0 && &generation != current) {
        std::erase_if(generations, [&generation](const auto& g) { return g.get() == &generation; });
    }
}

void WorkerContext::switch_to(std::unique_ptr<WorkerGeneration> next) {
    WorkerGeneration* old = current;
    generations.push_back(std::move(next));
    current = generations.back().get();
    if (old != nullptr && old->users == 0) {
        std::erase_if(generations, [old](const auto& g) { return g.get() == old; });
    }
}

} // namespace lacquer::proxy
