#!/usr/bin/env python3
"""Checks that README.md's demo figures equal those of the demo's report.

Reads README.md and examples/transfer_learning/REPORT.md (the copy scripts/demo writes
from build/demo/report.md) and compares every figure the README quotes from the demo: the
accuracy table, the device's work table, the energy table and the CPI estimates. When README.md
has the table of the Cortex-M4F's and Cortex-M55's instructions side by side, its M4F column is
checked against REPORT.md and its M55 column, the M55's vector count and its accuracy (the
M4F's) against examples/transfer_learning/REPORT-cortex-m55.md (`scripts/demo --target
cortex-m55`). Prints each mismatch as `README says X, REPORT.md says Y` and exits 1 when there
is one.

  check_readme_demo.py [--readme README.md] [--report examples/transfer_learning/REPORT.md]
                       [--report-m55 examples/transfer_learning/REPORT-cortex-m55.md]
"""
import argparse
import re
import sys


def table_rows(text, first_cell_pattern):
    """Cells of the Markdown table rows whose first cell matches the pattern."""
    rows = []
    for line in text.splitlines():
        if not line.startswith("|"):
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if re.search(first_cell_pattern, cells[0]):
            rows.append(cells)
    return rows


def one_row(text, pattern, where):
    rows = table_rows(text, pattern)
    if len(rows) != 1:
        raise SystemExit(f"{where}: expected one table row matching {pattern!r}, found {len(rows)}")
    return rows[0]


def numbers(cell):
    """The numbers in a cell, without thousands separators, as strings."""
    return re.findall(r"\d+(?:\.\d+)?", cell.replace(",", ""))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--readme", default="README.md")
    parser.add_argument("--report", default="examples/transfer_learning/REPORT.md")
    parser.add_argument("--report-m55", default="examples/transfer_learning/REPORT-cortex-m55.md")
    args = parser.parse_args()
    readme = open(args.readme, encoding="utf-8").read()
    report = open(args.report, encoding="utf-8").read()
    mismatches = []
    checked = 0

    def same(what, said, truth):
        nonlocal checked
        checked += 1
        if said != truth:
            mismatches.append(f"{what}: README says {said}, REPORT.md says {truth}")

    # Accuracy: README rows (old / new / all) against the report's bold summary rows.
    for readme_pattern, report_pattern in (("^7 old classes", r"^\*\*old classes\*\*"),
                                           ("^3 new classes", r"^\*\*new classes\*\*"),
                                           ("^all 10", r"^\*\*all\*\*")):
        said = one_row(readme, readme_pattern, "README")[1:4]
        truth = one_row(report, report_pattern, "REPORT.md")[2:5]
        for column, (s, t) in enumerate(zip(said, truth)):
            same(f"accuracy {readme_pattern} column {column + 1}", numbers(s), numbers(t))

    # The device's work.
    work = (("^int8 feature extraction, per sample", "^feature extraction, per sample"),
            ("^the head's learning over", "^the head's learning, "),
            ("^whole learning session", "^the whole learning session"))
    for readme_pattern, report_pattern in work:
        said = numbers(one_row(readme, readme_pattern, "README")[1])
        truth = numbers(one_row(report, report_pattern, "REPORT.md")[1])
        same(f"work {readme_pattern}", said, truth)
    epochs_said = re.search(r"\((\d+) epochs", one_row(readme, "^the head's learning over", "README")[0])
    epochs_truth = re.search(r"learning, (\d+) epochs", one_row(report, "^the head's learning, ", "REPORT.md")[0])
    same("epochs", epochs_said and epochs_said.group(1), epochs_truth and epochs_truth.group(1))

    # Memory.
    flash_ram = numbers(one_row(readme, r"^flash \(ELF text \+ data\) / static RAM", "README")[1])
    same("flash", flash_ram[:1], numbers(one_row(report, r"^flash \(ELF text \+ data\)", "REPORT.md")[1]))
    same("static RAM", flash_ram[1:2], numbers(one_row(report, r"^static RAM", "REPORT.md")[1]))
    arenas = numbers(one_row(readme, "^inference arena / training arena / feature cache", "README")[1])
    for i, pattern in enumerate((r"inference arena", r"training arena", r"feature cache")):
        same(pattern, arenas[i:i + 1],
             numbers(one_row(report, r"^of which: " + pattern, "REPORT.md")[1]))

    # Energy: the device's energies and each link's ratios (cloud (a)).
    device = re.search(r"learning only \(([\d.]+) mJ\) \| everything \(([\d.]+) mJ\)", readme)
    truth_learning = numbers(one_row(report, r"^learning only \(", "REPORT.md")[2])
    truth_everything = numbers(one_row(report, r"^everything \(", "REPORT.md")[2])
    same("device energy, learning only", device and [device.group(1)], truth_learning)
    same("device energy, everything", device and [device.group(2)], truth_everything)
    links = (("^BLE 1M PHY", "^BLE 1M PHY"), ("^BLE 2M PHY", "^BLE 2M PHY"),
             ("^BLE to a phone", "^BLE to a phone"), ("^IEEE 802.15.4", "^IEEE 802.15.4"),
             ("^LoRaWAN EU868 SF7", "^LoRaWAN EU868 SF7"), ("^LoRaWAN EU868 SF12", "^LoRaWAN EU868 SF12"),
             ("^NB-IoT", "^NB-IoT"))
    for readme_pattern, report_pattern in links:
        said = one_row(readme, readme_pattern, "README")
        energy_rows = table_rows(report, report_pattern)
        if not energy_rows:
            raise SystemExit(f"REPORT.md: no row for {report_pattern!r}")
        truth = energy_rows[0]  # the energy table comes first
        same(f"{readme_pattern} energy", numbers(said[1]), numbers(truth[1]))
        # The ratios: README rounds the report's 3 significant figures for small values.
        for column, (s, t) in enumerate(((said[3], truth[3]), (said[4], truth[4]))):
            a, b = float(numbers(s)[0]), float(numbers(t)[0])
            checked_ok = abs(a - b) <= 0.05 * max(abs(b), 1e-9) and (round(b, 2) == a or round(b, 1) == a or round(b) == a or a == b)
            if not checked_ok:
                mismatches.append(f"{readme_pattern} ratio {column + 1}: README says {s}, REPORT.md says {t}")
            checked += 1

    # The factory model's two paths (microtl's pretraining, Keras): float / int8 extractor, and
    # after learning old / new / all.
    for readme_pattern, report_pattern in (("^microtl", "^microtl"), ("^Keras", "^Keras")):
        rows = [r for r in table_rows(readme, readme_pattern) if len(r) == 3]
        if len(rows) != 1:
            raise SystemExit(f"README: expected one factory-model row matching {readme_pattern!r}")
        said = rows[0]
        truth = one_row(report, report_pattern, "REPORT.md")
        same(f"factory {readme_pattern} float / int8", numbers(said[1]),
             numbers(truth[1]) + numbers(truth[2]))
        same(f"factory {readme_pattern} after learning", numbers(said[2]), numbers(truth[4]))

    # Cycles per instruction.
    cpi = re.search(r"([\d.]+) for the extraction, ([\d.]+) for the head's learning", readme)
    truth_cpi = [numbers(one_row(report, r"^extraction \(int8", "REPORT.md")[1])[0],
                 numbers(one_row(report, r"^head learning \(float\)", "REPORT.md")[1])[0]]
    same("CPI", cpi and [cpi.group(1), cpi.group(2)], [f"{float(v):.2f}" for v in truth_cpi])

    # The Cortex-M4F and the Cortex-M55 side by side (scripts/demo --target cortex-m55).
    if table_rows(readme, r"^instructions \(QEMU\)"):
        try:
            m55 = open(args.report_m55, encoding="utf-8").read()
        except OSError:
            raise SystemExit(f"README quotes the Cortex-M55's demo figures, and {args.report_m55} "
                             "is missing: run scripts/demo --target cortex-m55")
        header = one_row(readme, r"^instructions \(QEMU\)", "README")
        same("M55 table's columns", [h.split(" ")[0] for h in header[1:3]],
             ["Cortex-M4F", "Cortex-M55"])
        for readme_pattern, report_pattern in (
                ("^feature extraction, per sample", "^feature extraction, per sample"),
                ("^head learning, ", "^the head's learning, "),
                ("^learning session", "^the whole learning session")):
            said = one_row(readme, readme_pattern, "README")
            for column, text in ((1, report), (2, m55)):
                same(f"M4F / M55 {readme_pattern} column {column}", numbers(said[column]),
                     numbers(one_row(text, report_pattern, "report")[1]))
        said = one_row(readme, r"^flash / static RAM", "README")
        for column, text in ((1, report), (2, m55)):
            same(f"M4F / M55 flash / static RAM column {column}", numbers(said[column]),
                 numbers(one_row(text, r"^flash \(ELF text \+ data\)", "report")[1])
                 + numbers(one_row(text, r"^static RAM", "report")[1]))
        # The M55's vector instructions in the extraction, and its cycle range.
        vector = re.search(r"On the M55,\s+([\d,]+)\s+of\s+the\s+extraction's\s+([\d,]+)\s+"
                           r"instructions\s+per\s+sample.*?\s([\d,]+)\s+to\s+([\d,]+)\s+cycles",
                           readme, re.S)
        row = one_row(m55, r"^extraction, one sample", "REPORT-cortex-m55.md")
        same("M55 vector / instructions / cycles",
             vector and [n for group in vector.groups() for n in numbers(group)],
             numbers(row[2]) + numbers(row[1]) + numbers(row[4]))
        # The same accuracy on both cores (README says so): the bold summary rows.
        for pattern in (r"^\*\*old classes\*\*", r"^\*\*new classes\*\*", r"^\*\*all\*\*"):
            same(f"M55 accuracy {pattern}", one_row(m55, pattern, "REPORT-cortex-m55.md")[2:5],
                 one_row(report, pattern, "REPORT.md")[2:5])

    for line in mismatches:
        print(line)
    print(f"{checked} figures checked, {len(mismatches)} differ")
    return 1 if mismatches else 0


if __name__ == "__main__":
    sys.exit(main())
