// The fan-out of `lacquerctl --fleet`: a small pool of threads, each taking the next node and
// making that node's requests with the blocking admin client. Every request is bounded by
// --timeout (stats' two requests share it), so a fleet of up to kParallel nodes answers within
// one --timeout whatever its nodes do.
#include "ctl/fleet.h"

#include "ctl/admin_client.h"
#include "ctl/commands.h"
#include "ctl/fleet_file.h"

#include <algorithm>
#include <atomic>
#include <ostream>
#include <thread>

namespace lacquer::ctl {

namespace {

// Nodes asked at once. Above this, a fleet takes more than one --timeout when nodes hang.
constexpr std::size_t kParallel = 128;

std::string_view trimmed(std::string_view text) {
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' ')) {
        text.remove_suffix(1);
    }
    return text;
}

// What is sent to every node, from the command line.
struct FleetRequest {
    std::string method = "POST";
    std::string path;
    std::string_view count_key; // purge and ban: the answer's {"KEY": N}
};

std::optional<FleetRequest> request_for(const Invocation& inv) {
    const std::string arg = query_value(inv.argument);
    const std::string soft = inv.soft ? "&soft=1" : "";
    FleetRequest r;
    r.count_key = "purged";
    switch (inv.command) {
    case Command::PurgeUrl:
        r.path = "/purge/url?url=" + arg +
                 (inv.host.empty() ? "" : "&host=" + query_value(inv.host)) + soft;
        return r;
    case Command::PurgePrefix:
        r.path = "/purge/prefix?path=" + arg + soft;
        return r;
    case Command::PurgeTag:
        r.path = "/purge/tag?tag=" + arg + soft;
        return r;
    case Command::PurgeAll:
        r.path = "/purge/all";
        return r;
    case Command::Ban:
        r.path = "/ban?regex=" + arg;
        r.count_key = "banned";
        return r;
    case Command::Reload:
        r.path = "/reload";
        r.count_key = {};
        return r;
    case Command::Stats:
        r.method = "GET";
        r.path = "/stats";
        r.count_key = {};
        return r;
    default:
        return std::nullopt;
    }
}

// "401 unauthorized" the way lacquerd worded it (its body usually starts with the code).
std::string refusal_text(const AdminAnswer& answer) {
    const std::string_view body = trimmed(answer.body);
    const std::string code = std::to_string(answer.status);
    if (body.empty()) {
        return "HTTP " + code;
    }
    return body.starts_with(code) ? std::string(body) : code + " " + std::string(body);
}

class NodeCall {
public:
    NodeCall(const FleetNode& node, std::chrono::milliseconds timeout)
        : node_(node), deadline_(std::chrono::steady_clock::now() + timeout) {
        outcome_.node = node.endpoint.text();
    }

    NodeOutcome run(Command command, const FleetRequest& request) && {
        const std::optional<AdminAnswer> answer = ask_ok(request.method, request.path);
        if (!answer) {
            return std::move(outcome_);
        }
        if (command == Command::Stats) {
            outcome_.store = parse_store_stats(answer->body);
            if (!outcome_.store) {
                return unexpected(request.path, *answer);
            }
            const std::optional<AdminAnswer> metrics = ask_ok("GET", "/metrics");
            if (!metrics) {
                return std::move(outcome_);
            }
            outcome_.metrics = summarise_metrics(metrics->body);
        } else if (command == Command::Reload) {
            outcome_.message = std::string(trimmed(answer->body));
        } else {
            outcome_.count = json_count(answer->body, request.count_key);
            if (!outcome_.count) {
                return unexpected(request.path, *answer);
            }
        }
        outcome_.kind = NodeOutcome::Kind::Ok;
        return std::move(outcome_);
    }

private:
    // A 200 answer, or nullopt with the outcome saying why not.
    std::optional<AdminAnswer> ask_ok(std::string_view method, std::string_view path) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline_ - std::chrono::steady_clock::now());
        Exchange x = exchange(node_.endpoint, method, path, node_.token,
                              std::max(left, std::chrono::milliseconds(1)));
        if (!x.answer) {
            outcome_.kind = NodeOutcome::Kind::Unreachable;
            outcome_.message = std::move(x.error);
            return std::nullopt;
        }
        outcome_.http_status = x.answer->status;
        if (x.answer->status != 200) {
            outcome_.kind = NodeOutcome::Kind::Error;
            outcome_.message = refusal_text(*x.answer);
            return std::nullopt;
        }
        return std::move(x.answer);
    }

    // A 200 whose body this lacquerctl does not know (another version of lacquerd).
    NodeOutcome unexpected(std::string_view path, const AdminAnswer& answer) {
        outcome_.kind = NodeOutcome::Kind::Error;
        outcome_.message = "unexpected answer to " + std::string(path.substr(0, path.find('?'))) +
                           ": " + std::string(trimmed(answer.body).substr(0, 200));
        outcome_.count.reset();
        outcome_.store.reset();
        return std::move(outcome_);
    }

    const FleetNode& node_;
    std::chrono::steady_clock::time_point deadline_;
    NodeOutcome outcome_;
};

std::vector<NodeOutcome> ask_fleet(const std::vector<FleetNode>& nodes, Command command,
                                   const FleetRequest& request, std::chrono::milliseconds timeout) {
    std::vector<NodeOutcome> outcomes(nodes.size());
    std::atomic<std::size_t> next{0};
    const auto work = [&] {
        for (std::size_t i = next++; i < nodes.size(); i = next++) {
            outcomes[i] = NodeCall(nodes[i], timeout).run(command, request);
        }
    };
    const std::size_t helpers = std::min(nodes.size(), kParallel) - 1;
    std::vector<std::jthread> pool;
    pool.reserve(helpers);
    for (std::size_t i = 0; i < helpers; ++i) {
        pool.emplace_back(work);
    }
    work();
    pool.clear(); // joins: the helpers are done with `outcomes` before it is returned
    return outcomes;
}

} // namespace

ExitStatus fleet_exit_status(const std::vector<NodeOutcome>& outcomes) {
    ExitStatus status = ExitStatus::Ok;
    for (const NodeOutcome& o : outcomes) {
        if (o.kind == NodeOutcome::Kind::Unreachable) {
            return ExitStatus::Unreachable;
        }
        if (o.kind == NodeOutcome::Kind::Error) {
            status = ExitStatus::ServerError;
        }
    }
    return status;
}

ExitStatus run_fleet(const Invocation& inv, std::ostream& out, std::ostream& err) {
    if (!inv.admin.empty() || inv.config_given) {
        err << "lacquerctl: --fleet names every node: it does not go with "
            << (inv.admin.empty() ? "--config" : "--admin") << "\n";
        return ExitStatus::Usage;
    }
    const std::optional<FleetRequest> request = request_for(inv);
    if (!request) {
        err << "lacquerctl: --fleet goes with purge, ban, stats and reload\n";
        return ExitStatus::Usage;
    }
    const FleetParse fleet = load_fleet_file(inv.fleet_file, inv.token_file);
    if (!fleet.errors.empty()) {
        for (const std::string& error : fleet.errors) {
            err << "lacquerctl: " << error << "\n";
        }
        return ExitStatus::Usage;
    }
    const std::vector<NodeOutcome> outcomes =
        ask_fleet(fleet.nodes, inv.command, *request, inv.timeout);
    out << (inv.json ? fleet_json(inv.command, outcomes) : fleet_text(inv.command, outcomes));
    const ExitStatus status = fleet_exit_status(outcomes);
    if (status != ExitStatus::Ok) {
        std::string failed;
        std::size_t count = 0;
        for (const NodeOutcome& o : outcomes) {
            if (o.kind != NodeOutcome::Kind::Ok) {
                failed += (count++ == 0 ? "" : ", ") + o.node;
            }
        }
        err << "lacquerctl: " << count << " of " << outcomes.size()
            << (outcomes.size() == 1 ? " node" : " nodes") << " failed: " << failed << "\n";
    }
    return status;
}

} // namespace lacquer::ctl
