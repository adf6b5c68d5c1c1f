"""Unit tests of scripts/lib/cpi_estimate.py: the classifier, the Cortex-M4 timings applied to
known instruction sequences (golden cycles worked out by hand from the TRM's tables, below), and
the reading of QEMU's log (blocks that did not run, blocks rewound by an I/O access).

    python3 -m unittest discover -s tests/cpi      (CTest runs it: cpi_estimate_unit)

The timings (docs/cycle_estimate.md): Arm Cortex-M4 TRM (DDI 0439B), Table 3-1 (processor
instructions) with section 3.3.2 (load/store timings), and Table 7-1 (FPU instructions).
"""

import contextlib
import io
import os
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "scripts", "lib"))

import cpi_estimate as cpi  # noqa: E402


def insn(text, addr=0x1000):
    """An instruction from its assembly text; 32-bit when the mnemonic says .w or it is not a
    16-bit form here (the size only matters for the alignment rule and fall-through)."""
    mnemonic, _, ops = text.partition(" ")
    return cpi.Insn(addr, 4, mnemonic, ops.strip())


def read_log(name, timing=None):
    estimator = cpi.Estimator(timing or cpi.Timing())
    # The canned log's markers: cpi_region_begin at 0x100, cpi_region_end at 0x200, 4 bytes.
    reader = cpi.LogReader(cpi.Markers(0x100, 4, 0x200, 4), estimator)
    with open(os.path.join(HERE, "data", name)) as log:
        for line in log:
            reader.feed(line)
    reader.finish()
    return reader, estimator


def estimate(reader, estimator, region):
    tally = cpi.new_tally()
    cpi.estimate_sequence(estimator, reader.regions[region], tally)
    return tally


class Mnemonics(unittest.TestCase):
    def test_conditions_flags_and_widths_are_stripped(self):
        cases = {
            "orrsne.w": ("orr", True),  # flag-setting and conditional (IT block), 32-bit
            "bls": ("b", True),  # B<cond>, not BL + S
            "bleq": ("bl", True),
            "bl": ("bl", False),
            "bics": ("bic", False),  # not B + ICS
            "lsls": ("lsl", False),  # not LS + LS
            "movs": ("mov", False),  # not MO + VS
            "mvnsne.w": ("mvn", True),
            "teqeq.w": ("teq", True),
            "ldrhs": ("ldr", True),  # LDR<cs>, loads have no S form
            "vmovle.f32": ("vmov", True),
            "vcvt.f32.s32": ("vcvt", False),
            "vmls.f32": ("vmls", False),  # VMLS itself, not VML + S
            "ittet": ("it", False),
        }
        for raw, expected in cases.items():
            with self.subTest(raw=raw):
                self.assertEqual(cpi.split_mnemonic(raw), expected)

    def test_an_unknown_mnemonic_is_an_error(self):
        with self.assertRaises(ValueError):
            cpi.split_mnemonic("vrintz.f32")
        # ... which an instruction turns into a class of its own, shown in the report.
        self.assertEqual((insn("vrintz.f32 s0, s1").cls, insn("vrintz.f32 s0, s1").cycles),
                         ("unknown", 1))


class Classes(unittest.TestCase):
    """Each instruction's class and base cycles (before the pipelining and branch rules)."""

    def test_table_values(self):
        cases = [
            # text                                   class            cycles  (TRM row)
            ("adds.w r1, r1, #8", "alu", 1),  # Add: 1
            ("sxtb16 fp, ip", "dsp", 1),  # Unpack/extend (DSP): 1
            ("smlad r3, fp, sb, r3", "dsp", 1),  # Dual multiply accumulate: 1
            ("smull r0, r1, r2, r3", "mul", 1),  # Long signed multiply: 1
            ("mla r0, r1, r2, r0", "mul", 1),  # Multiply accumulate: 1
            ("ldr.w ip, [r5, #0x48]", "ldr", 2),  # Load word: 2
            ("ldrsb.w r0, [r1, #3]", "ldr", 2),  # Load signed byte: 2
            ("str r3, [r0], #4", "str", 1),  # STR Rx,[Ry,#imm] always 1 (3.3.2)
            ("str.w r3, [r2, r1, lsl #2]", "str", 2),  # Store word, register offset: 2
            ("ldrd r2, r3, [r0, #8]", "ldrd_strd", 3),  # Load double: 1 + N, N = 2
            ("push.w {r4, r5, r6, r7, r8, sb, sl, fp, lr}", "ldm_stm", 10),  # 1 + N, N = 9
            ("ldm r6!, {r0, r1, r2, r3}", "ldm_stm", 5),  # 1 + N
            ("pop {r4, r5, pc}", "ldm_pop_pc", 4),  # 1 + N (+ P when it runs)
            ("vldr s5, [r2]", "vldr_vstr", 2),  # Load single float: 2
            ("vstr d7, [sp, #0x38]", "vldr_vstr", 3),  # Store single double: 3
            ("vpush {s16, s17, s18}", "vldm_vstm", 4),  # Push floats: 1 + N
            ("vpop {d8, d9}", "vldm_vstm", 5),  # Pop doubles: 1 + 2N
            ("vldmia r3!, {s6}", "vldm_vstm", 2),  # Load multiple floats: 1 + N
            ("vadd.f32 s15, s15, s13", "fp_arith", 1),  # Add: 1
            ("vmul.f32 s0, s1, s2", "fp_arith", 1),  # Multiply: 1
            ("vcvt.s32.f32 s13, s15", "fp_arith", 1),  # Convert: 1
            ("vmov.f32 s14, #5.000000e-01", "fp_arith", 1),  # Move immediate: 1
            ("vfma.f32 s15, s4, s5", "fp_mac", 3),  # Fused multiply accumulate: 3
            ("vmla.f32 s15, s4, s5", "fp_mac", 3),  # Multiply accumulate: 3
            ("vdiv.f32 s15, s12, s13", "fp_divsqrt", 14),  # Divide: 14
            ("vsqrt.f32 s0, s1", "fp_divsqrt", 14),  # Square root: 14
            ("vmov r2, s13", "fp_core_move", 2),  # One float to a core register: 2
            ("vmrs apsr_nzcv, fpscr", "fp_core_move", 1),  # Status to core: 1
            ("bne.w #0x1000", "branch_taken", 1),  # 1 (+ P when taken)
            ("tbh [pc, r3, lsl #1]", "branch_taken", 3),  # Table branch: 2 load + 1 add (+ P)
            ("pld [r1, #0x40]", "other", 1),
        ]
        for text, cls, cycles in cases:
            with self.subTest(text=text):
                i = insn(text)
                self.assertEqual((i.cls, i.cycles), (cls, cycles))

    def test_division_and_it_take_their_stated_parameters(self):
        tally = cpi.new_tally()
        block = cpi.Block([insn("sdiv r0, r1, r2", 0x1000), insn("ite eq", 0x1004)])
        cpi.Estimator(cpi.Timing(div_cycles=7, it_cycles=1)).block(block, None, None, tally)
        self.assertEqual(tally["div"], [1, 7])  # SDIV: 2 to 12, the stated mean 7
        self.assertEqual(tally["it"], [1, 1])

    def test_branch_kinds(self):
        self.assertEqual(insn("b.w #0x1000").branch, "direct")
        self.assertTrue(insn("b.w #0x1000").always_taken)
        self.assertFalse(insn("bne.w #0x1000").always_taken)
        self.assertFalse(insn("cbz r0, #0x1000").always_taken)
        self.assertEqual(insn("bx lr").branch, "register")
        self.assertFalse(insn("bxeq lr").always_taken)  # in an IT block
        self.assertEqual(insn("mov pc, lr").branch, "register")
        self.assertEqual(insn("pop.w {r4, r5, r6, r7, r8, pc}").branch, "loaded")
        self.assertEqual(insn("ldr pc, [sp], #8").branch, "loaded")
        self.assertEqual(insn("tbb [pc, r3]").branch, "loaded")
        self.assertIsNone(insn("push {r4, lr}").branch)

    def test_qemu_in_asm_lines(self):
        short = cpi.parse_in_asm_line("0x0000588c:  481a       ldr      r0, [pc, #0x68]\n")
        self.assertEqual((short.addr, short.size, short.cls), (0x588C, 2, "ldr"))
        wide = cpi.parse_in_asm_line("0x000058ce:  f3bf 8f4f  dsb      sy\n")
        self.assertEqual((wide.addr, wide.size, wide.cls), (0x58CE, 4, "other"))
        long_mnemonic = cpi.parse_in_asm_line(
            "0x00000ea0:  eee2 7a22  vcvt.f32.s32 s13, s13\n")
        self.assertEqual((long_mnemonic.size, long_mnemonic.cls), (4, "fp_arith"))


    def test_an_undecoded_32_bit_instruction_is_one_instruction(self):
        # A Cortex-M55 LE, as QEMU 7.2 logs it: two lines, one instruction.
        lines = ["0x700011f2:  f00f       .byte    0x0f, 0xf0\n",
                 "0x700011f4:  c00b       stm      r0!, {r0, r1, r3}\n",
                 "0x700011f6:  3a01       subs     r2, #1\n"]
        insns = cpi.merge_undecoded([cpi.parse_in_asm_line(line) for line in lines])
        self.assertEqual([(i.addr, i.size) for i in insns], [(0x700011f2, 4), (0x700011f6, 2)])
        self.assertEqual(insns[0].cls, "unknown")
        # A 16-bit halfword that is no prefix stays an instruction of its own.
        lone = [cpi.parse_in_asm_line("0x00000010:  bf00       .byte    0x00, 0xbf\n"),
                cpi.parse_in_asm_line("0x00000012:  bf00       .byte    0x00, 0xbf\n")]
        self.assertEqual(len(cpi.merge_undecoded(lone)), 2)
        # Misaligned by capstone (Cortex-M55, Helium): VCTP r6, a VMRS, VCTP r1, logged as five
        # lines, the middle one a 32-bit 'ands.w' made of the VMRS's second halfword and the
        # second VCTP's first. Three instructions.
        lines = ["0x70000d4c:  f006       .byte    0x06, 0xf0\n",
                 "0x70000d4e:  e801       .byte    0x01, 0xe8\n",
                 "0x70000d50:  eefd       .byte    0xfd, 0xee\n",
                 "0x70000d52:  ea10 f001  ands.w   r0, r0, r1, lsl #28\n",
                 "0x70000d56:  e801       .byte    0x01, 0xe8\n"]
        insns = cpi.merge_undecoded([cpi.parse_in_asm_line(line) for line in lines])
        self.assertEqual([(i.addr, i.size) for i in insns],
                         [(0x70000d4c, 4), (0x70000d50, 4), (0x70000d54, 4)])
        # The vector count (scripts/demo --target cortex-m55): the VMRS is in the coprocessor
        # space, VCTP (0xF0xx, a predicate set-up) is not; nor is the LE above.
        self.assertEqual([cpi.is_vector(i) for i in insns], [False, True, False])
        self.assertFalse(cpi.is_vector(cpi.merge_undecoded(
            [cpi.parse_in_asm_line(line) for line in
             ["0x700011f2:  f00f       .byte    0x0f, 0xf0\n",
              "0x700011f4:  c00b       stm      r0!, {r0, r1, r3}\n"]])[0]))


class Sequences(unittest.TestCase):
    """Known sequences of blocks, cycles worked out by hand."""

    def test_loop_and_tail(self):
        # data/two_regions.log, region 1: the begin marker (BX LR), then the loop block
        #   1000 ldr.w r3,[r1],#4      2      (after BX: not pipelined)
        #   1004 ldr.w r4,[r2],#4      1      (LDR after LDR, address r2 not loaded by it)
        #   1008 smlad r0,r3,r4,r0     1
        #   100c subs r5,#1            1
        #   100e bne 1000              1 + P  taken: P = 1 (B, target word aligned)
        # three times (a fourth start QEMU stopped does not count): taken, taken, then not
        # taken (1): 7 + 7 + 6 = 20 cycles, 15 instructions. Then
        #   1010 adds r1,#8            1
        #   1012 ldr r0,[r1]           2 + 1  (not pipelined; address from the ADDS: stall)
        #   1014 vldr s0,[r1,#4]       2
        #   1018 vfma.f32 s1,s0,s0     3
        #   101c vmov r0,s1            2
        #   1020 bl 200                1 + P  P = 1 (target word aligned, 16-bit)
        # 13 cycles, 6 instructions. Region: 21 instructions, 33 cycles.
        reader, estimator = read_log("two_regions.log")
        self.assertEqual(len(reader.regions), 2)
        tally = estimate(reader, estimator, 0)
        self.assertEqual(cpi.instructions_of(tally), 21)
        self.assertEqual(cpi.cycles_of(tally), 33)
        expected = {
            "ldr": [4, 8], "ldr_pipelined": [3, 3], "dsp": [3, 3], "alu": [4, 4],
            "branch_taken": [3, 6], "branch_not_taken": [1, 1], "vldr_vstr": [1, 2],
            "fp_mac": [1, 3], "fp_core_move": [1, 2], "address_stall": [1, 1],
        }
        self.assertEqual(dict(tally), expected)

    def test_parameters_change_what_they_should(self):
        reader, estimator = read_log("two_regions.log", cpi.Timing(flash_wait_states=1))
        # Three taken branches, one wait state each: 33 + 3.
        self.assertEqual(cpi.cycles_of(estimate(reader, estimator, 0)), 36)
        reader, estimator = read_log("two_regions.log", cpi.Timing(address_stall=False))
        self.assertEqual(cpi.cycles_of(estimate(reader, estimator, 0)), 32)
        reader, estimator = read_log("two_regions.log", cpi.Timing(vldr_pipelined=True))
        # The VLDR right after the LDR: 1 instead of 2.
        self.assertEqual(cpi.cycles_of(estimate(reader, estimator, 0)), 32)

    def test_a_block_rewound_by_an_io_access_counts_what_ran(self):
        # Region 2: QEMU rewound the block at 1028 to 102a (the LDR is an I/O access under
        # -icount): only the MOVS ran, then the LDR alone, then the rest.
        #   1028 movs r0,#1 1;  102a ldr r1,[r2] 2;  102c adds r1,#1 1;  102e bl 200 1 + 1
        reader, estimator = read_log("two_regions.log")
        tally = estimate(reader, estimator, 1)
        self.assertEqual(cpi.instructions_of(tally), 4)
        self.assertEqual(cpi.cycles_of(tally), 6)

    def test_pipeline_refill_by_kind_and_alignment(self):
        estimator = cpi.Estimator(cpi.Timing())
        # A 32-bit instruction at a halfword address (0x2002) and a 16-bit one at 0x2010.
        estimator.learn(cpi.Block([insn("ldr.w r0, [r1]", 0x2002)]))
        estimator.learn(cpi.Block([cpi.Insn(0x2010, 2, "movs", "r0, #0")]))
        cases = [
            # instruction, next address, cycles
            ("b.w #0x2010", 0x2010, 2),  # 1 + P, P = 1
            ("b.w #0x2002", 0x2002, 3),  # P = 1 + 1: 32-bit target across two words
            ("bx lr", 0x2010, 3),  # P = 2: target from a register
            ("pop {r4, r5, pc}", 0x2010, 7),  # 1 + N + P, N = 3, P = 3: loaded PC
            ("pop {r4, r5, pc}", 0x2002, 7),  # P at most 3
            ("tbh [pc, r3, lsl #1]", 0x2010, 6),  # 3 + P, P = 3: "at least six cycles"
            ("cbz r0, #0x2010", 0x1002, 1),  # not taken: falls through to 0x1002
            ("bne #0x2010", 0x1002, 1),
        ]
        for text, next_pc, cycles in cases:
            with self.subTest(text=text, next_pc=hex(next_pc)):
                i = insn(text, 0x1000)
                if text.startswith(("cbz", "bne")):
                    i.size = 2
                tally = cpi.new_tally()
                estimator.block(cpi.Block([i]), None, next_pc, tally)
                self.assertEqual(cpi.cycles_of(tally), cycles)

    def test_store_pipelines_only_after_a_load(self):
        estimator = cpi.Estimator(cpi.Timing())
        after_load = cpi.Block([insn("ldr r0, [r1]", 0x1000),
                                insn("str.w r3, [r2, r4, lsl #2]", 0x1004)])
        after_alu = cpi.Block([insn("adds r0, #1", 0x1000),
                               insn("str.w r3, [r2, r4, lsl #2]", 0x1004)])
        load_after_store = cpi.Block([insn("str r3, [r2]", 0x1000), insn("ldr r0, [r1]", 0x1004)])
        for block, cycles in ((after_load, 3), (after_alu, 3), (load_after_store, 3)):
            tally = cpi.new_tally()
            estimator.block(block, None, None, tally)
            with self.subTest(block=[i.text for i in block.insns]):
                self.assertEqual(cpi.cycles_of(tally), cycles)
        # ldr 2 + str (register offset, after an LDR) 1; adds 1 + str 2; str (imm) 1 + ldr 2.


class Check(unittest.TestCase):
    """--check-icount: the firmware's figures are the tool's counts plus one constant (the
    counter is exact)."""

    def run_report(self, named):
        reader, estimator = read_log("two_regions.log")
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            ok = cpi.report(reader, estimator, named, cpi.Timing(), check=True)
        return ok, out.getvalue()

    def test_counts_that_agree_pass(self):
        ok, out = self.run_report([("loop", 21 + 15), ("io", 4 + 15)])
        self.assertTrue(ok)
        self.assertIn("DEMO cpi region=loop instructions=21 estimated_cycles=33 cpi=1.5714", out)
        self.assertIn("DEMO cpi_class region=loop class=fp_mac instructions=1 cycles=3", out)

    def test_a_count_off_by_one_fails(self):
        ok, out = self.run_report([("loop", 21 + 15), ("io", 4 + 16)])
        self.assertFalse(ok)
        self.assertIn("DEMO cpi check FAILED", out)


if __name__ == "__main__":
    unittest.main()
