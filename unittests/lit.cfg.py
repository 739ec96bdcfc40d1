# -*- Python -*-
# lit runs every GoogleTest executable under unittests/bin, one lit test per
# GoogleTest case.

import os
import sys

import lit.formats

# A sanitized build's tests run with its sanitizers' options.
sys.path.insert(0, os.path.join(config.pmpd_src_root, "test"))
import sanitizers

sanitizers.configure(config)

config.name = "PMPD-Unit"
config.suffixes = []
config.test_exec_root = os.path.join(config.pmpd_obj_root, "unittests", "bin")
config.test_source_root = config.test_exec_root
config.test_format = lit.formats.GoogleTest(".", "Tests")
