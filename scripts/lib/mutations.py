#!/usr/bin/env python3
"""Helper of scripts/mutate: reads the mutation list, applies one mutation, and lists and
runs the host unit tests of a build directory. Not meant to be run by hand.

  mutations.py list  LIST [ID...]      id<TAB>file<TAB>description of each (all, or these)
  mutations.py check LIST ID           exit 1 (with the reason) unless ID applies exactly once
  mutations.py apply LIST ID           write the mutant of ID's file in place
  mutations.py run BUILD [FILE]        build and run the unit tests (CTest label unit), the
                                       program of FILE's floor first; stop at the first
                                       failure, print it and exit 1
"""

import json
import os
import re
import subprocess
import sys

FIELDS = ("file", "desc", "from", "to")


def fail(message, code=2):
    print(f"mutate: {message}", file=sys.stderr)
    sys.exit(code)


def parse(path):
    """The blocks of the list, in order: [{"id", "file", "desc", "from", "to", "line"}]."""
    mutations = []
    current = None
    with open(path, encoding="utf-8") as f:
        for number, raw in enumerate(f, start=1):
            line = raw.rstrip("\n")
            if line.startswith("#") or (current is None and not line.strip()):
                continue
            if line.startswith("[") and line.endswith("]"):
                current = {"id": line[1:-1], "line": number, "from": [], "to": []}
                mutations.append(current)
                continue
            if current is None:
                fail(f"{path}:{number}: text outside a [id] block")
            if not line.strip():
                continue
            key, sep, value = line.partition(":")
            if not sep or key not in FIELDS:
                fail(f"{path}:{number}: expected one of {', '.join(FIELDS)} followed by ':'")
            if value and not value.startswith(" "):
                fail(f"{path}:{number}: one space after '{key}:'")
            value = value[1:]
            if key in ("from", "to"):
                current[key].append(value)
            elif key in current:
                fail(f"{path}:{number}: '{key}' given twice in [{current['id']}]")
            else:
                current[key] = value
    seen = set()
    for m in mutations:
        where = f"{path}:{m['line']}: [{m['id']}]"
        if not m["id"] or any(c.isspace() for c in m["id"]):
            fail(f"{where}: an id is one word")
        if m["id"] in seen:
            fail(f"{where}: id used twice")
        seen.add(m["id"])
        for key in ("file", "desc"):
            if not m.get(key):
                fail(f"{where}: no '{key}'")
        if not m["from"]:
            fail(f"{where}: no 'from'")
        m["from"] = "\n".join(m["from"])
        m["to"] = "\n".join(m["to"])
        if m["from"] == m["to"]:
            fail(f"{where}: 'to' equals 'from'")
    return mutations


def select(mutations, ids):
    if not ids:
        return mutations
    by_id = {m["id"]: m for m in mutations}
    unknown = [i for i in ids if i not in by_id]
    if unknown:
        fail(f"no such mutation: {' '.join(unknown)} (scripts/mutate --list shows them)")
    return [by_id[i] for i in ids]


def mutant(m):
    """The mutated text of m's file, or exit 1 with the reason it cannot be applied."""
    path = m["file"]
    if not path.startswith("include/microtl/") or not os.path.isfile(path):
        fail(f"[{m['id']}]: {path} is not a file under include/microtl/", 1)
    with open(path, encoding="utf-8") as f:
        text = f.read()
    count = text.count(m["from"])
    if count != 1:
        fail(f"[{m['id']}]: its 'from' text occurs {count} times in {path}, not exactly once "
             "(has the code changed? update tests/mutation/mutations.txt)", 1)
    return text.replace(m["from"], m["to"])


def declared_commands(build):
    """{test name: command} from the add_test lines of the build's CTestTestfile.cmake files
    (CTest's own listing leaves out the command of a program not built yet)."""
    commands = {}
    pattern = re.compile(r'^add_test\(\[=\[(.+?)\]=\] (.*)\)$')
    for directory, _, files in os.walk(build):
        if "CTestTestfile.cmake" in files:
            with open(os.path.join(directory, "CTestTestfile.cmake"), encoding="utf-8") as f:
                for line in f:
                    match = pattern.match(line.strip())
                    if match:
                        commands[match.group(1)] = re.findall(r'"((?:[^"\\]|\\.)*)"',
                                                              match.group(2))
    return commands


def unit_tests(build):
    """(name, command, working directory) of each CTest test labelled unit, in CTest's order."""
    out = subprocess.run(["ctest", "--test-dir", build, "-N", "-L", "^unit$",
                          "--show-only=json-v1"], check=True, capture_output=True, text=True)
    declared = declared_commands(build)
    tests = []
    for t in json.loads(out.stdout)["tests"]:
        workdir = build
        for p in t.get("properties", []):
            if p["name"] == "WORKING_DIRECTORY":
                workdir = p["value"]
        tests.append((t["name"], t.get("command") or declared.get(t["name"], []), workdir))
    return tests


def floor_of(path):
    """quant, kernels, layers, ... for include/microtl/<floor>/..."""
    parts = path.split("/")
    return parts[2] if len(parts) > 3 else ""


def run(build, mutated):
    """Builds and runs the unit tests, and stops at the first failure: first the program of
    the mutated header's floor (test_quant for quant/...), the likeliest to fail, then all
    the others (built together, so that ninja runs two compilations at a time). A killed
    mutation then often costs one program's build. Prints what failed; returns 1 then."""
    floor = floor_of(mutated)
    tests = []
    for name, cmd, workdir in unit_tests(build):
        # Programs built here (test_core, fuzz_make_corpus, ...) are targets of their name.
        target = os.path.basename(cmd[0]) if cmd and cmd[0].startswith(build + "/") else None
        tests.append((name, target, cmd, workdir))
    first = [t for t in tests if floor and t[0] == f"test_{floor}"]
    rest = [t for t in tests if t not in first]
    # The static_assert-only tests (microtl_static_tests) are built with the first group.
    groups = [g for g in (first, rest) if g]
    for index, group in enumerate(groups):
        targets = [t[1] for t in group if t[1]] + (["microtl_static_tests"] if index == 0 else [])
        built = subprocess.run(["cmake", "--build", build, "-j2", "--target", *targets],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        if built.returncode != 0:
            errors = [l for l in built.stdout.splitlines() if ": error: " in l]
            reason = errors[0].replace(os.getcwd() + "/", "")[:120] if errors else "?"
            print(f"build fails: {reason}")
            return 1
        for name, _, cmd, workdir in group:
            try:
                result = subprocess.run(cmd, cwd=workdir, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL, timeout=120)
                failed = result.returncode != 0
            except subprocess.TimeoutExpired:
                failed = True  # a mutant that loops forever is caught too
                name += " (timeout)"
            if failed:
                print(name)
                return 1
    return 0


def main(argv):
    if len(argv) < 3:
        fail(__doc__)
    command, arg = argv[1], argv[2]
    if command == "list":
        for m in select(parse(arg), argv[3:]):
            print(f"{m['id']}\t{m['file']}\t{m['desc']}")
    elif command == "check":
        mutant(select(parse(arg), argv[3:4])[0])
    elif command == "apply":
        m = select(parse(arg), argv[3:4])[0]
        text = mutant(m)
        with open(m["file"], "w", encoding="utf-8") as f:
            f.write(text)
    elif command == "run":
        return run(os.path.abspath(arg), argv[3] if len(argv) > 3 else "")
    else:
        fail(f"unknown command {command}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
