#!/usr/bin/env python3
"""Estimated Cortex-M4 cycles of regions of a firmware, from the instructions it executes.

QEMU has no cycle model: it counts instructions. This tool runs a Cortex-M4 firmware in QEMU
(as the tests run it: semihosting, -icount) with QEMU's log of translated blocks (in_asm) and
of their executions (exec, nochain), keeps the instructions executed between calls to two
marker functions, classifies each of them, and applies the instruction timings of the Arm
Cortex-M4 Technical Reference Manual. The result is an ESTIMATE: the rules and every number
are in docs/cycle_estimate.md; no pipeline effect beyond them and no memory contention is
modelled.

    cpi_estimate.py [options] FIRMWARE.elf

The firmware marks a region by calling cpi_region_begin(id) before it and cpi_region_end(id)
after it (noinline functions; see examples/transfer_learning/device/cpi_probe.cpp), and
prints `CPI region=NAME instructions=N` after each region, N from its -icount instruction
counter: the tool names the regions by these lines, in order, and compares the counts
(--check-icount fails unless they agree). It prints, per region name (the mean of its runs):

    DEMO cpi region=NAME instructions=N estimated_cycles=M cpi=C runs=R ...
    DEMO cpi_class region=NAME class=CLASS instructions=N cycles=M

Python 3 standard library only; needs qemu-system-arm and arm-none-eabi-objcopy/-nm.
"""

import argparse
import collections
import os
import re
import subprocess
import sys
import tempfile

# ---------------------------------------------------------------------------------------------
# Timing parameters (docs/cycle_estimate.md names the source of each).
# ---------------------------------------------------------------------------------------------


class Timing:
    """The parameters of the estimate that the TRM leaves open, with their defaults."""

    def __init__(self, refill_direct=1, refill_register=2, refill_loaded=3, div_cycles=7,
                 it_cycles=1, flash_wait_states=0, address_stall=True, vldr_pipelined=False):
        # P, the pipeline refill after a taken branch (TRM: 1 to 3 cycles), by where the
        # target comes from: the instruction (B, BL, CBZ), a register (BX, BLX, MOV PC) or
        # memory (POP/LDM/LDR to PC, TBB/TBH). A 32-bit target instruction that is not word
        # aligned adds 1 (at most 3 in all).
        self.refill_direct = refill_direct
        self.refill_register = refill_register
        self.refill_loaded = refill_loaded
        self.div_cycles = div_cycles  # SDIV/UDIV: 2 to 12 (early termination); a stated mean
        self.it_cycles = it_cycles  # IT: 1 (the TRM allows folding it to 0; not assumed)
        self.flash_wait_states = flash_wait_states  # extra cycles per non-sequential fetch
        self.address_stall = address_stall  # +1: address from the previous data processing
        # Not a TRM rule (its FPU table gives VLDR 2): VLDR pipelined like LDR, as GCC's
        # Cortex-M4 scheduling model has it. Off by default; for sensitivity.
        self.vldr_pipelined = vldr_pipelined

    def describe(self):
        return (f"flash_wait_states={self.flash_wait_states} refill_direct={self.refill_direct} "
                f"refill_register={self.refill_register} refill_loaded={self.refill_loaded} "
                f"div_cycles={self.div_cycles} it_cycles={self.it_cycles} "
                f"address_stall={'on' if self.address_stall else 'off'}"
                f"{' vldr_pipelined=on' if self.vldr_pipelined else ''}")


# ---------------------------------------------------------------------------------------------
# Instructions: QEMU's in_asm text (capstone's syntax) to a class, a base cost and the facts
# the pipelining rules need.
# ---------------------------------------------------------------------------------------------

CONDITIONS = {"eq", "ne", "cs", "hs", "cc", "lo", "mi", "pl", "vs", "vc", "hi", "ls", "ge", "lt",
              "gt", "le", "al"}

ALU = {"adc", "add", "addw", "adr", "and", "asr", "bic", "cmn", "cmp", "eor", "lsl", "lsr", "mov",
       "movw", "movt", "mvn", "neg", "orn", "orr", "ror", "rrx", "rsb", "sbc", "sub", "subw",
       "teq", "tst", "sxtb", "sxth", "uxtb", "uxth", "ubfx", "sbfx", "bfi", "bfc", "clz", "rbit",
       "rev", "rev16", "revsh", "ssat", "usat"}
COMPARES = {"cmn", "cmp", "teq", "tst"}
MUL = {"mul", "mla", "mls", "smull", "umull", "smlal", "umlal", "umaal"}
LONG_RESULT = {"smull", "umull", "smlal", "umlal", "umaal", "smlald", "smlaldx", "smlsld",
               "smlsldx", "smlalbb", "smlalbt", "smlaltb", "smlaltt"}
DSP = {"smlad", "smladx", "smlsd", "smlsdx", "smlald", "smlaldx", "smlsld", "smlsldx", "smuad",
       "smuadx", "smusd", "smusdx", "smlabb", "smlabt", "smlatb", "smlatt", "smlawb", "smlawt",
       "smulbb", "smulbt", "smultb", "smultt", "smulwb", "smulwt", "smlalbb", "smlalbt",
       "smlaltb", "smlaltt", "smmul", "smmulr", "smmla", "smmlar", "smmls", "smmlsr", "qadd",
       "qsub", "qdadd", "qdsub", "sel", "usad8", "usada8", "pkhbt", "pkhtb", "ssat16", "usat16",
       "sxtb16", "sxtab16", "uxtb16", "uxtab16", "sxtab", "sxtah", "uxtab", "uxtah"}
for _prefix in ("s", "q", "sh", "u", "uq", "uh"):  # the parallel (SIMD) add/subtract family
    for _op in ("add8", "add16", "sub8", "sub16", "asx", "sax"):
        DSP.add(_prefix + _op)
DIV = {"sdiv", "udiv"}
LOADS = {"ldr", "ldrb", "ldrh", "ldrsb", "ldrsh", "ldrt", "ldrbt", "ldrht", "ldrsbt", "ldrsht",
         "ldrex", "ldrexb", "ldrexh"}
STORES = {"str", "strb", "strh", "strt", "strbt", "strht", "strex", "strexb", "strexh"}
DOUBLES = {"ldrd", "strd"}
MULTIPLES = {"ldm", "ldmia", "ldmfd", "ldmdb", "ldmea", "stm", "stmia", "stmea", "stmdb", "stmfd",
             "push", "pop"}
FP_LOAD_STORE = {"vldr", "vstr"}
FP_MULTIPLES = {"vldm", "vldmia", "vldmdb", "vstm", "vstmia", "vstmdb", "vpush", "vpop"}
FP_ARITH = {"vadd", "vsub", "vmul", "vnmul", "vabs", "vneg", "vcmp", "vcmpe", "vcvt", "vcvtr",
            "vcvtb", "vcvtt", "vmov"}
FP_MAC = {"vmla", "vmls", "vnmla", "vnmls", "vfma", "vfms", "vfnma", "vfnms"}
FP_DIVSQRT = {"vdiv", "vsqrt"}
FP_STATUS = {"vmrs", "vmsr"}
BRANCHES = {"b", "bl", "bx", "blx", "cbz", "cbnz", "tbb", "tbh"}
OTHER = {"nop", "bkpt", "svc", "dmb", "dsb", "isb", "pld", "pli", "mrs", "msr", "cpsid", "cpsie",
         "wfi", "wfe", "sev", "yield", "clrex", "udf"}
KNOWN = (ALU | MUL | DSP | DIV | LOADS | STORES | DOUBLES | MULTIPLES | FP_LOAD_STORE
         | FP_MULTIPLES | FP_ARITH | FP_MAC | FP_DIVSQRT | FP_STATUS | BRANCHES | OTHER)

REGISTER_NUMBERS = {f"r{n}": n for n in range(16)}
REGISTER_NUMBERS.update({"sb": 9, "sl": 10, "fp": 11, "ip": 12, "sp": 13, "lr": 14, "pc": 15})
CORE_REGISTER = re.compile(r"\b(r1[0-5]|r[0-9]|sb|sl|fp|ip|sp|lr|pc)\b")
FP_REGISTER = re.compile(r"\b([sd])([0-9]+)\b")
IT_MNEMONIC = re.compile(r"^it[te]{0,3}$")

# The classes of the breakdown, in the order it prints them.
CLASSES = ["alu", "mul", "dsp", "div", "ldr", "ldr_pipelined", "str", "ldrd_strd", "ldm_stm",
           "ldm_pop_pc", "vldr_vstr", "vldr_pipelined", "vldm_vstm", "fp_arith", "fp_mac",
           "fp_divsqrt", "fp_core_move", "branch_taken", "branch_not_taken", "it", "other",
           "unknown", "address_stall"]


def split_mnemonic(raw):
    """'orrsne.w' -> ('orr', True): the base mnemonic and whether a condition was attached
    (inside an IT block, or B<cond>). Width (.w/.n) and data type (.f32) suffixes go."""
    head = raw.lower().split(".", 1)[0]
    if IT_MNEMONIC.match(head):
        return "it", False
    candidates = [(head, False)]
    if head[-2:] in CONDITIONS:
        candidates.append((head[:-2], True))
    if head.endswith("s"):
        candidates.append((head[:-1], False))  # flag-setting: adds, lsls, bics
    if head[-2:] in CONDITIONS and head[:-2].endswith("s"):
        candidates.append((head[:-3], True))  # both: orrsne, lsrseq
    for base, conditional in candidates:
        if base in KNOWN:
            return base, conditional
    raise ValueError(f"unknown instruction mnemonic {raw!r}")


def core_registers(text):
    return {REGISTER_NUMBERS[m] for m in CORE_REGISTER.findall(text)}


def register_list_size(ops):
    """Registers in a {..} list, in 32-bit words: {r4, r5, pc} 3, {s16, s17} 2, {d8, d9} 4."""
    inside = ops[ops.index("{") + 1:ops.index("}")]
    words = 0
    for item in inside.split(","):
        item = item.strip()
        if "-" in item:  # a range, r4-r7 or s16-s19
            first, last = (part.strip() for part in item.split("-"))
            count = int(re.sub(r"\D", "", last)) - int(re.sub(r"\D", "", first)) + 1
        else:
            count = 1
        words += count * (2 if item.startswith("d") else 1)
    return words


class Insn:
    """One instruction as QEMU translated it, with what the cost rules need."""

    __slots__ = ("addr", "size", "halfwords", "text", "base", "conditional", "cls", "cycles",
                 "branch", "always_taken", "load_single", "fp_load_single", "store_single", "reg_offset",
                 "dests", "addr_regs", "producer")

    def __init__(self, addr, size, mnemonic, ops):
        self.addr = addr
        self.size = size
        self.halfwords = ()  # the encoding, as QEMU printed it (parse_in_asm_line)
        self.text = f"{mnemonic} {ops}".strip()
        try:
            self.base, self.conditional = split_mnemonic(mnemonic)
        except ValueError:
            # Not in the tables: counted as 1 cycle in a class of its own, which the report
            # shows (and which a region should not have).
            self.base, self.conditional = mnemonic.lower(), False
        self.branch = None  # None, or where a taken branch's target comes from
        self.always_taken = False
        self.load_single = False  # LDR/LDRB/LDRH/...: the loads that pipeline
        self.fp_load_single = False  # VLDR of one single-precision register
        self.store_single = False
        self.reg_offset = False
        self.dests = frozenset()  # core registers written by a data-processing instruction
        self.addr_regs = frozenset()  # core registers an access computes its address from
        self.producer = False  # data processing: its result feeds an address one cycle late
        self._classify(ops)
        # Taken for sure unless conditional (B<cond>, CBZ/CBNZ, in an IT block): then the
        # next address executed tells.
        self.always_taken = (self.branch is not None and not self.conditional
                             and self.base not in ("cbz", "cbnz"))

    def _classify(self, ops):
        base = self.base
        first = ops.partition(",")[0]
        if "[" in ops:
            before, inside = ops.split("[", 1)
            inside, _, after = inside.partition("]")
            self.addr_regs = frozenset(core_registers(inside) | core_registers(after))
            self.reg_offset = len(core_registers(inside)) > 1 or bool(core_registers(after))
        else:
            before = ops
        if base in ALU or base in MUL or base in DSP or base in DIV:
            if base in MUL:
                self.cls, self.cycles = "mul", 1
            elif base in DSP:
                self.cls, self.cycles = "dsp", 1
            elif base in DIV:
                self.cls, self.cycles = "div", None  # Timing.div_cycles
            else:
                self.cls, self.cycles = "alu", 1
            if base not in COMPARES:
                written = CORE_REGISTER.findall(ops)[:2 if base in LONG_RESULT else 1]
                self.dests = frozenset(REGISTER_NUMBERS[m] for m in written)
                self.producer = True
            if 15 in self.dests:  # MOV PC / ADD PC: a branch to a register value
                self.cls, self.branch = "branch_taken", "register"
        elif base in LOADS or base in STORES:
            loads = base in LOADS
            self.cls, self.cycles = ("ldr", 2) if loads else ("str", 2)
            self.load_single, self.store_single = loads, not loads
            if loads:
                self.dests = frozenset(core_registers(before))
                if 15 in self.dests:  # LDR PC: 2 + P
                    self.cls, self.branch = "ldm_pop_pc", "loaded"
                    self.load_single = False
            elif not self.reg_offset:
                self.cycles = 1  # STR Rx,[Ry,#imm] is always one cycle (TRM load/store timing)
        elif base in DOUBLES:
            self.cls, self.cycles = "ldrd_strd", 3  # 1 + N, N = 2
        elif base in MULTIPLES:
            words = register_list_size(ops)
            self.cls, self.cycles = "ldm_stm", 1 + words
            if "{" in ops:
                base_register = core_registers(ops[:ops.index("{")]) or {13}  # PUSH/POP: SP
                self.addr_regs = frozenset(base_register)
            loads_pc = 15 in core_registers(ops[ops.index("{"):])
            if loads_pc and base in ("pop", "ldm", "ldmia", "ldmfd", "ldmdb", "ldmea"):
                self.cls, self.branch = "ldm_pop_pc", "loaded"
        elif base in FP_LOAD_STORE:
            double = first.strip().startswith("d")
            self.cls, self.cycles = "vldr_vstr", 3 if double else 2
            self.fp_load_single = base == "vldr" and not double
        elif base in FP_MULTIPLES:
            self.cls, self.cycles = "vldm_vstm", 1 + register_list_size(ops)
            if base not in ("vpush", "vpop"):
                self.addr_regs = frozenset(core_registers(ops[:ops.index("{")]))
            else:
                self.addr_regs = frozenset({13})
        elif base == "vmov" and core_registers(ops):
            # To or from core registers: 2 (one or two singles, one double), 1 for a half of
            # a double (VMOV.32 Dd[x], Rt).
            self.cls, self.cycles = "fp_core_move", 1 if "[" in ops else 2
            self.addr_regs = frozenset()
        elif base in FP_STATUS:
            self.cls, self.cycles = "fp_core_move", 1
        elif base in FP_ARITH:
            self.cls, self.cycles = "fp_arith", 1
        elif base in FP_MAC:
            self.cls, self.cycles = "fp_mac", 3
        elif base in FP_DIVSQRT:
            self.cls, self.cycles = "fp_divsqrt", 14
        elif base in BRANCHES:
            self.cls, self.cycles = "branch_taken", 1
            if base in ("tbb", "tbh"):
                # Table 3-1 gives 2 + P; the load/store timing notes count "at least six
                # cycles": 2 for the load, 1 for the add, 3 for the refill. The notes' count.
                self.cycles, self.branch = 3, "loaded"
            elif base in ("bx", "blx") and core_registers(ops):
                self.branch = "register"
            else:
                self.branch = "direct"  # B, BL, CBZ, CBNZ
            self.addr_regs = frozenset()
        elif base == "it":
            self.cls, self.cycles = "it", None  # Timing.it_cycles
        elif base in OTHER:
            self.cls, self.cycles = "other", 1
            self.addr_regs = frozenset()
        else:
            self.cls, self.cycles = "unknown", 1
            self.addr_regs = frozenset()

    @property
    def next_addr(self):
        return self.addr + self.size


def parse_in_asm_line(line):
    """'0x00005896:  3a01       subs     r2, #1' -> Insn. QEMU 7.2 prints the address, the
    halfwords of the encoding (one or two), the mnemonic and the operands."""
    match = re.match(r"0x([0-9a-fA-F]+):\s+((?:[0-9a-fA-F]{4}\s)+)\s*(\S+)\s*(.*)$",
                     line.rstrip("\n"))
    if not match:
        raise ValueError(f"cannot read QEMU's in_asm line {line!r}")
    halfwords = tuple(int(h, 16) for h in match.group(2).split())
    insn = Insn(int(match.group(1), 16), 2 * len(halfwords), match.group(3),
                match.group(4).strip())
    insn.halfwords = halfwords
    return insn


def is_32bit_prefix(halfword):
    """A first halfword that announces a 32-bit Thumb encoding (top five bits 11101, 11110 or
    11111): never an instruction alone."""
    return halfword >> 11 in (0b11101, 0b11110, 0b11111)


def merge_undecoded(insns):
    """QEMU 7.2's disassembler (capstone) does not know some Armv8.1-M instructions (the
    low-overhead loops' DLS and LE, which GCC emits for the Cortex-M55, and the Helium (MVE)
    instructions) and prints each first halfword as '.byte 0x0f, 0xf0' and the second as
    whatever it happens to read as: a 16-bit instruction (LE's c00b as 'stm r0!, {r0, r1,
    r3}'), or, with the next instruction's first halfword, a 32-bit one (an MVE VMRS, then a
    VCTP: '.byte 0xfd, 0xee', 'ea10 f001 ands.w ...', '.byte 0x01, 0xe8'); QEMU runs what the
    encoding says. So the block's halfwords are split again by the Thumb rule
    (is_32bit_prefix); an instruction that is a line of QEMU's keeps that line's decoding,
    any other is one instruction of the class "unknown": the tool then counts what -icount
    counts."""
    stream = [(insn.addr + 2 * k, halfword) for insn in insns
              for k, halfword in enumerate(insn.halfwords)]
    if len(stream) != sum(insn.size // 2 for insn in insns):
        return list(insns)  # built without their encodings (not from QEMU's log): as they are
    lines = {insn.addr: insn for insn in insns}
    merged = []
    index = 0
    while index < len(stream):
        addr, halfword = stream[index]
        size = 4 if is_32bit_prefix(halfword) and index + 1 < len(stream) else 2
        line = lines.get(addr)
        if line is not None and line.size == size:
            merged.append(line)
        else:
            insn = Insn(addr, size, ".inst.w" if size == 4 else ".inst", "")
            insn.halfwords = tuple(h for _, h in stream[index:index + size // 2])
            merged.append(insn)
        index += size // 2
    return merged


class Block:
    """A translation block: the instructions QEMU runs together, in order."""

    def __init__(self, insns):
        self.insns = insns
        self.pc = insns[0].addr
        self.end = insns[-1].next_addr
        self.prefixes = {}

    def prefix(self, stop):
        """The block's instructions before address `stop` (a block that QEMU rewound there to
        run an I/O instruction on its own: only these ran)."""
        if stop not in self.prefixes:
            insns = [i for i in self.insns if i.addr < stop]
            self.prefixes[stop] = Block(insns) if insns else None
        return self.prefixes[stop]


# ---------------------------------------------------------------------------------------------
# The cost rules.
# ---------------------------------------------------------------------------------------------


class Estimator:
    """Cycles of executed blocks, under the TRM's timings and a Timing's parameters."""

    def __init__(self, timing):
        self.timing = timing
        self.first_size = {}  # address -> size of the instruction there, for the alignment rule

    def learn(self, block):
        for insn in block.insns:
            self.first_size[insn.addr] = insn.size

    def refill(self, insn, target):
        t = self.timing
        p = {"direct": t.refill_direct, "register": t.refill_register,
             "loaded": t.refill_loaded}[insn.branch]
        if target is not None and target % 4 == 2 and self.first_size.get(target) == 4:
            p = min(p + 1, 3)  # a 32-bit target instruction across two fetched words
        return p + t.flash_wait_states

    def block(self, block, previous, next_pc, tally, times=1, per_insn=None):
        """Adds `times` executions of `block` to `tally` (class -> [instructions, cycles]):
        `previous` is the instruction executed just before it (None if unknown), `next_pc`
        the address executed just after it (None if unknown). `per_insn`, if given, also
        gets (executions, cycles) per instruction."""
        t = self.timing
        prev = previous
        last = len(block.insns) - 1
        for index, insn in enumerate(block.insns):
            cls = insn.cls
            cycles = insn.cycles
            if cls == "div":
                cycles = t.div_cycles
            elif cls == "it":
                cycles = t.it_cycles
            pipelined = (prev is not None and prev.load_single
                         and not (insn.addr_regs & prev.dests))
            if t.vldr_pipelined and prev is not None and prev.fp_load_single:
                pipelined = True  # a VLDR writes no core register: no address dependency
            if insn.load_single and pipelined:
                cls, cycles = "ldr_pipelined", 1  # LDR after LDR, no address dependency
            elif insn.fp_load_single and pipelined and t.vldr_pipelined:
                cls, cycles = "vldr_pipelined", 1
            elif insn.store_single and insn.reg_offset and pipelined:
                cycles = 1  # STR (register offset) pipelines only after an LDR
            if insn.branch is not None:
                if index == last and next_pc is not None:
                    taken = insn.always_taken or next_pc != insn.next_addr
                else:
                    taken = insn.always_taken
                if taken:
                    cycles += self.refill(insn, next_pc)
                elif cls == "branch_taken":
                    cls = "branch_not_taken"
            if (t.address_stall and prev is not None and prev.producer
                    and insn.addr_regs & prev.dests):
                entry = tally["address_stall"]
                entry[0] += times
                entry[1] += times
                cycles_with_stall = cycles + 1
            else:
                cycles_with_stall = cycles
            entry = tally[cls]
            entry[0] += times
            entry[1] += cycles * times
            if per_insn is not None:
                entry = per_insn[insn]
                entry[0] += times
                entry[1] += cycles_with_stall * times
            prev = insn


def is_vector(insn):
    """A vector instruction (Helium/MVE or FP): a 32-bit encoding in the T32 coprocessor
    space, first halfword 0xEC00-0xEFFF or 0xFC00-0xFFFF (scripts/lib/insn_mix.py's rule: QEMU
    7.2 does not decode MVE, so the class is read from the encoding)."""
    first = insn.halfwords[0] if insn.halfwords else 0
    return insn.size == 4 and (0xEC00 <= first <= 0xEFFF or 0xFC00 <= first <= 0xFFFF)


def vector_instructions(sequence):
    """How many of a region's instructions are vector instructions (is_vector); the context
    blocks at both ends are not the region's."""
    return sum(1 for block in sequence[1:-1] for insn in block.insns if is_vector(insn))


def new_tally():
    return collections.defaultdict(lambda: [0, 0])


def instructions_of(tally):
    return sum(v[0] for k, v in tally.items() if k != "address_stall")


def cycles_of(tally):
    return sum(v[1] for v in tally.values())


def estimate_sequence(estimator, sequence, tally, per_insn=None):
    """`sequence`: the blocks executed, in order, with one block of context at each end
    (the one before the region and the one after it), which are not counted."""
    triples = collections.Counter(zip(sequence, sequence[1:], sequence[2:]))
    for (before, block, after), times in triples.items():
        previous = before.insns[-1] if before is not None else None
        estimator.block(block, previous, after.pc if after is not None else None, tally, times,
                        per_insn)


# ---------------------------------------------------------------------------------------------
# QEMU's log: which blocks ran, and which of them inside a region.
# ---------------------------------------------------------------------------------------------


class Markers:
    """The address ranges of the two marker functions."""

    def __init__(self, begin, begin_size, end, end_size):
        self.begin = set(range(begin, begin + max(begin_size, 2), 2))
        self.end = set(range(end, end + max(end_size, 2), 2))


class LogReader:
    """Reads QEMU's `-d in_asm,exec,nochain` log, line by line, and collects the blocks each
    region executed. QEMU 7.2 prints:
      IN: / 0x...: lines      a block it translated (before its first execution)
      Trace 0: 0x.. [cs_base/pc/flags/cflags]
                              a block about to run (pc, flags and cflags identify it)
      Stopped execution of TB chain before 0x.. [pc]
                              ... that block did not run after all (icount budget, interrupt)
      cpu_io_recompile: rewound execution of TB to PC
                              ... that block ran only up to PC (an I/O access, -icount)
    """

    def __init__(self, markers, estimator):
        self.markers = markers
        self.estimator = estimator
        self.blocks = {}  # "pc/flags/cflags" -> Block
        self.translated = {}  # pc -> Block just translated, not yet seen running
        self.reading_block = None
        self.pending = None  # (key, pc) of the last Trace: it ran unless QEMU says otherwise
        self.rewound_to = None
        self.active = False
        self.sequence = None
        self.regions = []  # per region, in order: the block sequence (with context)
        self.other_lines = []

    def feed(self, line):
        head = line[:1]
        if self.reading_block is not None:
            if head == "0":
                self.reading_block.append(parse_in_asm_line(line))
                return
            if self.reading_block:
                block = Block(merge_undecoded(self.reading_block))
                self.estimator.learn(block)
                self.translated[block.pc] = block
            self.reading_block = None
        if head == "T" and line.startswith("Trace "):
            self._commit()
            open_bracket = line.index("[")
            key = line[open_bracket + 1:open_bracket + 36]  # cs_base/pc/flags/cflags
            pc = int(key[9:17], 16)
            block = self.translated.pop(pc, None)
            if block is not None:
                self.blocks[key] = block
            self.pending = (key, pc)
            self.rewound_to = None
        elif head == "I" and line.startswith("IN:"):
            self.reading_block = []
        elif head == "S" and line.startswith("Stopped execution of TB chain"):
            stopped = int(line[line.index("[") + 1:line.index("]")], 16)
            if self.pending is None or stopped != self.pending[1]:
                raise ValueError(f"QEMU stopped a block that is not the last one: {line!r}")
            self.pending = None
        elif head == "c" and line.startswith("cpu_io_recompile"):
            self.rewound_to = int(line.split()[-1], 16)
        elif line.strip() and not line.startswith("----"):
            self.other_lines.append(line.rstrip("\n"))

    def finish(self):
        self._commit()
        if self.active:
            raise ValueError("the log ends inside a region (no cpu_region_end)")

    def _commit(self):
        """The pending block ran (completely, or up to rewound_to)."""
        if self.pending is None:
            return
        key, pc = self.pending
        self.pending = None
        if pc in self.markers.begin:
            if not self.active:
                self.active = True
                self.sequence = [self._block(key)]
            return
        if pc in self.markers.end:
            if self.active:
                self.sequence.append(self._block(key))
                self.regions.append(self.sequence)
                self.active = False
                self.sequence = None
            return
        if self.active:
            block = self._block(key)
            if self.rewound_to is not None:
                block = block.prefix(self.rewound_to)
                if block is None:
                    return
            self.sequence.append(block)

    def _block(self, key):
        block = self.blocks.get(key)
        if block is None:
            raise ValueError(f"a block ran that QEMU's log never showed translated: {key}")
        return block


# ---------------------------------------------------------------------------------------------
# Running the firmware.
# ---------------------------------------------------------------------------------------------


def marker_addresses(elf, nm, begin_name, end_name):
    output = subprocess.run([nm, "-S", elf], check=True, capture_output=True, text=True).stdout
    symbols = {}
    for line in output.splitlines():
        fields = line.split()
        if len(fields) == 4:
            symbols[fields[3]] = (int(fields[0], 16) & ~1, int(fields[1], 16))
    for name in (begin_name, end_name):
        if name not in symbols:
            sys.exit(f"cpi_estimate: {elf} has no function {name} (the region marker)")
    return Markers(*symbols[begin_name], *symbols[end_name])


def run_qemu(args, markers, estimator):
    """Runs the firmware; returns (LogReader, firmware output, exit status)."""
    reader = LogReader(markers, estimator)
    with tempfile.TemporaryDirectory(prefix="cpi_estimate.") as tmp:
        # Without symbols, QEMU's exec lines stay short (it prints the function's name).
        stripped = os.path.join(tmp, "firmware.elf")
        subprocess.run([args.objcopy, "--strip-all", args.elf, stripped], check=True)
        output_path = os.path.join(tmp, "output.txt")
        command = [args.qemu, "-M", args.machine, "-nographic", "-monitor", "none", "-serial",
                   "none", "-semihosting-config", "enable=on,target=native", "-icount",
                   f"shift={args.icount_shift},align=off,sleep=off", "-d",
                   "in_asm,exec,nochain", "-kernel", stripped]
        with open(output_path, "w") as output_file:
            # QEMU logs to its standard error when no -D file is given: read it as it comes.
            process = subprocess.Popen(command, stdout=output_file, stderr=subprocess.PIPE,
                                       text=True, errors="replace", bufsize=1 << 20,
                                       cwd=os.path.dirname(os.path.abspath(args.elf)))
            for line in process.stderr:
                reader.feed(line)
            status = process.wait()
        with open(output_path) as output_file:
            output = output_file.read()
    reader.finish()
    return reader, output, status


# ---------------------------------------------------------------------------------------------
# The report.
# ---------------------------------------------------------------------------------------------

CALIBRATION = "empty"  # a region with nothing in it: the check's calibration


def region_names(output):
    return [(m.group(1), int(m.group(2)))
            for m in re.finditer(r"^CPI region=(\S+) instructions=([0-9]+)", output, re.M)]


def report(reader, estimator, named, timing, check, top=0):
    """Prints the report (with the `top` costliest instructions of each region); returns
    False when --check-icount fails."""
    if not named:
        print("cpi_estimate: the firmware printed no `CPI region=NAME instructions=N` line",
              file=sys.stderr)
        return False
    if len(named) != len(reader.regions):
        print(f"cpi_estimate: the firmware printed {len(named)} region lines, the log shows "
              f"{len(reader.regions)} regions", file=sys.stderr)
        return False
    runs = collections.OrderedDict()
    per_insn = collections.defaultdict(new_tally)
    vectors = collections.Counter()
    checks = []
    for (name, firmware), sequence in zip(named, reader.regions):
        vectors[name] += vector_instructions(sequence)
        tally = new_tally()
        estimate_sequence(estimator, sequence, tally, per_insn[name] if top else None)
        runs.setdefault(name, []).append(tally)
        checks.append((name, len(runs[name]), instructions_of(tally), firmware))
    print(f"DEMO cpi model=cortex-m4-trm {timing.describe()} "
          "(an estimate from the TRM's instruction timings: docs/cycle_estimate.md)")
    for name, tallies in runs.items():
        if name == CALIBRATION:
            continue
        total = new_tally()
        for tally in tallies:
            for cls, (count, cycles) in tally.items():
                total[cls][0] += count
                total[cls][1] += cycles
        n = len(tallies)
        instructions, cycles = instructions_of(total), cycles_of(total)
        print(f"DEMO cpi region={name} instructions={round(instructions / n)} "
              f"estimated_cycles={round(cycles / n)} cpi={cycles / instructions:.4f} runs={n} "
              f"total_instructions={instructions} total_cycles={cycles} "
              f"vector={round(vectors[name] / n)}")
        for cls in CLASSES:
            if cls in total:
                count, cls_cycles = total[cls]
                print(f"DEMO cpi_class region={name} class={cls} instructions={round(count / n)} "
                      f"cycles={round(cls_cycles / n)} "
                      f"share_of_cycles={100 * cls_cycles / cycles:.1f}%")
        costliest = sorted(per_insn[name].items(), key=lambda item: -item[1][1])[:top]
        for rank, (insn, (count, insn_cycles)) in enumerate(costliest, 1):
            print(f"DEMO cpi_top region={name} rank={rank} address=0x{insn.addr:08x} "
                  f"class={insn.cls} executions={round(count / n)} "
                  f"cycles={round(insn_cycles / n)} insn=\"{insn.text}\"")
    # The firmware's counter is exact (cmake/board/mps2/board.cpp: each reading inverted
    # exactly, with the tick phase measured at start-up) and subtracts its own overhead,
    # measured once: each figure is the exact count plus one constant. (Before the phase was
    # measured, readings could be one off either way, and a spread of 2 was allowed.)
    differences = [firmware - tool for _, _, tool, firmware in checks]
    spread = max(differences) - min(differences)
    ok = spread == 0
    for (name, run, tool, firmware), difference in zip(checks, differences):
        print(f"DEMO cpi check region={name} run={run} tool_instructions={tool} "
              f"firmware_instructions={firmware} firmware_minus_tool={difference}")
    print(f"DEMO cpi check {'ok' if ok else 'FAILED'}: firmware_minus_tool from {min(differences)} "
          f"to {max(differences)} (the counter's constant overhead; allowed spread 0)")
    return ok or not check


def main(argv=None):
    parser = argparse.ArgumentParser(
        description="Estimated Cortex-M4 cycles of the regions of a firmware run in QEMU "
        "(docs/cycle_estimate.md).")
    parser.add_argument("elf", help="the Cortex-M4 firmware (with its symbols)")
    parser.add_argument("--qemu", default="qemu-system-arm")
    parser.add_argument("--machine", default="mps2-an386")
    parser.add_argument("--icount-shift", type=int, default=6)
    parser.add_argument("--objcopy", default="arm-none-eabi-objcopy")
    parser.add_argument("--nm", default="arm-none-eabi-nm")
    parser.add_argument("--begin", default="cpi_region_begin", help="the begin marker function")
    parser.add_argument("--end", default="cpi_region_end", help="the end marker function")
    parser.add_argument("--flash-wait-states", type=int, default=0,
                        help="extra cycles per non-sequential instruction fetch (each taken "
                        "branch); default 0: code runs from the flash cache (docs)")
    parser.add_argument("--div-cycles", type=int, default=7, help="SDIV/UDIV (TRM: 2 to 12)")
    parser.add_argument("--refill-direct", type=int, default=1)
    parser.add_argument("--refill-register", type=int, default=2)
    parser.add_argument("--refill-loaded", type=int, default=3)
    parser.add_argument("--it-cycles", type=int, default=1)
    parser.add_argument("--no-address-stall", action="store_true")
    parser.add_argument("--vldr-pipelined", action="store_true",
                        help="not a TRM rule: VLDR after a single load takes 1 cycle (GCC's "
                        "Cortex-M4 scheduling model); for sensitivity")
    parser.add_argument("--top", type=int, default=0, metavar="N",
                        help="also print each region's N costliest instructions")
    parser.add_argument("--check-icount", action="store_true",
                        help="exit 1 unless every region's count agrees with the firmware's "
                        "-icount counter")
    args = parser.parse_args(argv)

    timing = Timing(args.refill_direct, args.refill_register, args.refill_loaded,
                    args.div_cycles, args.it_cycles, args.flash_wait_states,
                    not args.no_address_stall, args.vldr_pipelined)
    estimator = Estimator(timing)
    markers = marker_addresses(args.elf, args.nm, args.begin, args.end)
    reader, output, status = run_qemu(args, markers, estimator)
    if status != 0:
        sys.stderr.write(output)
        sys.stderr.write("\n".join(reader.other_lines[-20:]) + "\n")
        print(f"cpi_estimate: the firmware failed (QEMU exit status {status})", file=sys.stderr)
        return 1
    ok = report(reader, estimator, region_names(output), timing, args.check_icount, args.top)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
