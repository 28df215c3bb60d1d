"""lacquerd's process as /proc shows it, for perf/soak.py: RSS, descriptors, sockets, and a wait
for it to come to rest. Linux only; stdlib only."""
import collections
import os
import sys
import time

def proc_status(pid):
    """{'VmRSS': kB, 'VmHWM': kB, 'State': 'S'}, or None once the process is gone (or a zombie)."""
    try:
        with open(f"/proc/{pid}/status") as f:
            text = f.read()
    except OSError:
        return None
    out = {}
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            out[key] = int(value.split()[0])
        elif key == "State":
            out[key] = value.split()[0]
    if out.get("State") in ("Z", "X") or "VmRSS" not in out:
        return None
    return out


def fd_count(pid):
    try:
        return len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return -1


def socket_census(pid):
    """(fds, listening TCP sockets, other TCP sockets with their states) of the process."""
    inodes = set()
    fds = 0
    for fd in os.listdir(f"/proc/{pid}/fd"):
        fds += 1
        try:
            link = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if link.startswith("socket:["):
            inodes.add(int(link[8:-1]))
    listening, connected = 0, collections.Counter()
    states = {"01": "ESTABLISHED", "02": "SYN_SENT", "03": "SYN_RECV", "04": "FIN_WAIT1",
              "05": "FIN_WAIT2", "06": "TIME_WAIT", "07": "CLOSE", "08": "CLOSE_WAIT",
              "09": "LAST_ACK", "0A": "LISTEN", "0B": "CLOSING"}
    for table in ("tcp", "tcp6"):
        try:
            with open(f"/proc/{pid}/net/{table}") as f:
                next(f)
                for line in f:
                    parts = line.split()
                    if int(parts[9]) not in inodes:
                        continue
                    if parts[3] == "0A":
                        listening += 1
                    else:
                        connected[states.get(parts[3], parts[3])] += 1
        except OSError:
            pass
    return fds, listening, connected


def settle(pid, timeout):
    start = time.monotonic()
    while True:
        fds, listening, connected = socket_census(pid)
        waited = time.monotonic() - start
        if not connected or waited >= timeout:
            break
        time.sleep(0.5)
    if connected:
        print(f"# still connected after {waited:.0f} s: "
              + ", ".join(f"{n} {s}" for s, n in sorted(connected.items())), file=sys.stderr)
    print(f"fds {fds} listening {listening} connected {sum(connected.values())} "
          f"waited {waited:.1f}")


