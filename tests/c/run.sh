#!/usr/bin/env bash
# Runs each C test program; exit 0 = pass, 77 = skip, anything else = fail. Prints the
# plain closing line "N passed, N failed, N skipped" and fails if any test failed.
set -u
pass=0 fail=0 skip=0
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}"
for t in "$@"; do
  name=$(basename "$t")
  out=$(timeout 60 "$t" 2>&1); rc=$?
  case $rc in
    0) pass=$((pass + 1)); echo "PASS $name" ;;
    77) skip=$((skip + 1)); echo "SKIP $name: $(echo "$out" | grep -m1 SKIP)" ;;
    *) fail=$((fail + 1)); echo "FAIL $name (exit $rc)"; echo "$out" | sed 's/^/    /' | tail -40 ;;
  esac
done
echo "${SUITE:-c}-tests: $pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
