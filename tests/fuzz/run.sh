#!/usr/bin/env bash
# Runs the C API fuzzer (tests/fuzz/fuzz_api.c).
#
#   run.sh test  FUZZER [OTHER...]  replay tests/fuzz/corpus and tests/fuzz/regressions with
#                         every binary given, then fuzz with the first for FUZZ_TEST_SECONDS
#                         (default 60); prints the plain closing line
#                         "fuzz-tests: N passed, N failed" (each binary's replay of each input
#                         counts, and the short run counts as one)
#   run.sh long  FUZZER   fuzz for FUZZ_SECONDS (default 600) with FUZZ_JOBS workers (default 1),
#                         growing build/fuzz/corpus (seeded from tests/fuzz/corpus); crashes,
#                         hangs and leaks land in build/fuzz/artifacts/
#   run.sh known FUZZER [OTHER...]  replay tests/fuzz/known (reproducers of reported, unfixed
#                         defects): says which still fail and which now pass (move those to
#                         regressions/)
#
# tests/fuzz/known/waive.env lists the checks of those known defects that the short and long
# runs and the corpus replay look past (so they can find new defects meanwhile); replays of
# tests/fuzz/regressions and tests/fuzz/known never waive anything.
set -u
mode=${1:?usage: run.sh test|long|known FUZZER [OTHER...]}
shift
binaries=()
for b in "$@"; do binaries+=("$(realpath "$b")"); done
fuzzer=${binaries[0]:?usage: run.sh test|long|known FUZZER [OTHER...]}
here=$(cd "$(dirname "$0")" && pwd)
build=$(dirname "$fuzzer")
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:allocator_may_return_null=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}"
# A hang is a failure: libFuzzer's own timeout backs up the harness's watchdogs.
common=(-timeout=30 -rss_limit_mb=4096 -max_len=4096 -len_control=20 -print_final_stats=1)
# Where a failing replay's input is written (not the working directory).
mkdir -p "$build/artifacts"
replayed=(-artifact_prefix="$build/artifacts/")

inputs() { find "$@" -maxdepth 1 -type f ! -name '*.md' ! -name '*.env' ! -name '*.c' 2>/dev/null | sort; }

# Replays each file of the given directories with binary $1; counts pass/fail per input.
replay() {
  local bin=$1 files
  shift
  mapfile -t files < <(inputs "$@")
  ((${#files[@]})) || return 0
  # One process for all of them (fast); on a failure, one per input to say which.
  if "$bin" "${common[@]}" "${replayed[@]}" "${files[@]}" >"$build/replay.log" 2>&1; then
    pass=$((pass + ${#files[@]}))
    echo "ok: $(basename "$bin") replayed ${#files[@]} inputs from ${*#"$here"/}"
    return 0
  fi
  for f in "${files[@]}"; do
    if "$bin" "${common[@]}" "${replayed[@]}" "$f" >"$build/replay-one.log" 2>&1; then
      pass=$((pass + 1))
    else
      fail=$((fail + 1))
      echo "FAIL $(basename "$bin") ${f#"$here"/}"
      grep -E 'INVARIANT|HANG|ERROR:|SUMMARY|runtime error' "$build/replay-one.log" | head -5 | sed 's/^/    /'
    fi
  done
}

waive() {
  [ -f "$here/known/waive.env" ] || return 0
  set -a
  # shellcheck disable=SC1091
  . "$here/known/waive.env"
  set +a
  echo "fuzz: looking past known defects (tests/fuzz/known/waive.env): FUZZ_WAIVE=${FUZZ_WAIVE:-} FUZZ_WAIVE_ERRNO=${FUZZ_WAIVE_ERRNO:-}"
}

case $mode in
test)
  pass=0 fail=0
  # The corpus is seeds: replayed under the same waivers as the short run (a thread-timing
  # defect may show on any of them). Regressions are replayed with every check on.
  for b in "${binaries[@]}"; do
    (waive >/dev/null; replay "$b" "$here/corpus"; echo "$pass $fail" >"$build/replay.counts")
    read -r pass fail <"$build/replay.counts"
    replay "$b" "$here/regressions"
  done
  secs=${FUZZ_TEST_SECONDS:-60}
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  mkdir -p "$work/corpus" "$work/artifacts"
  cp "$here"/corpus/* "$work/corpus/" 2>/dev/null
  (
    waive
    "$fuzzer" "${common[@]}" -seed="${FUZZ_SEED:-1}" -max_total_time="$secs" \
      -artifact_prefix="$work/artifacts/" "$work/corpus" >"$build/short.log" 2>&1
  )
  rc=$?
  grep -E '^(fuzz: looking|stat::number_of_executed_units|stat::average_exec_per_sec|stat::peak_rss_mb)' "$build/short.log" | sed 's/^/  /'
  if [ $rc -eq 0 ]; then
    pass=$((pass + 1))
    echo "ok: ${secs} s of fuzzing found nothing"
  else
    fail=$((fail + 1))
    mkdir -p "$build/artifacts"
    cp "$work"/artifacts/* "$build/artifacts/" 2>/dev/null
    echo "FAIL: the short fuzzing run found a defect (input saved in $build/artifacts/):"
    grep -E 'INVARIANT|HANG|ERROR:|SUMMARY|runtime error|Test unit written' "$build/short.log" | head -8 | sed 's/^/    /'
  fi
  echo "fuzz-tests: $pass passed, $fail failed"
  [ "$fail" -eq 0 ]
  ;;
long)
  mkdir -p "$build/corpus" "$build/artifacts"
  cp -n "$here"/corpus/* "$build/corpus/" 2>/dev/null
  waive
  jobs=${FUZZ_JOBS:-1}
  extra=()
  ((jobs > 1)) && extra=(-jobs="$jobs" -workers="$jobs")
  "$fuzzer" "${common[@]}" -max_total_time="${FUZZ_SECONDS:-600}" -artifact_prefix="$build/artifacts/" \
    "${extra[@]}" "$build/corpus"
  rc=$?
  echo "fuzz: corpus in $build/corpus ($(inputs "$build/corpus" | wc -l) inputs); to minimise a new one into"
  echo "      tests/fuzz/regressions: $fuzzer -minimize_crash=1 -runs=10000 -exact_artifact_path=OUT INPUT"
  exit $rc
  ;;
known)
  pass=0 fail=0
  for f in $(inputs "$here/known"); do
    bad=""
    for b in "${binaries[@]}"; do
      "$b" "${common[@]}" "${replayed[@]}" "$f" >"$build/known.log" 2>&1 ||
        bad="$(basename "$b"): $(grep -m1 -E 'INVARIANT|HANG|ERROR:|runtime error' "$build/known.log")"
    done
    if [ -z "$bad" ]; then
      pass=$((pass + 1))
      echo "FIXED ${f#"$here"/}: passes now; move it to tests/fuzz/regressions/"
    else
      fail=$((fail + 1))
      echo "still failing: ${f#"$here"/}: $bad"
    fi
  done
  echo "fuzz-known: $pass fixed, $fail still failing"
  ;;
*)
  echo "usage: run.sh test|long|known FUZZER" >&2
  exit 2
  ;;
esac
