# -*- Python -*-
# lit runs every GoogleTest executable under unittests/bin, one lit test per
# GoogleTest case.

import os

import lit.formats

config.name = "PMPD-Unit"
config.suffixes = []
config.test_exec_root = os.path.join(config.pmpd_obj_root, "unittests", "bin")
config.test_source_root = config.test_exec_root
config.test_format = lit.formats.GoogleTest(".", "Tests")
