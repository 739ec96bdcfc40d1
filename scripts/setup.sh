#!/usr/bin/env bash
# Installs what pmpd needs on a fresh Debian 12 machine (only what is missing),
# then configures and builds it with Ninja (and ccache when present).
#   scripts/setup.sh [BUILD_DIR]      default BUILD_DIR: build
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build}

packages=(cmake ninja-build g++ ccache python3 python3-pip xz-utils liblzma-dev
          libgtest-dev llvm-22-dev llvm-22-tools libmlir-22-dev mlir-22-tools
          clang-22 libclang-rt-22-dev
          lld-22 qemu-user)  # the hexagon target: its linker and emulator
missing=()
for p in "${packages[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  sudo_cmd=""
  [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# The Python packages the differential tests, the evaluator, the pmpd
# package's tests (pytest) and its report (matplotlib) use. Tests that need
# one report UNSUPPORTED where it cannot be installed.
py=$(command -v python3)
pip_install() {
  "$py" -m pip install -q "$@" 2>/dev/null ||
    "$py" -m pip install -q --break-system-packages "$@" 2>/dev/null
}
"$py" -c "import numpy, safetensors, tokenizers, pytest, matplotlib" 2>/dev/null ||
  pip_install numpy safetensors tokenizers pytest matplotlib ||
  echo "setup: warning: could not pip-install numpy/safetensors/tokenizers/pytest/matplotlib; their tests will be skipped"
# The pmpd package (python/), reinstalled every time so that its tests run
# what the tree has.
pip_install "$root/python" ||
  echo "setup: warning: could not pip-install the pmpd package (python/)"

if [ ! -f "$build/build.ninja" ]; then
  cmake -G Ninja -S "$root" -B "$build" \
    -DCMAKE_BUILD_TYPE=Release \
    -DMLIR_DIR=/usr/lib/llvm-22/lib/cmake/mlir \
    -DPython3_EXECUTABLE="$py" >/dev/null
fi
ninja -C "$build" all
