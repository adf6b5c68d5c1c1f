#!/usr/bin/env python3
"""Executed instructions per function of a Cortex-M firmware run in QEMU, and how many of them
are vector instructions (Helium/MVE or FP: the T32 coprocessor space).

  scripts/lib/insn_mix.py [--machine mps3-an547] [--prefix bench_] ELF

runs the firmware as the tests do (semihosting, -icount shift=6) with `-d in_asm,exec,nochain`
and, for each function whose name starts with --prefix, prints

  MIX <function> calls=N instructions=I vector=V scalar=S

per call (I = V + S). QEMU counts a vector instruction as one instruction; a real Cortex-M55
executes most 128-bit MVE instructions in two beat-pairs (dual-beat), so V is what the
cycle estimate must weigh differently (docs/cycle_estimate.md, bench/README.md).

QEMU 7.2's disassembler does not decode MVE; the class is read from the encoding instead: a
32-bit instruction whose first halfword is 0xEC00-0xEFFF or 0xFC00-0xFFFF (the coprocessor
space: MVE loads, stores, data processing, VPST; FP's VLDR, VPUSH/VPOP) is a vector instruction.
DLS/WLS/LE/VCTP (0xF0xx) are scalar (loop and predicate set-up). The block bookkeeping (Trace,
Stopped execution, cpu_io_recompile) is cpi_estimate.py's (docs/cycle_estimate.md); the sum over
a call equals the firmware's -icount figure for it, less the call's own few instructions.
Python 3 standard library only.
"""

import argparse
import bisect
import collections
import os
import re
import subprocess
import sys
import tempfile

LINE = re.compile(r"0x([0-9a-fA-F]+):\s+((?:[0-9a-fA-F]{4}\s)+)\s*(\S+)\s*(.*)$")


def is_32bit_prefix(halfword):
    return halfword >> 11 in (0b11101, 0b11110, 0b11111)


def is_vector(halfword):
    return 0xEC00 <= halfword <= 0xEFFF or 0xFC00 <= halfword <= 0xFFFF


def decode_block(lines):
    """[(addr, first halfword)] of the block's instructions. The block's halfwords are split by
    the Thumb rule, not by QEMU's lines: its disassembler does not decode MVE and may print a
    32-bit instruction as two lines, or one line made of halves of two instructions
    (cpi_estimate.merge_undecoded)."""
    stream = []
    for line in lines:
        match = LINE.match(line.rstrip("\n"))
        if not match:
            raise ValueError(f"cannot read QEMU's in_asm line {line!r}")
        addr = int(match.group(1), 16)
        for k, halfword in enumerate(match.group(2).split()):
            stream.append((addr + 2 * k, int(halfword, 16)))
    insns = []
    index = 0
    while index < len(stream):
        addr, first = stream[index]
        insns.append((addr, first))
        index += 2 if is_32bit_prefix(first) and index + 1 < len(stream) else 1
    return insns


class Symbols:
    def __init__(self, elf, nm):
        out = subprocess.run([nm, "-S", "--defined-only", elf], check=True, capture_output=True,
                             text=True).stdout
        entries = []
        for line in out.splitlines():
            fields = line.split()
            if len(fields) == 4 and fields[2] in "tTwW":
                entries.append((int(fields[0], 16) & ~1, int(fields[1], 16), fields[3]))
        entries.sort()
        self.starts = [e[0] for e in entries]
        self.entries = entries

    def find(self, addr):
        index = bisect.bisect_right(self.starts, addr) - 1
        if index >= 0:
            start, size, name = self.entries[index]
            if start <= addr < start + size:
                return name, start
        return None, None


def run(args):
    symbols = Symbols(args.elf, args.nm)
    counts = collections.defaultdict(lambda: [0, 0])  # name -> [vector, scalar]
    calls = collections.Counter()
    blocks = {}
    translated = {}
    reading = None
    pending = None  # (key, pc)
    rewound = None

    def commit():
        nonlocal pending, rewound
        if pending is None:
            return
        key, pc = pending
        pending = None
        block = blocks[key]
        for addr, first in block:
            if rewound is not None and addr >= rewound:
                break
            name, start = symbols.find(addr)
            if name is None or not name.startswith(args.prefix):
                continue
            if addr == start:
                calls[name] += 1
            counts[name][0 if is_vector(first) else 1] += 1
        rewound = None

    with tempfile.TemporaryDirectory(prefix="insn_mix.") as tmp:
        stripped = os.path.join(tmp, "firmware.elf")
        subprocess.run([args.objcopy, "--strip-all", args.elf, stripped], check=True)
        command = [args.qemu, "-M", args.machine, "-nographic", "-monitor", "none", "-serial",
                   "none", "-semihosting-config", "enable=on,target=native", "-icount",
                   "shift=6,align=off,sleep=off", "-d", "in_asm,exec,nochain", "-kernel",
                   stripped]
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                   text=True, errors="replace", bufsize=1 << 20,
                                   cwd=os.path.dirname(os.path.abspath(args.elf)))
        for line in process.stderr:
            head = line[:1]
            if reading is not None:
                if head == "0":
                    reading.append(line)
                    continue
                if reading:
                    block = decode_block(reading)
                    translated[block[0][0]] = block
                reading = None
            if line.startswith("Trace "):
                commit()
                bracket = line.index("[")
                key = line[bracket + 1:bracket + 36]
                pc = int(key[9:17], 16)
                block = translated.pop(pc, None)
                if block is not None:
                    blocks[key] = block
                pending = (key, pc)
                rewound = None
            elif line.startswith("IN:"):
                reading = []
            elif line.startswith("Stopped execution of TB chain"):
                pending = None
            elif line.startswith("cpu_io_recompile"):
                rewound = int(line.split()[-1], 16)
        commit()
        status = process.wait()
    for name in sorted(counts):
        vector, scalar = counts[name]
        n = max(calls[name], 1)
        print(f"MIX {name} calls={calls[name]} instructions={(vector + scalar) // n} "
              f"vector={vector // n} scalar={scalar // n}")
    return status


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("elf")
    parser.add_argument("--machine", default="mps3-an547")
    parser.add_argument("--prefix", default="bench_")
    parser.add_argument("--qemu", default="qemu-system-arm")
    parser.add_argument("--nm", default="arm-none-eabi-nm")
    parser.add_argument("--objcopy", default="arm-none-eabi-objcopy")
    return run(parser.parse_args())


if __name__ == "__main__":
    sys.exit(main())
