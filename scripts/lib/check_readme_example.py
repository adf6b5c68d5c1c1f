#!/usr/bin/env python3
"""Checks that README.md's "A model as a type" code is the example program's, as written.

The program (examples/firmware_make/main.cpp, built by its Makefile and by CMake on every
preset, run in QEMU) marks the lines the README shows between `// [readme]` and
`// [/readme]` comments. The README's first C++ block must be exactly those lines, in
order, after its own include lines. Prints the first difference and exits 1 when there is
one.

  check_readme_example.py [--readme README.md] [--program examples/firmware_make/main.cpp]
"""
import argparse
import re
import sys


def marked_lines(program):
    lines, inside = [], False
    for line in program.splitlines():
        if re.match(r"\s*// \[readme\]", line):
            inside = True
        elif re.match(r"\s*// \[/readme\]", line):
            inside = False
        elif inside:
            lines.append(line.strip())
    return lines


def readme_block(readme):
    section = readme.split("## A model as a type", 1)[1]
    block = re.search(r"```cpp\n(.*?)```", section, re.S).group(1)
    return [line.strip() for line in block.splitlines()]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--readme", default="README.md")
    parser.add_argument("--program", default="examples/firmware_make/main.cpp")
    args = parser.parse_args()
    program = open(args.program, encoding="utf-8").read()
    shown = [l for l in readme_block(open(args.readme, encoding="utf-8").read()) if l]
    # The README's block starts with the program's include and namespace alias lines.
    header = [l for l in shown if l.startswith("#include") or l.startswith("namespace mtl")]
    for line in header:
        if line not in [l.strip() for l in program.splitlines()]:
            print(f"README line not in the program: {line}")
            return 1
    body = [l for l in shown if l not in header]
    expected = [l for l in marked_lines(program) if l]
    for i, (said, truth) in enumerate(zip(body, expected)):
        if said != truth:
            print(f"README code line {i + 1} differs from the program:\n  README:  {said}\n  program: {truth}")
            return 1
    if len(body) != len(expected):
        print(f"README shows {len(body)} lines of the program's {len(expected)} marked lines")
        return 1
    print(f"README example: {len(body)} lines, as in {args.program}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
