#pragma once
// Process life: builds the workers, listeners and origin pools from a validated config, prints
// the bound addresses, tells systemd it is ready, and runs until SIGTERM/SIGINT.
// Tests can start a whole server in-process with start() and stop(), on a clock they drive.

#include "lacquer/config/config.h"
#include "lacquer/core/clock.h"
#include "lacquer/origin/name_book.h"

#include <iosfwd>
#include <memory>
#include <string>
#include <vector>

namespace lacquer::server {

// What this build cannot run yet is refused like any config error (FILE:LINE:COL), never
// silently ignored. Throws config::ConfigError.
void check_supported(const config::Config& config);

// Everything `--check-config` checks beyond the loader, so that it refuses what a start or a
// reload would: check_supported(), then what only compiling the routes reveals (a path_regex
// that is not RE2 syntax, ...). Throws config::ConfigError.
void check_config(const config::Config& config);

class Server {
public:
    // Resolves origins and binds every listener (throws config::ConfigError when an address
    // cannot be resolved, std::runtime_error when a socket cannot be bound). `config_path` is
    // read again on reload (empty: no reload). `clock` is the time of every worker (their now())
    // and of purges; it must outlive the server. Start-up, reload and drain wait in real time.
    // `resolver`: where origin server names resolve (tests; empty: the system's resolver).
    explicit Server(config::Config config, std::string config_path = {},
                    const core::Clock& clock = core::system_clock(),
                    origin::NameBook::Resolver resolver = {});
    ~Server();
    Server(const Server&) = delete;
    Server& operator=(const Server&) = delete;

    // Starts the worker threads and prints "listening on ADDR:PORT (worker threads: N)" per
    // listener to `out`.
    void start(std::ostream& out);
    // Blocks the calling thread until SIGTERM or SIGINT (the signals must be blocked in every
    // thread; main() does that before constructing the server).
    int wait_for_signals();
    // Graceful shutdown: not ready, listeners closed, idle connections closed, requests in flight
    // answered (each connection closes after its answer); returns when none is left or after
    // `within`. stop() then ends what remains.
    void drain(core::Millis within);
    // SIGHUP: loads the config file again and, when it is valid and can be applied
    // (config/reload.h), switches every worker to it (worker threads added or removed, the
    // admin listener rebound, the access log swapped: see server_impl.h); requests in flight finish
    // on the old one and the cache is kept; added listen addresses open (their "listening on" lines
    // go to `out`), removed ones close, the others stay. Otherwise the running config stays. One
    // line to `log` either way (the refusal with FILE:LINE:COL). True when the new config runs.
    bool reload(std::ostream& out, std::ostream& log);
    // The same, saying what happened (POST /reload answers it): the generation now running,
    // or why the file was refused ("FILE:LINE:COL: message", the text logged). Reloads are
    // serialised: a second caller waits for the first.
    struct ReloadOutcome {
        bool applied = false;
        std::uint64_t generation = 0;
        std::string message;
    };
    ReloadOutcome reload_config(std::ostream& out, std::ostream& log);
    void stop();

    std::vector<std::uint16_t> ports() const;
    unsigned worker_count() const;

    struct Impl;

private:
    std::unique_ptr<Impl> impl_;
};

// Blocks the signals the server handles in the calling thread (and the threads it creates).
void block_handled_signals();

} // namespace lacquer::server
