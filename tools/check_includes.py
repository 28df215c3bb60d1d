#!/usr/bin/env python3
"""Checks the #include lines of src/ and include/lacquer/ against cmake/module_graph.txt.

This is the module graph of STYLE.md §B. A file belongs to module <a> when it is under src/<a>/ or
include/lacquer/<a>/; src/<a>.cc (src/main.cc) belongs to row <a>. The check fails, naming
file:line, on:
  - "lacquer/<b>/..." when <b> is not <a> and not in <a>'s row, or the row allows only some of
    <b>'s headers and this is not one of them;
  - "<b>/..." (a private header of another module under src/<b>/) and any path with "..";
  - a header of a library in the table's `library` lines that <a>'s row does not allow;
  - a directory in src/ or include/lacquer/ that has no row, and a table that is not closed under
    dependency (CMake hands a module the dependencies of its dependencies).
Usage: tools/check_includes.py [--root DIR] [--table FILE]   (exit 0 clean, 1 violations, 2 usage)
"""

import argparse
import fnmatch
import os
import re
import sys

SOURCE_SUFFIXES = (".h", ".hh", ".hpp", ".cc", ".cpp", ".c", ".inc")
INCLUDE_RE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]')
ROW_RE = re.compile(r"^(module|program)\s+([a-z_][a-z0-9_]*)\s*:([^|]*)\|(.*)$")
LIBRARY_RE = re.compile(r"^library\s+([A-Za-z0-9_.+-]+)\s*:(.*)$")
DEP_RE = re.compile(r"([a-z_][a-z0-9_]*)(?:\(([^)]*)\))?")


class TableError(Exception):
    pass


class Row:
    def __init__(self, kind, name, deps, third_party, line):
        self.kind = kind  # "module" or "program"
        self.name = name
        self.deps = deps  # module -> list of header globs, or None for every header
        self.third_party = third_party
        self.line = line


def parse_table(path):
    rows, libraries = {}, {}
    with open(path, encoding="utf-8") as table:
        for number, raw in enumerate(table, 1):
            text = raw.split("#", 1)[0].strip()
            if not text:
                continue
            where = f"{path}:{number}"
            row = ROW_RE.match(text)
            library = LIBRARY_RE.match(text)
            if row:
                kind, name, deps_text, third_text = row.groups()
                if name in rows:
                    raise TableError(f"{where}: second row for '{name}'")
                deps = {}
                rest = deps_text.strip()
                while rest:
                    dep = DEP_RE.match(rest)
                    if not dep:
                        raise TableError(f"{where}: cannot read '{rest}'")
                    globs = dep.group(2).split() if dep.group(2) is not None else None
                    deps[dep.group(1)] = globs
                    rest = rest[dep.end():].strip()
                rows[name] = Row(kind, name, deps, third_text.split(), number)
            elif library:
                prefixes = library.group(2).split()
                if not prefixes:
                    raise TableError(f"{where}: library '{library.group(1)}' names no header")
                libraries[library.group(1)] = prefixes
            else:
                raise TableError(f"{where}: neither a module, program nor library line: {text}")
    for row in rows.values():
        for dep in row.deps:
            if dep not in rows or rows[dep].kind != "module":
                raise TableError(f"{path}:{row.line}: '{row.name}' depends on '{dep}', "
                                 "which is not a module row")
            if dep == row.name:
                raise TableError(f"{path}:{row.line}: '{row.name}' lists itself")
        for lib in row.third_party:
            if lib not in libraries:
                raise TableError(f"{path}:{row.line}: '{row.name}' allows library '{lib}', "
                                 "which has no `library` line")
    for row in rows.values():
        if row.kind != "module":
            continue
        for dep in row.deps:
            missing = [d for d in rows[dep].deps if d not in row.deps and d != row.name]
            if missing:
                raise TableError(
                    f"{path}:{row.line}: not closed under dependency: '{row.name}' may use "
                    f"'{dep}', which may use {', '.join(missing)}, but '{row.name}' may not")
    return rows, libraries


def strip_block_comments(lines):
    """Yields (number, line) with /* ... */ comments blanked, so that commented-out includes do
    not count. Good enough for include lines; string literals holding "/*" are not expected there."""
    in_comment = False
    for number, line in enumerate(lines, 1):
        out, i = [], 0
        while i < len(line):
            if in_comment:
                end = line.find("*/", i)
                if end < 0:
                    i = len(line)
                else:
                    in_comment, i = False, end + 2
            else:
                start = line.find("/*", i)
                slashes = line.find("//", i)
                if start < 0 or (0 <= slashes < start):
                    out.append(line[i:])
                    i = len(line)
                else:
                    out.append(line[i:start])
                    in_comment, i = True, start + 2
        yield number, "".join(out)


def library_of(header, libraries):
    for name, prefixes in libraries.items():
        for prefix in prefixes:
            if header == prefix or (prefix.endswith("/") and header.startswith(prefix)):
                return name
    return None


def describe(row):
    names = []
    for dep, globs in row.deps.items():
        names.append(dep if globs is None else f"{dep}({' '.join(globs)})")
    return " ".join(names) if names else "none"


def check_file(path, shown, module, rows, libraries, table_name):
    """Returns the violations of one file, each 'shown:line: message'."""
    row = rows[module]
    problems = []
    try:
        with open(path, encoding="utf-8", errors="replace") as source:
            lines = source.read().splitlines()
    except OSError as error:
        return [f"{shown}: cannot read: {error}"]
    for number, line in strip_block_comments(lines):
        found = INCLUDE_RE.match(line)
        if not found:
            continue
        quote, header = found.groups()
        where = f"{shown}:{number}"
        if header.startswith("../") or "/../" in header or header.startswith("./"):
            problems.append(f'{where}: "{header}" climbs out of its directory; include a module\'s '
                            "public header as lacquer/<module>/... instead")
            continue
        parts = header.split("/")
        if parts[0] == "lacquer" and len(parts) >= 3:
            target = parts[1]
            if target == module:
                continue
            if target not in rows or rows[target].kind != "module":
                problems.append(f'{where}: "{header}": there is no module \'{target}\'')
                continue
            if target not in row.deps:
                problems.append(
                    f"{where}: {module} may not include \"{header}\": '{target}' is not in "
                    f"{module}'s row of {table_name} (allowed: {describe(row)})")
                continue
            globs = row.deps[target]
            rest = "/".join(parts[2:])
            if globs is not None and not any(fnmatch.fnmatchcase(rest, g) for g in globs):
                problems.append(
                    f"{where}: {module} may include only {target}({' '.join(globs)}) of "
                    f"{target}, not \"{header}\" ({table_name})")
            continue
        if quote == '"' and len(parts) >= 2 and parts[0] in rows and parts[0] != module:
            problems.append(f"{where}: \"{header}\" is a private header of '{parts[0]}' "
                            f"(src/{parts[0]}/); only lacquer/{parts[0]}/... is public")
            continue
        library = library_of(header, libraries)
        if library is not None and library not in row.third_party:
            allowed = " ".join(row.third_party) if row.third_party else "none"
            problems.append(f"{where}: {module} may not include <{header}> of library "
                            f"'{library}' (third-party allowed in {module}: {allowed}; "
                            f"{table_name})")
    return problems


def module_files(root, rows):
    """Yields (path, shown path, module); problems for directories without a row go to `orphans`."""
    orphans = []
    files = []
    src = os.path.join(root, "src")
    public = os.path.join(root, "include", "lacquer")
    for base, kind in ((src, "src"), (public, "include")):
        if not os.path.isdir(base):
            continue
        for entry in sorted(os.listdir(base)):
            full = os.path.join(base, entry)
            shown_base = os.path.relpath(full, root)
            if os.path.isdir(full):
                module = entry
                if module not in rows:
                    orphans.append(f"{shown_base}/: '{module}' has no row in the table")
                    continue
                if kind == "include" and rows[module].kind != "module":
                    orphans.append(f"{shown_base}/: '{module}' is a program; programs have no "
                                   "public headers")
                    continue
                for dirpath, dirnames, filenames in os.walk(full):
                    dirnames.sort()
                    for name in sorted(filenames):
                        if name.endswith(SOURCE_SUFFIXES):
                            path = os.path.join(dirpath, name)
                            files.append((path, os.path.relpath(path, root), module))
            elif kind == "src" and entry.endswith(SOURCE_SUFFIXES):
                module = os.path.splitext(entry)[0]
                if module not in rows:
                    orphans.append(f"{shown_base}: '{module}' has no row in the table")
                    continue
                files.append((full, shown_base, module))
            elif kind == "include" and entry.endswith(SOURCE_SUFFIXES):
                orphans.append(f"{shown_base}: a public header belongs in include/lacquer/<module>/")
    return files, orphans


def main(argv):
    here = os.path.dirname(os.path.abspath(__file__))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", default=os.path.dirname(here), help="the source tree")
    parser.add_argument("--table", help="the table (default ROOT/cmake/module_graph.txt)")
    args = parser.parse_args(argv)
    root = os.path.abspath(args.root)
    table = args.table or os.path.join(root, "cmake", "module_graph.txt")
    table_name = os.path.relpath(table, root) if table.startswith(root + os.sep) else table
    try:
        rows, libraries = parse_table(table)
    except (OSError, TableError) as error:
        print(f"check_includes: {error}", file=sys.stderr)
        return 2
    files, problems = module_files(root, rows)
    for path, shown, module in files:
        problems += check_file(path, shown, module, rows, libraries, table_name)
    if problems:
        for problem in problems:
            print(problem)
        print(f"check_includes: {len(problems)} violation(s) of the module graph in "
              f"{len(files)} files ({table_name}, STYLE.md §B)", file=sys.stderr)
        return 1
    print(f"check_includes: {len(files)} files follow {table_name}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
