// Unix-domain socket listeners (`address: unix:/run/lacquer/http.sock`, `mode`, `owner`).
#include "lacquer/config/load.h"
#include "lacquer/core/errno_text.h"
#include "listeners.h"

#include <cerrno>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdexcept>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

namespace lacquer::server {

namespace {

// Somebody accepts on `address`: connecting tells (a stale file refuses).
bool somebody_listens(const net::SocketAddress& address) {
    const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return false;
    }
    const bool listens = ::connect(fd, address.get(), address.length) == 0;
    close(fd);
    return listens;
}

// "user" or "user:group" to ids; throws ConfigError when a name is unknown.
void owner_ids(const config::ListenerConfig& l, uid_t& uid, gid_t& gid) {
    const std::size_t colon = l.unix_owner.find(':');
    const std::string user = l.unix_owner.substr(0, colon);
    // At start and reload, on the thread that reads the config: nothing else looks names up.
    const passwd* pw = getpwnam(user.c_str()); // NOLINT(concurrency-mt-unsafe)
    if (pw == nullptr) {
        throw config::ConfigError(l.mark, "owner: no user named '" + user + "'");
    }
    uid = pw->pw_uid;
    gid = pw->pw_gid;
    if (colon != std::string::npos) {
        const std::string name = l.unix_owner.substr(colon + 1);
        const struct group* gr = getgrnam(name.c_str()); // NOLINT(concurrency-mt-unsafe)
        if (gr == nullptr) {
            throw config::ConfigError(l.mark, "owner: no group named '" + name + "'");
        }
        gid = gr->gr_gid;
    }
}

} // namespace

BoundListener bind_unix_listener(const config::ListenerConfig& l, unsigned workers) {
    const std::string text = l.address_text();
    const std::optional<net::SocketAddress> address = net::unix_address(l.unix_path);
    if (!address) {
        throw config::ConfigError(l.mark, "unix socket path too long: " + text);
    }
    uid_t uid = static_cast<uid_t>(-1);
    gid_t gid = static_cast<gid_t>(-1);
    if (!l.unix_owner.empty()) {
        owner_ids(l, uid, gid);
    }
    struct stat st {};
    if (lstat(l.unix_path.c_str(), &st) == 0) {
        if (!S_ISSOCK(st.st_mode)) {
            throw std::runtime_error("cannot listen on " + text +
                                     ": a file that is not a socket is there");
        }
        if (somebody_listens(*address)) {
            throw std::runtime_error("cannot listen on " + text + ": " +
                                     std::string(net::kAddressInUse) +
                                     " (another process listens there)");
        }
        unlink(l.unix_path.c_str()); // left by a process that ended without removing it
    }
    std::string error;
    const int fd = net::open_listening_socket(*address, error, false);
    if (fd < 0) {
        throw std::runtime_error("cannot listen on " + text + ": " + error);
    }
    BoundListener bound;
    bound.config_text = text;
    bound.address = *address;
    bound.unix_socket = true;
    bound.fds.push_back(fd);
    const auto fail = [&](const std::string& what) {
        const std::string problem = what + ": " + core::errno_text(errno);
        close_unowned(bound);
        throw std::runtime_error("cannot listen on " + text + ": " + problem);
    };
    if (l.unix_mode && chmod(l.unix_path.c_str(), static_cast<mode_t>(*l.unix_mode)) != 0) {
        fail("mode");
    }
    if (!l.unix_owner.empty() && chown(l.unix_path.c_str(), uid, gid) != 0) {
        fail("owner");
    }
    for (unsigned w = 1; w < workers; ++w) {
        const int copy = fcntl(fd, F_DUPFD_CLOEXEC, 0);
        if (copy < 0) {
            fail("dup");
        }
        bound.fds.push_back(copy);
    }
    return bound;
}

void apply_unix_permissions(const config::ListenerConfig& l) {
    uid_t uid = static_cast<uid_t>(-1);
    gid_t gid = static_cast<gid_t>(-1);
    if (!l.unix_owner.empty()) {
        owner_ids(l, uid, gid);
    }
    const std::string text = l.address_text();
    if (l.unix_mode && chmod(l.unix_path.c_str(), static_cast<mode_t>(*l.unix_mode)) != 0) {
        throw std::runtime_error("cannot set the mode of " + text + ": " + core::errno_text(errno));
    }
    if (!l.unix_owner.empty() && chown(l.unix_path.c_str(), uid, gid) != 0) {
        throw std::runtime_error("cannot set the owner of " + text + ": " +
                                 core::errno_text(errno));
    }
}

void remove_unix_socket(const BoundListener& listener) {
    const std::string text = listener.address.text();
    if (text.rfind("unix:", 0) == 0) {
        unlink(text.substr(5).c_str());
    }
}

} // namespace lacquer::server
