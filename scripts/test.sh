#!/usr/bin/env bash
# test.sh - the test command: installs what is missing, builds twice (Release,
# and Debug with ASan+UBSan), runs every test with ctest in both, then runs
# the fuzzers for a bounded time and the correctness matrix on real clusters
# (scripts/ci-correctness.sh). Exits non-zero on any failure.
#
# ctest runs nproc tests at a time, integration tests included (each run has its
# own namespaces; tests/integration/CMakeLists.txt says which may not overlap).
# The sanitized build runs the long integration tests shorter or not at all, and
# the unique-value property test on 5,000 of its 100,000 cases (tests/CMakeLists.txt,
# tests/integration/CMakeLists.txt); the Release build runs them in full.
#
#   scripts/test.sh            everything
#   FL_TEST_QUICK=1 scripts/test.sh   Release build only, no fuzzing, no correctness matrix
#   FL_CORRECTNESS=full|quick|off     the correctness matrix (default full)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
source scripts/deps.sh
fl_install_deps

jobs=$(nproc)
# ccache, when installed, keeps the compiler's output between runs (the same sources give
# the same objects; FL_CCACHE=0 builds without it).
launcher=()
if [[ ${FL_CCACHE:-1} != 0 ]] && command -v ccache >/dev/null; then
  launcher=(-DCMAKE_C_COMPILER_LAUNCHER=ccache)
fi
build() { # dir, cmake args...
  local dir=$1; shift
  echo "== configure $dir ($*)"
  cmake -S "$root" -B "$root/$dir" "${launcher[@]}" "$@" >/dev/null
  echo "== build $dir"
  cmake --build "$root/$dir" -j"$jobs"
}
run_tests() { # dir
  echo "== ctest $1"
  (cd "$root/$1" && ctest --output-on-failure -j"$jobs" --timeout 900)
}
# Each phase's seconds, printed again at the end.
phases=""
phase() { # name, start seconds
  local dt=$(($(date +%s) - $2))
  phases+="  $1: $dt s"$'\n'
  echo "== $1: $dt s (load $(cut -d' ' -f1-3 /proc/loadavg))"
}

start=$(date +%s)
t=$start
build build/release -DCMAKE_BUILD_TYPE=Release
phase "build release" $t; t=$(date +%s)
run_tests build/release
phase "ctest release" $t; t=$(date +%s)
if [[ -z "${FL_TEST_QUICK:-}" ]]; then
  build build/asan -DCMAKE_BUILD_TYPE=Debug -DFL_SANITIZE=ON
  phase "build asan" $t; t=$(date +%s)
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    run_tests build/asan
  phase "ctest asan" $t; t=$(date +%s)
  if [[ -x scripts/fuzz.sh ]]; then
    FUZZ_SECONDS=${FUZZ_SECONDS:-20} scripts/fuzz.sh
    phase "fuzz" $t; t=$(date +%s)
  fi
  # The correctness matrix on real clusters (~8 min, 3 entries at a time): the reference node
  # valid under each nemesis family, etcd valid, planted bugs caught
  # (FL_CORRECTNESS=quick for a smaller one, off to skip; JUnit XML in build/).
  case ${FL_CORRECTNESS:-full} in
  off) ;;
  quick) scripts/ci-correctness.sh --quick --faultline build/release/harness/faultline \
           --junit build/ci-correctness.xml ;;
  *) scripts/ci-correctness.sh --faultline build/release/harness/faultline \
       --junit build/ci-correctness.xml ;;
  esac
  phase "correctness matrix" $t
fi
printf '== phases:\n%s' "$phases"
echo "== all tests passed in $(( $(date +%s) - start )) s"
