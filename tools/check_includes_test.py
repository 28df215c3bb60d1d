#!/usr/bin/env python3
"""Self-test of tools/check_includes.py (ctest `include_graph_selftest`). Each case builds a small
tree in a temporary directory, runs the checker as a program and checks its exit status and its
file:line messages. So the checker is shown to fail on a forbidden include, not only to pass.
"""

import os
import subprocess
import sys
import tempfile
import textwrap
import unittest

CHECKER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "check_includes.py")

TABLE = """\
module core:    |
module http:    core | llhttp
module cache:   core http |
module admin:   core http cache(purge*.h) |
program main:   admin core |
library llhttp: llhttp.h
library libevent: event2/
"""


class CheckIncludes(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.root = self.tmp.name
        self.write("cmake/module_graph.txt", TABLE)
        self.write("include/lacquer/core/clock.h", "#pragma once\n")
        self.write("include/lacquer/http/head.h", '#pragma once\n#include "lacquer/core/clock.h"\n')
        self.write("include/lacquer/cache/store.h", '#pragma once\n#include "lacquer/http/head.h"\n')
        self.write("include/lacquer/cache/purge.h", "#pragma once\n")
        self.write("src/http/parser.cc", '#include "lacquer/http/head.h"\n#include <llhttp.h>\n')
        self.write("src/cache/store.cc", '#include "lacquer/cache/store.h"\n#include "key.h"\n')
        self.write("src/cache/key.h", "#pragma once\n#include <string>\n")
        self.write("src/admin/admin.cc", '#include "lacquer/cache/purge.h"\n')
        self.write("src/main.cc", '#include "lacquer/admin/admin.h"\n')

    def tearDown(self):
        self.tmp.cleanup()

    def write(self, relative, text):
        path = os.path.join(self.root, relative)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w", encoding="utf-8") as out:
            out.write(textwrap.dedent(text))

    def run_checker(self):
        done = subprocess.run([sys.executable, CHECKER, "--root", self.root],
                              capture_output=True, text=True, check=False)
        return done.returncode, done.stdout + done.stderr

    def assert_fails_with(self, *fragments):
        status, output = self.run_checker()
        self.assertEqual(status, 1, output)
        for fragment in fragments:
            self.assertIn(fragment, output)
        return output

    def test_a_clean_tree_passes(self):
        status, output = self.run_checker()
        self.assertEqual(status, 0, output)
        self.assertIn("9 files follow", output)

    def test_an_include_outside_the_row_fails_with_file_and_line(self):
        self.write("src/http/serialize.cc", """\
            // http may use core only
            #include "lacquer/http/head.h"
            #include "lacquer/cache/store.h"
            """)
        self.assert_fails_with(
            "src/http/serialize.cc:3: http may not include \"lacquer/cache/store.h\": 'cache' "
            "is not in http's row of cmake/module_graph.txt (allowed: core)")

    def test_a_public_header_is_checked_like_a_source(self):
        self.write("include/lacquer/core/clock.h", '#pragma once\n#include "lacquer/http/head.h"\n')
        self.assert_fails_with("include/lacquer/core/clock.h:2: core may not include")

    def test_angle_brackets_and_spacing_do_not_hide_an_include(self):
        self.write("src/core/clock.cc", "#  include <lacquer/cache/store.h>\n")
        self.assert_fails_with("src/core/clock.cc:1: core may not include")

    def test_a_header_restricted_edge_allows_only_its_headers(self):
        self.write("src/admin/stats.cc", '#include "lacquer/cache/purge.h"\n'
                                         '#include "lacquer/cache/store.h"\n')
        output = self.assert_fails_with(
            "src/admin/stats.cc:2: admin may include only cache(purge*.h) of cache")
        self.assertNotIn("stats.cc:1:", output)

    def test_main_is_checked_as_its_own_row(self):
        self.write("src/main.cc", '#include "lacquer/cache/store.h"\n')
        self.assert_fails_with("src/main.cc:1: main may not include")

    def test_a_private_header_of_another_module_fails(self):
        self.write("src/http/parser.cc", '#include "cache/key.h"\n')
        self.assert_fails_with("src/http/parser.cc:1: \"cache/key.h\" is a private header of "
                               "'cache'")

    def test_climbing_out_of_the_directory_fails(self):
        self.write("src/http/parser.cc", '#include "../cache/key.h"\n')
        self.assert_fails_with("src/http/parser.cc:1: \"../cache/key.h\" climbs out")

    def test_a_third_party_header_outside_its_rows_fails(self):
        self.write("src/cache/store.cc", "#include <llhttp.h>\n#include <event2/event.h>\n")
        self.assert_fails_with(
            "src/cache/store.cc:1: cache may not include <llhttp.h> of library 'llhttp'",
            "src/cache/store.cc:2: cache may not include <event2/event.h> of library 'libevent'")

    def test_commented_out_includes_do_not_count(self):
        self.write("src/http/parser.cc", '/*\n#include "lacquer/cache/store.h"\n*/\n'
                                         '// #include "lacquer/cache/store.h"\n')
        status, output = self.run_checker()
        self.assertEqual(status, 0, output)

    def test_a_module_without_a_row_fails(self):
        self.write("src/storage/disk.cc", '#include "lacquer/core/clock.h"\n')
        self.assert_fails_with("src/storage/: 'storage' has no row in the table")

    def test_a_table_that_is_not_closed_is_refused(self):
        self.write("cmake/module_graph.txt", TABLE.replace("module cache:   core http |",
                                                           "module cache:   http |"))
        status, output = self.run_checker()
        self.assertEqual(status, 2, output)
        self.assertIn("not closed under dependency: 'cache' may use 'http', which may use core",
                      output)

    def test_a_dependency_on_a_program_is_refused(self):
        self.write("cmake/module_graph.txt", TABLE.replace("module cache:   core http |",
                                                           "module cache:   core http main |"))
        status, output = self.run_checker()
        self.assertEqual(status, 2, output)
        self.assertIn("'cache' depends on 'main', which is not a module row", output)


if __name__ == "__main__":
    unittest.main()
