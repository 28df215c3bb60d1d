#include "lacquer/metrics/exposition.h"

#include "process_collector.h"
#include "shard_collector.h"

#include <prometheus/text_serializer.h>
#include <sstream>

namespace lacquer::metrics {

void write_exposition(std::string& out, const Registry& registry,
                      std::span<const Shard* const> shards, std::int64_t unix_now) {
    std::vector<prometheus::MetricFamily> families =
        ShardCollector(registry, shards, unix_now).Collect();
    std::vector<prometheus::MetricFamily> process = ProcessCollector().Collect();
    families.insert(families.end(), std::make_move_iterator(process.begin()),
                    std::make_move_iterator(process.end()));
    std::ostringstream text;
    prometheus::TextSerializer().Serialize(text, families);
    out.append(text.str());
}

} // namespace lacquer::metrics
