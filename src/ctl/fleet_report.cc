// What `lacquerctl --fleet` prints: one line per node (node, outcome, detail) under a header and
// a summary line that names the failed nodes, or one JSON object with the same facts. Pure
// formatting; the man page lists the JSON keys.
#include "ctl/fleet.h"
#include "ctl/report.h"
#include "lacquer/core/json_text.h"

#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

namespace lacquer::ctl {

namespace {

using Kind = NodeOutcome::Kind;

std::string_view kind_word(Kind kind) {
    switch (kind) {
    case Kind::Ok:
        return "ok";
    case Kind::Error:
        return "error";
    case Kind::Unreachable:
        return "unreachable";
    }
    return "unreachable";
}

std::string_view command_word(Command command) {
    switch (command) {
    case Command::Stats:
        return "stats";
    case Command::Ban:
        return "ban";
    case Command::Reload:
        return "reload";
    default:
        return "purge";
    }
}

std::string ratio_text(const HitRatio& r) {
    if (!r.ratio()) {
        return "hit ratio - (no cacheable request yet)";
    }
    char percent[32];
    std::snprintf(percent, sizeof percent, "%.1f%%", *r.ratio() * 100.0);
    return "hit ratio " + std::string(percent) + " (" + std::to_string(r.hits) + " of " +
           std::to_string(r.cacheable) + ")";
}

// The sums over the nodes that answered.
struct Totals {
    std::size_t ok = 0;
    std::uint64_t count = 0;
    std::uint64_t objects = 0;
    std::uint64_t bytes = 0;
    HitRatio ratio;
    std::vector<std::string_view> failed;
};

Totals totals_of(const std::vector<NodeOutcome>& outcomes) {
    Totals t;
    for (const NodeOutcome& o : outcomes) {
        if (o.kind != Kind::Ok) {
            t.failed.push_back(o.node);
            continue;
        }
        ++t.ok;
        t.count += o.count.value_or(0);
        if (o.store) {
            t.objects += o.store->objects;
            t.bytes += o.store->bytes;
        }
        if (o.metrics) {
            const HitRatio r = hit_ratio(*o.metrics);
            t.ratio.hits += r.hits;
            t.ratio.cacheable += r.cacheable;
        }
    }
    return t;
}

std::string verb_of(Command command) {
    return command == Command::Ban ? "banned" : "purged";
}

std::string detail_text(Command command, const NodeOutcome& o) {
    if (o.kind != Kind::Ok) {
        return o.message;
    }
    if (command == Command::Stats && o.store && o.metrics) {
        return "objects " + std::to_string(o.store->objects) + ", " + human_bytes(o.store->bytes) +
               " of " + human_bytes(o.store->budget) + ", " + ratio_text(hit_ratio(*o.metrics));
    }
    if (o.count) {
        std::string text = count_text(verb_of(command), *o.count);
        text.pop_back(); // its newline
        return text;
    }
    return o.message;
}

} // namespace

std::string fleet_text(Command command, const std::vector<NodeOutcome>& outcomes) {
    std::size_t width = 4;
    for (const NodeOutcome& o : outcomes) {
        width = std::max(width, o.node.size());
    }
    const auto row = [&](std::string_view node, std::string_view outcome, std::string_view rest) {
        std::string line(node);
        line.resize(width + 2, ' ');
        line.append(outcome);
        line.resize(width + 2 + 13, ' ');
        return line.append(rest).append("\n");
    };
    std::string out = row("NODE", "OUTCOME", "DETAIL");
    for (const NodeOutcome& o : outcomes) {
        out += row(o.node, kind_word(o.kind), detail_text(command, o));
    }
    const Totals t = totals_of(outcomes);
    out += "fleet: " + std::to_string(t.ok) + " of " + std::to_string(outcomes.size()) +
           (outcomes.size() == 1 ? " node ok" : " nodes ok");
    if (command == Command::Stats) {
        out += "; objects " + std::to_string(t.objects) + ", " + human_bytes(t.bytes) + ", " +
               ratio_text(t.ratio);
    } else if (command != Command::Reload) {
        out += "; " + verb_of(command) + " " + std::to_string(t.count) + " in all";
    }
    if (!t.failed.empty()) {
        out += "; failed:";
        for (const std::string_view node : t.failed) {
            out.append(" ").append(node);
        }
    }
    return out + "\n";
}

std::string fleet_json(Command command, const std::vector<NodeOutcome>& outcomes) {
    std::string out =
        "{\"command\": " + core::json_string(command_word(command)) + ", \"nodes\": [";
    for (std::size_t i = 0; i < outcomes.size(); ++i) {
        const NodeOutcome& o = outcomes[i];
        out += std::string(i == 0 ? "" : ", ") + "{\"node\": " + core::json_string(o.node) +
               ", \"outcome\": " + core::json_string(kind_word(o.kind)) + ", \"http_status\": " +
               (o.http_status == 0 ? "null" : std::to_string(o.http_status));
        if (o.kind != Kind::Ok) {
            out += ", \"error\": " + core::json_string(o.message);
        } else if (o.count) {
            out += ", " + core::json_string(verb_of(command)) + ": " + std::to_string(*o.count);
        } else if (o.store && o.metrics) {
            const HitRatio r = hit_ratio(*o.metrics);
            out += ", \"objects\": " + std::to_string(o.store->objects) +
                   ", \"bytes\": " + std::to_string(o.store->bytes) +
                   ", \"budget\": " + std::to_string(o.store->budget) +
                   ", \"evictions\": " + std::to_string(o.store->evictions) +
                   ", \"hits\": " + std::to_string(r.hits) +
                   ", \"cacheable\": " + std::to_string(r.cacheable);
        } else {
            out += ", \"message\": " + core::json_string(o.message);
        }
        out += "}";
    }
    const Totals t = totals_of(outcomes);
    out += "], \"ok\": " + std::to_string(t.ok) + ", \"failed\": [";
    for (std::size_t i = 0; i < t.failed.size(); ++i) {
        out += (i == 0 ? "" : ", ") + core::json_string(t.failed[i]);
    }
    out += "]";
    if (command == Command::Stats) {
        out += ", \"objects\": " + std::to_string(t.objects) +
               ", \"bytes\": " + std::to_string(t.bytes) +
               ", \"hits\": " + std::to_string(t.ratio.hits) +
               ", \"cacheable\": " + std::to_string(t.ratio.cacheable);
    } else if (command != Command::Reload) {
        out += ", " + core::json_string(verb_of(command)) + ": " + std::to_string(t.count);
    }
    return out + "}\n";
}

} // namespace lacquer::ctl
