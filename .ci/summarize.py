#!/usr/bin/env python3
"""Sums the test counts every suite of `make test` printed into one closing line,
"ci: N passed, N failed" (Swift's own last line counts only Swift Testing tests, of which
the package has none: its tests are XCTest)."""
import re
import sys

text = open(sys.argv[1], errors="replace").read()
passed = failed = 0
for p, f in re.findall(r"test result: \w+\. (\d+) passed; (\d+) failed", text):  # cargo test
    passed, failed = passed + int(p), failed + int(f)
for p, f in re.findall(r"^[\w-]+-tests: (\d+) passed, (\d+) failed", text, re.M):  # C, echo
    passed, failed = passed + int(p), failed + int(f)
for p, t in re.findall(r"run test \S+ (\d+) pass \((\d+) total\)", text):  # zig build --summary all
    passed, failed = passed + int(p), failed + int(t) - int(p)
swift = re.findall(r"Executed (\d+) tests?, with (\d+) failures", text)  # XCTest: last line is the total
if swift:
    t, f = map(int, swift[-1])
    passed, failed = passed + t - f, failed + f
print(f"ci: {passed} passed, {failed} failed")
sys.exit(1 if failed or not passed else 0)
