#pragma once
// A child process for black-box tests: started with fork+exec, its stdout and stderr drained by a
// thread into memory and into files in a private temp directory (so a pipe never fills and blocks
// the child), bounded waits on its output and on its exit, SIGKILL + reap on destruction.
// The child gets PR_SET_PDEATHSIG(SIGKILL) so a crashed test leaves no stray servers behind; that
// signal follows the *thread* that started the child, so start children from the test's thread.

#include "support/deadline.h"
#include "support/socket_io.h"

#include <condition_variable>
#include <filesystem>
#include <functional>
#include <mutex>
#include <optional>
#include <poll.h>
#include <string>
#include <string_view>
#include <sys/types.h>
#include <thread>
#include <vector>

namespace lacquer::test {

// A fresh directory under $TMPDIR (or /tmp). Removed on destruction unless the running test has
// failed, in which case it is kept and its path printed, for the logs and configs inside.
class TempDir {
public:
    explicit TempDir(std::string_view prefix = "lacquer-test");
    ~TempDir();
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;

    const std::filesystem::path& path() const { return path_; }
    // Writes `text` to path()/name (atomically, via rename) and returns the full path.
    std::filesystem::path write_file(std::string_view name, std::string_view text) const;

private:
    std::filesystem::path path_;
};

class ChildProcess {
public:
    ChildProcess() = default;
    ~ChildProcess();
    ChildProcess(const ChildProcess&) = delete;
    ChildProcess& operator=(const ChildProcess&) = delete;

    // Starts `binary args...`; output goes to `log_dir`/<name>.stdout and .stderr.
    [[nodiscard]] bool start(const std::string& binary, const std::vector<std::string>& args,
                             const std::filesystem::path& log_dir, std::string_view name,
                             std::string& error);

    pid_t pid() const { return pid_; }
    bool is_running();
    bool send_signal(int signal);

    // The raw wait(2) status once the child has exited (use WIFEXITED and friends), or nullopt
    // if it is still running at the deadline.
    std::optional<int> wait_exit(Millis timeout);
    void kill_and_reap();

    std::string stdout_text() const;
    std::string stderr_text() const;
    std::filesystem::path stdout_path() const { return stdout_path_; }
    std::filesystem::path stderr_path() const { return stderr_path_; }

    // Waits until `predicate(stdout so far)` holds; false at the deadline or once stdout has
    // closed without it holding.
    [[nodiscard]] bool wait_for_stdout(const std::function<bool(std::string_view)>& predicate,
                                       Millis timeout) const;
    [[nodiscard]] bool wait_for_stderr(const std::function<bool(std::string_view)>& predicate,
                                       Millis timeout) const;

private:
    struct Stream {
        UniqueFd pipe;
        int file = -1;
        std::string text; // guarded by mutex_
        bool eof = false; // guarded by mutex_
    };

    void drain();
    bool read_into(Stream& stream, ::pollfd& ready); // true if bytes were read
    bool wait_for(const Stream& stream, const std::function<bool(std::string_view)>& predicate,
                  Millis timeout) const;
    bool reap(int options); // true once the child has been reaped

    pid_t pid_ = -1;
    std::optional<int> status_;
    UniqueFd pidfd_;
    std::filesystem::path stdout_path_;
    std::filesystem::path stderr_path_;

    mutable std::mutex mutex_;
    mutable std::condition_variable changed_;
    Stream out_;
    Stream err_;
    UniqueFd stop_read_;
    UniqueFd stop_write_;
    std::thread drainer_;
};

// A program run to its end, for command-line tests.
struct ProgramRun {
    int exit_code = -1; // -1: could not start, was killed, or did not exit by the deadline
    std::string stdout_text;
    std::string stderr_text; // ends with a note saying why when exit_code is -1
};

// Runs `binary args...` (an absolute path: no PATH search) with its output logged under
// `log_dir`, and waits up to `timeout` for it to exit; a child still running then is killed.
ProgramRun run_to_exit(const std::string& binary, const std::vector<std::string>& args,
                       const std::filesystem::path& log_dir, Millis timeout);

} // namespace lacquer::test
