#!/usr/bin/python3
"""Draws the demo report's charts from the CSV files demo_report writes next to report.md.

    scripts/lib/plot_report.py DIR

reads   DIR/energy.csv  (per link: the device's energy, learning only and everything, and the
                         cloud's, head back (a) and whole model back (b))
        DIR/epochs.csv  (per epoch: test accuracy of all, old and new classes)
writes  DIR/energy.svg  (the cloud's energy per link as bars, the device's as lines; log scale)
        DIR/accuracy.svg (accuracy per epoch)

Needs matplotlib (Debian: python3-matplotlib); run it with /usr/bin/python3. The SVG files are
deterministic: a fixed hash salt for element ids and no date in the metadata.
"""

import csv
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402 (after the backend is chosen)

matplotlib.rcParams.update(
    {
        "svg.hashsalt": "microtl-demo-report",
        "svg.fonttype": "none",
        "font.size": 10,
        "axes.spines.top": False,
        "axes.spines.right": False,
    }
)
SVG_METADATA = {"Date": None, "Creator": None}


def read_rows(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def energy_chart(rows, out):
    labels = [r["label"] for r in rows]
    head = [float(r["cloud_head_mj"]) for r in rows]
    model = [float(r["cloud_model_mj"]) for r in rows]
    learning = float(rows[0]["device_learning_mj"])
    everything = float(rows[0]["device_everything_mj"])

    fig, ax = plt.subplots(figsize=(9, 4.8))
    x = range(len(rows))
    width = 0.38
    bars_a = ax.bar([i - width / 2 for i in x], head, width, color="#4c72b0",
                    label="cloud (a): samples up, head back")
    bars_b = ax.bar([i + width / 2 for i in x], model, width, color="#8fb0de",
                    label="cloud (b): samples up, whole model back (MicroTL)")
    ax.axhline(learning, color="#c44e52", linewidth=1.6,
               label=f"device, learning only: {learning:.3g} mJ")
    ax.axhline(everything, color="#c44e52", linewidth=1.6, linestyle="--",
               label=f"device, extraction + learning: {everything:.3g} mJ")
    for bars in (bars_a, bars_b):
        for bar in bars:
            value = bar.get_height()
            text = f"{value / 1000:,.3g} J" if value >= 1000 else f"{value:.3g} mJ"
            if value >= 1e5:
                text = f"{value / 1000:,.0f} J"
            ax.annotate(text, (bar.get_x() + bar.get_width() / 2, value), xytext=(0, 3),
                        textcoords="offset points", ha="center", va="bottom", fontsize=7,
                        rotation=90, bbox=dict(facecolor="white", edgecolor="none", pad=0.3))
    ax.set_yscale("log")
    ax.set_ylim(bottom=1)
    ax.set_ylabel("energy drawn by the device (mJ, log scale)")
    ax.set_xticks(list(x))
    ax.set_xticklabels(labels, rotation=15, ha="right")
    ax.set_title("Learning the new classes: on the device, or in the cloud over each link")
    ax.legend(loc="upper left", fontsize=8, frameon=False)
    ax.set_ylim(top=max(max(head), max(model)) * 300)
    fig.tight_layout()
    fig.savefig(out, format="svg", metadata=SVG_METADATA)
    plt.close(fig)


def accuracy_chart(rows, out):
    epochs = [int(r["epoch"]) for r in rows]
    fig, ax = plt.subplots(figsize=(7, 4))
    for key, label, style in (
        ("accuracy", "all 10 classes", dict(color="#333333", linewidth=2)),
        ("old_classes", "7 old classes", dict(color="#4c72b0")),
        ("new_classes", "3 new classes", dict(color="#dd8452")),
    ):
        ax.plot(epochs, [float(r[key]) for r in rows], marker="o", markersize=3, label=label,
                **style)
    ax.set_xlabel("epoch (0: the factory head, before learning)")
    ax.set_ylabel("test accuracy (%)")
    ax.set_ylim(0, 100)
    ax.set_xlim(min(epochs), max(epochs))
    ax.set_xticks(epochs[:: max(1, len(epochs) // 10)])
    ax.grid(axis="y", color="#dddddd", linewidth=0.6)
    ax.set_title("Accuracy per epoch (the host's bit-exact replay of the device's session)")
    ax.legend(loc="lower right", frameon=False)
    fig.tight_layout()
    fig.savefig(out, format="svg", metadata=SVG_METADATA)
    plt.close(fig)


def main(argv):
    if len(argv) != 2 or argv[1] in ("-h", "--help"):
        print(__doc__.strip())
        return 0 if len(argv) == 2 else 2
    directory = Path(argv[1])
    energy_chart(read_rows(directory / "energy.csv"), directory / "energy.svg")
    accuracy_chart(read_rows(directory / "epochs.csv"), directory / "accuracy.svg")
    print(f"wrote {directory / 'energy.svg'} and {directory / 'accuracy.svg'}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
