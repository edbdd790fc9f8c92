# -*- Python -*-
# GoogleTest binaries (names ending in "Tests") run as part of check-gatec.

import os

import lit.formats

config.name = "GATEC-Unit"
config.suffixes = []
config.test_source_root = os.path.join(config.gatec_obj_root, "test", "Unit")
config.test_exec_root = config.test_source_root
config.test_format = lit.formats.GoogleTest(".", "Tests")
