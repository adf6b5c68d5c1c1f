#!/usr/bin/env python3
"""Checks README.md's "Bring your own model" section against what scripts/byom runs.

  - its sh block is exactly scripts/byom's commands (between the "# [readme]" markers);
  - its first cpp block is an excerpt of the generated build/byom/model.hpp: its lines appear
    there in the same order (a line "..." stands for lines left out);
  - its second cpp block is exactly examples/bring_your_own/main.cpp's lines between `// [readme]`
    and `// [/readme]` markers (stripped, in order);
  - its text block is exactly the result lines ("before: ...", "after: ...", "... epochs: ...")
    of every run in --log (scripts/byom's output: the QEMU run, then the host's), and it
    quotes train_keras.py's "Keras, float: ..." line (up to its parenthesis) in backquotes.

Without --log and --header (a static CTest: no run needed) only the commands and main.cpp's
lines. Prints the first difference and exits 1 when there is one.

  check_readme_byom.py [--log build/byom/commands.log --header build/byom/model.hpp]
                       [--readme README.md] [--script scripts/byom] [--program main.cpp]
"""
import argparse
import re
import sys


def marked(text, begin, end):
    lines, inside = [], False
    for line in text.splitlines():
        if re.fullmatch(begin, line.strip()):
            inside = True
        elif re.fullmatch(end, line.strip()):
            inside = False
        elif inside:
            lines.append(line.strip())
    return lines


def block(section, language, index=0):
    found = re.findall(r"```" + language + r"\n(.*?)```", section, re.S)
    if len(found) <= index:
        sys.exit(f"README.md: no ```{language} block {index + 1} in 'Bring your own model'")
    return [line.strip() for line in found[index].splitlines()]


def excerpt_of(excerpt, text):
    """Whether every line of excerpt but "..." is a line of text, in the same order."""
    lines = [line.strip() for line in text.splitlines()]
    at = 0
    for line in excerpt:
        if line == "...":
            continue
        try:
            at = lines.index(line, at) + 1
        except ValueError:
            print(f"README.md, Bring your own model, header excerpt: not in the header "
                  f"(or not in this order):\n  {line}")
            return False
    return True


def compare(what, readme, expected):
    for i in range(max(len(readme), len(expected))):
        got = readme[i] if i < len(readme) else "(nothing)"
        want = expected[i] if i < len(expected) else "(nothing)"
        if got != want:
            print(f"README.md, Bring your own model, {what}, line {i + 1}:\n"
                  f"  README:   {got}\n  expected: {want}")
            return False
    return True


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--readme", default="README.md")
    parser.add_argument("--script", default="scripts/byom")
    parser.add_argument("--program", default="examples/bring_your_own/main.cpp")
    parser.add_argument("--header")
    parser.add_argument("--log")
    args = parser.parse_args()
    readme = open(args.readme, encoding="utf-8").read()
    if "## Bring your own model" not in readme:
        sys.exit("README.md: no section 'Bring your own model'")
    section = readme.split("## Bring your own model", 1)[1].split("\n## ", 1)[0]

    commands = [line[2:] for line in marked(open(args.script).read(), r"# \[readme\]",
                                            r"# \[/readme\]")]
    code = [line for line in marked(open(args.program).read(), r"// \[readme\]",
                                    r"// \[/readme\]") if line]
    ok = compare("commands", block(section, "sh"), commands)
    if args.header:
        ok = excerpt_of(block(section, "cpp", 0), open(args.header).read()) and ok
    ok = compare("code", [line for line in block(section, "cpp", 1) if line], code) and ok

    if not args.log:
        if ok:
            print("README.md's Bring your own model: the commands and code of scripts/byom")
        return 0 if ok else 1
    keras = [line.split(" (")[0].strip() for line in open(args.log, errors="replace")
             if line.startswith("Keras, float: ")]
    if len(keras) != 1 or f"`{keras[0]}`" not in section:
        print(f"README.md, Bring your own model: not the Keras accuracy of this run, "
              f"`{keras[0] if keras else '(none in the log)'}`")
        ok = False
    results = [line.strip() for line in open(args.log, errors="replace")
               if re.match(r"(before|after): |\d+ images, \d+ epochs: ", line)]
    runs = [results[i:i + 3] for i in range(0, len(results), 3)]
    if len(runs) != 2:
        print(f"{args.log}: expected two runs' results (QEMU, host), found {len(results)} lines")
        ok = False
    for run in runs:
        ok = compare("printed result", block(section, "text"), run) and ok
    if ok:
        print("README.md's Bring your own model: the commands, code and results of this run")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
