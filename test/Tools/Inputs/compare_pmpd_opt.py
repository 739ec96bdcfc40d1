"""Runs two builds' pmpd-opt on the lit inputs of the given directories and
compares what they print, byte for byte: stdout, stderr and exit status.

Every `RUN: pmpd-opt %s ...` line of every .mlir file (continuations joined)
up to its first pipe is run, in the file's directory, without
--verify-diagnostics so that the diagnostics are printed and compared too,
and without redirections. Lines with other substitutions than %s and %S are
left out.
    compare_pmpd_opt.py THIS_PMPD_OPT OTHER_PMPD_OPT DIR...
Prints one line per difference and the number of runs compared; exits 1 on
a difference or when nothing was compared."""
import os
import pathlib
import re
import shlex
import subprocess
import sys


def run_lines(path):
    """The RUN lines of `path`, continuations joined."""
    lines, current = [], ""
    for line in path.read_text().splitlines():
        match = re.match(r"\s*//\s*RUN:(.*)$", line)
        if not match:
            continue
        text = match.group(1).strip()
        if text.endswith("\\"):
            current += text[:-1] + " "
            continue
        lines.append(current + text)
        current = ""
    return lines


def pmpd_opt_args(line, path):
    """The arguments of the line's first command if it is `pmpd-opt %s`."""
    line = re.sub(r"^cd %S && ", "", line)
    command = line.split("|")[0].strip()
    if not command.startswith("pmpd-opt %s"):
        return None
    command = command.replace("%S", str(path.parent))
    if "%" in command.replace("%s", ""):
        return None
    args = shlex.split(command)[1:]
    return [str(path) if a == "%s" else a for a in args
            if a != "--verify-diagnostics" and not re.match(r"\d*[<>]", a)]


WHAT = ("exit status", "stdout", "stderr")


def run(tool, args, cwd):
    """Exit status, stdout and stderr of `tool args` (its path, which
    diagnostics may name, as `pmpd-opt`)."""
    result = subprocess.run([tool] + args, cwd=cwd, capture_output=True)
    name = tool.encode()
    return (result.returncode, result.stdout.replace(name, b"pmpd-opt"),
            result.stderr.replace(name, b"pmpd-opt"))


def main(this, other, directories):
    compared, differences = 0, 0
    for directory in directories:
        for path in sorted(pathlib.Path(directory).rglob("*.mlir")):
            for line in run_lines(path):
                args = pmpd_opt_args(line, path)
                if args is None:
                    continue
                this_run, other_run = (run(tool, args, path.parent)
                                       for tool in (this, other))
                compared += 1
                for what in range(3):
                    if this_run[what] != other_run[what]:
                        differences += 1
                        print(f"{path}: pmpd-opt {' '.join(args[1:])}: "
                              f"the {WHAT[what]} differs")
    print(f"{compared} pmpd-opt runs compared, {differences} differences")
    return 1 if differences or not compared else 0


if __name__ == "__main__":
    sys.exit(main(os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2]),
                  sys.argv[3:]))
