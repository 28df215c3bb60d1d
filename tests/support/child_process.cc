// fork+exec rather than posix_spawn because the child must ask for PR_SET_PDEATHSIG before exec.
// Between fork and exec the child calls only async-signal-safe functions; everything it needs
// (argv, paths) is prepared beforehand.
#include "support/child_process.h"

#include "lacquer/core/errno_text.h"

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

namespace lacquer::test {

namespace {

std::filesystem::path temp_root() {
    const char* env = std::getenv("TMPDIR");
    return (env != nullptr && *env != '\0') ? std::filesystem::path(env)
                                            : std::filesystem::path("/tmp");
}

bool current_test_failed() {
    return ::testing::Test::HasFailure();
}

} // namespace

// ---- TempDir ----

TempDir::TempDir(std::string_view prefix) {
    std::string pattern = (temp_root() / (std::string(prefix) + "-XXXXXX")).string();
    if (::mkdtemp(pattern.data()) == nullptr) {
        ADD_FAILURE() << "mkdtemp " << pattern << ": " << core::errno_text(errno);
        return;
    }
    path_ = pattern;
}

TempDir::~TempDir() {
    if (path_.empty()) {
        return;
    }
    if (current_test_failed()) {
        std::fprintf(stderr, "[support] kept %s for inspection (the test failed)\n", path_.c_str());
        return;
    }
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
}

std::filesystem::path TempDir::write_file(std::string_view name, std::string_view text) const {
    std::filesystem::path target = path_ / std::string(name); // returned: not const, so moved
    const std::filesystem::path staging = path_ / (std::string(name) + ".tmp");
    {
        std::ofstream out(staging, std::ios::binary | std::ios::trunc);
        out.write(text.data(), static_cast<std::streamsize>(text.size()));
        if (!out) {
            ADD_FAILURE() << "cannot write " << staging;
        }
    }
    // rename() so a process watching the file (a SIGHUP reload) never sees half of it.
    std::error_code ec;
    std::filesystem::rename(staging, target, ec);
    if (ec) {
        ADD_FAILURE() << "cannot rename " << staging << " to " << target << ": " << ec.message();
    }
    return target;
}

// ---- ChildProcess ----

ChildProcess::~ChildProcess() {
    kill_and_reap();
    if (stop_write_.valid()) {
        const char byte = 1;
        (void)!::write(stop_write_.get(), &byte, 1);
    }
    if (drainer_.joinable()) {
        drainer_.join();
    }
    for (Stream* s : {&out_, &err_}) {
        if (s->file >= 0) {
            ::close(s->file);
        }
    }
}

bool ChildProcess::start(const std::string& binary, const std::vector<std::string>& args,
                         const std::filesystem::path& log_dir, std::string_view name,
                         std::string& error) {
    if (::access(binary.c_str(), X_OK) != 0) {
        error = "cannot execute " + binary + ": " + core::errno_text(errno);
        return false;
    }
    stdout_path_ = log_dir / (std::string(name) + ".stdout");
    stderr_path_ = log_dir / (std::string(name) + ".stderr");
    int out_pipe[2];
    int err_pipe[2];
    int stop_pipe[2];
    if (::pipe2(out_pipe, O_CLOEXEC) != 0 || ::pipe2(err_pipe, O_CLOEXEC) != 0 ||
        ::pipe2(stop_pipe, O_CLOEXEC) != 0) {
        error = std::string("pipe2: ") + core::errno_text(errno);
        return false;
    }
    out_.pipe.reset(out_pipe[0]);
    err_.pipe.reset(err_pipe[0]);
    UniqueFd out_child(out_pipe[1]);
    UniqueFd err_child(err_pipe[1]);
    stop_read_.reset(stop_pipe[0]);
    stop_write_.reset(stop_pipe[1]);
    out_.file = ::open(stdout_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    err_.file = ::open(stderr_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

    std::vector<std::string> argv_text{binary};
    argv_text.insert(argv_text.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (std::string& arg : argv_text) {
        argv.push_back(arg.data());
    }
    argv.push_back(nullptr);
    const pid_t parent = ::getpid();

    const pid_t pid = ::fork();
    if (pid < 0) {
        error = std::string("fork: ") + core::errno_text(errno);
        return false;
    }
    if (pid == 0) {
        // Child: async-signal-safe calls only.
        ::prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (::getppid() != parent) {
            ::_exit(127); // the test died between fork and prctl
        }
        ::dup2(out_child.get(), STDOUT_FILENO);
        ::dup2(err_child.get(), STDERR_FILENO);
        const int devnull = ::open("/dev/null", O_RDONLY);
        if (devnull >= 0) {
            ::dup2(devnull, STDIN_FILENO);
        }
        ::execv(argv[0], argv.data());
        ::_exit(127);
    }
    pid_ = pid;
    pidfd_.reset(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0))); // -1 on old kernels
    drainer_ = std::thread([this] { drain(); });
    return true;
}

void ChildProcess::drain() {
    for (;;) {
        pollfd fds[3] = {{out_.pipe.get(), POLLIN, 0},
                         {err_.pipe.get(), POLLIN, 0},
                         {stop_read_.get(), POLLIN, 0}};
        bool out_eof = false;
        bool err_eof = false;
        {
            const std::lock_guard lock(mutex_);
            out_eof = out_.eof;
            err_eof = err_.eof;
        }
        if (out_eof && err_eof) {
            return;
        }
        if (out_eof) {
            fds[0].fd = -1;
        }
        if (err_eof) {
            fds[1].fd = -1;
        }
        if (::poll(fds, 3, -1) < 0) {
            if (errno == EINTR) {
                continue;
            }
            return;
        }
        if (fds[2].revents != 0) {
            // The child is reaped: take what is already in the pipes, but a grandchild holding a
            // pipe open must not keep us here.
            while (::poll(fds, 2, 0) > 0) {
                const bool got_out = read_into(out_, fds[0]);
                const bool got_err = read_into(err_, fds[1]);
                if (!got_out && !got_err) {
                    break;
                }
            }
            const std::lock_guard lock(mutex_);
            out_.eof = true;
            err_.eof = true;
            changed_.notify_all();
            return;
        }
        (void)read_into(out_, fds[0]);
        (void)read_into(err_, fds[1]);
    }
}

bool ChildProcess::read_into(Stream& stream, pollfd& ready) {
    if (ready.fd < 0 || ready.revents == 0) {
        return false;
    }
    char buf[8192];
    const ssize_t n = ::read(stream.pipe.get(), buf, sizeof buf);
    const std::lock_guard lock(mutex_);
    if (n > 0) {
        stream.text.append(buf, static_cast<std::size_t>(n));
        if (stream.file >= 0) {
            (void)!::write(stream.file, buf, static_cast<std::size_t>(n));
        }
    } else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
        stream.eof = true;
        ready.fd = -1;
    }
    changed_.notify_all();
    return n > 0;
}

bool ChildProcess::reap(int options) {
    if (status_) {
        return true;
    }
    if (pid_ <= 0) {
        return false;
    }
    int status = 0;
    const pid_t rc = ::waitpid(pid_, &status, options);
    if (rc == pid_) {
        status_ = status;
        pidfd_.reset();
        return true;
    }
    return false;
}

bool ChildProcess::is_running() {
    return pid_ > 0 && !reap(WNOHANG);
}

bool ChildProcess::send_signal(int signal) {
    if (!is_running()) {
        return false; // never signal a reaped pid: it may belong to someone else by now
    }
    return ::kill(pid_, signal) == 0;
}

std::optional<int> ChildProcess::wait_exit(Millis timeout) {
    const Deadline deadline(timeout);
    for (;;) {
        if (reap(WNOHANG)) {
            // The child's last output may still be in the pipes: let the drainer read it to
            // the end (EOF comes with the exit, unless a grandchild holds a pipe: bounded).
            std::unique_lock lock(mutex_);
            changed_.wait_for(lock, std::chrono::seconds(1), [&] { return out_.eof && err_.eof; });
            return status_;
        }
        if (pid_ <= 0 || deadline.expired()) {
            return std::nullopt;
        }
        if (pidfd_.valid()) {
            pollfd fd{pidfd_.get(), POLLIN, 0};
            (void)::poll(&fd, 1, deadline.poll_timeout_ms());
        } else {
            // No pidfd (old kernel): poll the child's state at a short interval instead.
            (void)::poll(nullptr, 0, std::min(deadline.poll_timeout_ms(), 5));
        }
    }
}

void ChildProcess::kill_and_reap() {
    if (is_running()) {
        (void)::kill(pid_, SIGKILL);
        (void)reap(0);
    }
}

std::string ChildProcess::stdout_text() const {
    const std::lock_guard lock(mutex_);
    return out_.text;
}

std::string ChildProcess::stderr_text() const {
    const std::lock_guard lock(mutex_);
    return err_.text;
}

bool ChildProcess::wait_for(const Stream& stream,
                            const std::function<bool(std::string_view)>& predicate,
                            Millis timeout) const {
    const Deadline deadline(timeout);
    std::unique_lock lock(mutex_);
    changed_.wait_until(lock, deadline.at(), [&] { return predicate(stream.text) || stream.eof; });
    return predicate(stream.text);
}

bool ChildProcess::wait_for_stdout(const std::function<bool(std::string_view)>& predicate,
                                   Millis timeout) const {
    return wait_for(out_, predicate, timeout);
}

bool ChildProcess::wait_for_stderr(const std::function<bool(std::string_view)>& predicate,
                                   Millis timeout) const {
    return wait_for(err_, predicate, timeout);
}

ProgramRun run_to_exit(const std::string& binary, const std::vector<std::string>& args,
                       const std::filesystem::path& log_dir, Millis timeout) {
    ProgramRun run;
    ChildProcess child;
    std::string error;
    if (!child.start(binary, args, log_dir, "run", error)) {
        run.stderr_text = "cannot start " + binary + ": " + error;
        return run;
    }
    const std::optional<int> status = child.wait_exit(timeout);
    if (status && WIFEXITED(*status)) {
        run.exit_code = WEXITSTATUS(*status);
    }
    child.kill_and_reap();
    // Output is complete only once the drain thread has seen EOF; the child has exited, so the
    // pipes close as soon as it is gone (a bounded wait covers slow schedulers).
    (void)child.wait_for_stdout([](std::string_view) { return false; }, Millis(1000));
    (void)child.wait_for_stderr([](std::string_view) { return false; }, Millis(1000));
    run.stdout_text = child.stdout_text();
    run.stderr_text = child.stderr_text();
    if (!status) {
        run.stderr_text +=
            "\n(killed: still running after " + std::to_string(timeout.count()) + " ms)";
    } else if (!WIFEXITED(*status)) {
        run.stderr_text += "\n(ended by signal " + std::to_string(WTERMSIG(*status)) + ")";
    }
    return run;
}

} // namespace lacquer::test
