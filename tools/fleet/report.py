"""The fleet report: Markdown with the figures of fleet.json and an SVG chart of the accuracy
per round (drawn here: no plotting package in the fleet's environment)."""


def svg_chart(path, rounds, fleet, alone, cloud, factory):
    """Accuracy (all classes) per round: the fleet's line, and the baselines as levels."""
    w, h, left, right, top, bottom = 640, 360, 56, 170, 20, 44
    xs = list(range(0, len(rounds) + 1))
    values = [factory] + fleet
    lo = max(0.0, min(values + [alone, cloud]) - 5)
    hi = min(100.0, max(values + [alone, cloud]) + 5)

    def x(i):
        return left + (w - left - right) * i / max(1, len(xs) - 1)

    def y(v):
        return top + (h - top - bottom) * (hi - v) / (hi - lo)

    out = ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif" '
           'font-size="12">' % (w, h), '<rect width="100%" height="100%" fill="white"/>']
    for t in range(int(lo) // 5 * 5 + 5, int(hi) + 1, 5):
        out.append('<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" stroke="#ddd"/>'
                   % (left, w - right, y(t), y(t)))
        out.append('<text x="%d" y="%.1f" text-anchor="end">%d %%</text>' % (left - 6, y(t) + 4, t))
    for i in xs:
        out.append('<text x="%.1f" y="%d" text-anchor="middle">%d</text>' % (x(i), h - bottom + 16, i))
    out.append('<text x="%.1f" y="%d" text-anchor="middle">round</text>'
               % ((left + w - right) / 2, h - 6))
    for value, colour, label in ((alone, "#d62728", "one device alone"),
                                 (cloud, "#2ca02c", "cloud, all samples")):
        out.append('<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" stroke="%s" stroke-dasharray="6 4"/>'
                   % (left, w - right, y(value), y(value), colour))
        out.append('<text x="%d" y="%.1f" fill="%s">%s %.1f %%</text>'
                   % (w - right + 6, y(value) + 4, colour, label, value))
    points = " ".join("%.1f,%.1f" % (x(i), y(v)) for i, v in enumerate(values))
    out.append('<polyline points="%s" fill="none" stroke="#1f77b4" stroke-width="2"/>' % points)
    for i, v in enumerate(values):
        out.append('<circle cx="%.1f" cy="%.1f" r="3" fill="#1f77b4"/>' % (x(i), y(v)))
    out.append('<text x="%d" y="%.1f" fill="#1f77b4">fleet %.1f %%</text>'
               % (w - right + 6, y(values[-1]) - 8, values[-1]))
    out.append("</svg>")
    path.write_text("\n".join(out) + "\n")


def write(result, args, path):
    base, honest = result["baselines"], result["honest"]
    rounds = honest["rounds_detail"]
    model = honest["model"]
    fleet = [r["accuracy"]["accuracy"] for r in rounds]
    chart = path.with_suffix(".svg")
    svg_chart(chart, rounds, fleet, base["alone_mean"]["accuracy"], base["cloud"]["accuracy"],
              base["factory"]["accuracy"])
    L = []
    L.append("# Fleet learning on Flower: report\n")
    L.append("Produced by `%s`; every figure below comes from that run.\n"
             % getattr(args, "command", "scripts/fleet"))
    L.append("%d devices (%d of them the Cortex-M4F firmware in QEMU), %d rounds of FedAvg "
             "(Flower %s), %d samples per device with a skewed class mix, seed %d. Each round "
             "a device installs the server's model, learns from its own samples for at most %d "
             "epochs, and sends what it learned: the head's %d values as a %d-byte parameter "
             "blob.\n" % (honest["devices"], honest["qemu_devices"], honest["rounds"],
                          getattr(args, "flower_version", "?"), honest["samples_per_device"],
                          honest["seed"], model["local_epochs"], model["values"],
                          model["blob_bytes"]))
    L.append("## Accuracy on the common test set (1,000 images, 100 per class)\n")
    L.append("| | all | old classes | new classes |\n|---|---:|---:|---:|")
    f = base["factory"]
    L.append("| factory model (before learning) | %.2f %% | %.2f %% | %.2f %% |"
             % (f["accuracy"], f["old_classes"], f["new_classes"]))
    a = base["alone_mean"]
    L.append("| one device learning alone (mean of %d; %d epochs) | %.2f %% | %.2f %% | %.2f %% |"
             % (len(base["alone"]), base["epochs"], a["accuracy"], a["old_classes"],
                a["new_classes"]))
    for r in rounds:
        x = r["accuracy"]
        L.append("| fleet after round %d | %.2f %% | %.2f %% | %.2f %% |"
                 % (r["round"], x["accuracy"], x["old_classes"], x["new_classes"]))
    c = base["cloud"]
    L.append("| cloud: all %d samples centrally (%d epochs) | %.2f %% | %.2f %% | %.2f %% |\n"
             % (base["cloud_samples"], base["epochs"], c["accuracy"], c["old_classes"],
                c["new_classes"]))
    L.append("![accuracy per round](%s)\n" % chart.name)
    L.append("## Bytes over the air, per device and round\n")
    raw = honest["samples_per_device"] * 785
    per_round = 2 * model["blob_bytes"]
    L.append("| | bytes |\n|---|---:|")
    L.append("| the server's model down + the device's update up | %s |" % format(per_round, ","))
    L.append("| all %d rounds | %s |" % (honest["rounds"], format(per_round * honest["rounds"], ",")))
    L.append("| uploading the device's raw samples once (784 pixels + a label each) | %s |\n"
             % format(raw, ","))
    L.append("Timing: the fleet's %d rounds took %.0f s on this machine (%d workers), the "
             "baselines included the whole run %.0f s.\n"
             % (honest["rounds"], honest["fleet_seconds"], args.workers, result["seconds"] or 0))
    path.write_text("\n".join(L) + "\n")
