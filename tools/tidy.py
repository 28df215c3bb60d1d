#!/usr/bin/env python3
"""clang-tidy (.clang-tidy) on Lacquer's C++ sources: the whole tree, or what changed since a base.

  tools/tidy.py [--build build/release] [--all | --base REV] [-j N] [--list]

The build directory must be configured and built, because its compile_commands.json gives each
file's flags and ninja's dependency log maps a changed header to the sources that include it.
Without --all or --base, the base is the newer of two records of a tree checked clean: the commit
named in tools/tidy-base (committed after a whole run: a clone without tags still has it) and the
merge base with the newest release tag (v*). Without either it is HEAD~20. When no base can be
resolved (a shallow clone), the whole tree is checked.
Only src/, tests/ and perf/ *.cc files are tidied. Headers are checked through them: the
HeaderFilterRegex of .clang-tidy limits findings to Lacquer's own headers.
Exit status: 0 clean, 1 findings, 2 usage or setup errors.
"""

import argparse
import concurrent.futures
import json
import os
import re
import shutil
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TIDIED = re.compile(r"^(src|tests|perf)/.*\.cc$")
FALLBACK_DEPTH = 20


def git(*args):
    done = subprocess.run(["git", "-C", ROOT, *args], capture_output=True, text=True, check=False)
    return done.stdout.strip() if done.returncode == 0 else None


def recorded_base():
    """The commit in tools/tidy-base when this clone has it and it is an ancestor of HEAD."""
    try:
        with open(os.path.join(ROOT, "tools", "tidy-base"), encoding="utf-8") as f:
            words = f.read().split()
    except OSError:
        return None
    if not words or not re.fullmatch(r"[0-9a-f]{7,40}", words[0]):
        return None
    commit = git("rev-parse", "--verify", "--quiet", f"{words[0]}^{{commit}}")
    if commit and git("merge-base", "--is-ancestor", commit, "HEAD") is not None:
        return commit
    return None


def default_base():
    """Returns (rev, description), or (None, reason) when no base can be resolved."""
    candidates = []
    recorded = recorded_base()
    if recorded:
        candidates.append((recorded, f"{recorded[:12]} (tools/tidy-base)"))
    tag = git("describe", "--tags", "--abbrev=0", "--match", "v*", "HEAD")
    base = git("merge-base", "HEAD", tag) if tag else None
    if base:
        candidates.append((base, f"the merge base with release {tag}"))
    if len(candidates) == 2:  # the newer one: the other is its ancestor
        first, second = candidates
        if git("merge-base", "--is-ancestor", first[0], second[0]) is not None:
            return second
        return first
    if candidates:
        return candidates[0]
    base = git("rev-parse", "--verify", "--quiet", f"HEAD~{FALLBACK_DEPTH}^{{commit}}")
    if base:
        return base, f"HEAD~{FALLBACK_DEPTH} (no release tag v*)"
    return None, f"neither a release tag nor HEAD~{FALLBACK_DEPTH} exists"


def header_users(build, headers):
    """Maps each changed header (repository-relative) to the sources whose objects depend on it,
    from ninja's dependency log. Paths there go through <build>/include-roots/ symlinks, so both
    sides are compared as real paths."""
    wanted = {os.path.realpath(os.path.join(ROOT, h)) for h in headers}
    done = subprocess.run(["ninja", "-C", build, "-t", "deps"], capture_output=True, text=True,
                          check=False)
    if done.returncode != 0:
        raise RuntimeError(f"ninja -t deps failed in {build}: {done.stderr.strip()}")
    users, source, hit = set(), None, False
    for line in done.stdout.splitlines() + [""]:
        if not line.strip():
            if source and hit:
                users.add(source)
            source, hit = None, False
        elif not line.startswith(" "):
            source, hit = None, False  # "<object>: #deps N, ..."; its first dep is the source
        else:
            path = os.path.realpath(os.path.join(build, line.strip()))
            if source is None:
                source = path
            elif path in wanted:
                hit = True
    return users


def tidy_one(path, build):
    started = time.monotonic()
    done = subprocess.run(["clang-tidy", "-p", build, "--quiet", path], capture_output=True,
                          text=True, check=False)
    # clang-tidy prints "N warnings generated." for suppressed system-header warnings; drop it.
    noise = re.compile(r"^\d+ warnings? (and \d+ errors? )?generated\.$")
    err = "\n".join(l for l in done.stderr.splitlines() if not noise.match(l.strip()))
    return path, done.returncode, done.stdout + err, time.monotonic() - started


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--build", default=os.path.join(ROOT, "build", "release"))
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--all", action="store_true", help="the whole tree")
    which.add_argument("--base", help="files changed since this revision")
    parser.add_argument("-j", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--list", action="store_true", help="print the files, do not tidy them")
    args = parser.parse_args(argv)

    build = os.path.abspath(args.build)
    database = os.path.join(build, "compile_commands.json")
    if not os.path.exists(database):
        print(f"tidy: no {database}; configure and build that tree first", file=sys.stderr)
        return 2
    if shutil.which("clang-tidy") is None:
        print("tidy: clang-tidy not found (tools/install-deps.sh test)", file=sys.stderr)
        return 2
    with open(database, encoding="utf-8") as f:
        sources = {os.path.realpath(e["file"]) for e in json.load(f)}
    sources = sorted(s for s in sources if TIDIED.match(os.path.relpath(s, ROOT)))

    scope = "the whole tree"
    if not args.all:
        base, why = (args.base, f"--base {args.base}") if args.base else default_base()
        changed = git("diff", "--name-only", "--diff-filter=d", base) if base else None
        if changed is None:
            print(f"tidy: no usable base ({why}); checking the whole tree", file=sys.stderr)
        else:
            changed = [c for c in changed.splitlines() if c]
            if ".clang-tidy" in (os.path.basename(c) for c in changed):
                scope = f"the whole tree (a .clang-tidy changed since {why})"
            else:
                files = {os.path.realpath(os.path.join(ROOT, c)) for c in changed}
                headers = [c for c in changed if c.endswith((".h", ".hh", ".hpp", ".inc"))]
                if headers:
                    files |= header_users(build, headers)
                sources = [s for s in sources if s in files]
                scope = f"{len(sources)} files changed since {why}, or including a changed header"
    print(f"tidy: {scope}: {len(sources)} files, -j{args.j}", flush=True)
    if args.list:
        for s in sources:
            print(os.path.relpath(s, ROOT))
        return 0

    started = time.monotonic()
    failed = []
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, args.j)) as pool:
        for path, status, output, _ in pool.map(lambda s: tidy_one(s, build), sources):
            if output.strip():
                print(output.strip(), flush=True)
            if status != 0:
                failed.append(os.path.relpath(path, ROOT))
    elapsed = time.monotonic() - started
    if failed:
        print(f"tidy: findings in {len(failed)} of {len(sources)} files ({elapsed:.0f} s): "
              + " ".join(failed), file=sys.stderr)
        return 1
    print(f"tidy: {len(sources)} files clean ({elapsed:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
