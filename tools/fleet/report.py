"""The fleet report: Markdown with the figures of fleet.json and an SVG chart of the accuracy
per round (drawn here: no plotting package in the fleet's environment). The energy comes from
the demo's model (host/energy_model.hpp and report.cpp's constants), through demo_report's
--fleet-up-bytes mode."""
import subprocess

LINKS = {"ble1m": "BLE 1M PHY, DLE", "ble2m": "BLE 2M PHY, DLE",
         "ble_phone": "BLE to a phone, no DLE", "thread": "IEEE 802.15.4 / Thread, one hop",
         "lora_sf7": "LoRaWAN EU868 SF7", "lora_sf12": "LoRaWAN EU868 SF12",
         "nbiot": "NB-IoT (nRF9160)"}


def raw_bytes(samples):
    return samples * 785  # 784 pixels and a label each


def qemu_instructions(result):
    """The QEMU device's instructions: its first round's extraction, and the mean of its
    rounds' learning."""
    for d in result["honest"]["devices_detail"]:
        if d["kind"] == "qemu":
            learn = [int(f["learn"]["training_instructions"]) for f in d["fits"]]
            return int(d["fits"][0]["learn"]["extraction_instructions"]), sum(learn) / len(learn)
    return None


def energy(args, result):
    """The energy model's figures for one round of one device, and for sending its samples."""
    model = result["honest"]["model"]
    counted = qemu_instructions(result)
    if counted is None:
        return None
    extraction, learning = counted
    command = [args.energy_tool, "--fleet-up-bytes", str(model["blob_bytes"]),
               "--fleet-down-bytes", str(model["blob_bytes"]),
               "--fleet-raw-bytes", str(raw_bytes(result["honest"]["samples_per_device"])),
               "--fleet-learning-instructions", str(learning),
               "--fleet-extraction-instructions", str(extraction)]
    if args.cpi:
        command += ["--cpi", args.cpi]
    out = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    figures = {"extraction_instructions": extraction, "learning_instructions": learning,
               "links": {}}
    for line in out.splitlines():
        words = dict(w.split("=", 1) for w in line.split()[1:] if "=" in w)
        if line.startswith("FLEET_ENERGY device"):
            figures["device"] = {k: float(v) for k, v in words.items()}
        elif line.startswith("FLEET_ENERGY link="):
            key = words.pop("link")
            figures["links"][key] = {k: float(v) for k, v in words.items()}
    return figures


def si(joules):
    for unit, scale in (("J", 1.0), ("mJ", 1e-3), ("µJ", 1e-6)):
        if abs(joules) >= scale:
            return "%.3g %s" % (joules / scale, unit)
    return "%.3g µJ" % (joules * 1e6)


def seconds(s):
    if s < 120:
        return "%.3g s" % s
    if s < 7200:
        return "%.3g min" % (s / 60)
    if s < 172800:
        return "%.3g h" % (s / 3600)
    return "%.3g days" % (s / 86400)


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
             "epochs, and sends what it learned: its %d trained values (%s) as a %d-byte "
             "parameter blob, never a sample.\n"
             % (honest["devices"], honest["qemu_devices"], honest["rounds"],
                getattr(args, "flower_version", "?"), honest["samples_per_device"], honest["seed"],
                model["local_epochs"], model["values"],
                "the float head" if model["strategy"] == "head" else "the head's last layer",
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
    e = result.get("energy")
    if e:
        d = e["device"]
        rounds_n = honest["rounds"]
        L.append("## The device's energy per round (nRF52840 model of the demo's report)\n")
        L.append("The Cortex-M4F device in QEMU counted %s instructions for its samples' "
                 "extraction (once: the extractor is frozen, a device keeps its feature cache "
                 "between rounds) and %s for a round's learning (mean of %d rounds); at %.3g and "
                 "%.3g cycles per instruction (%s) they cost %s and %s.\n"
                 % (format(e["extraction_instructions"], ","),
                    format(int(round(e["learning_instructions"])), ","), rounds_n,
                    d["extraction_cpi"], d["learning_cpi"],
                    "the demo's estimates" if d["cpi_estimated"] else "the default, not estimated",
                    si(d["extraction_j"]), si(d["learning_j"])))
        L.append("| link | a round: model down + update up | time | %d rounds + learning | "
                 "the samples up, once | time |\n|---|---:|---:|---:|---:|---:|" % rounds_n)
        for key, label in LINKS.items():
            x = e["links"][key]
            L.append("| %s | %s | %s | %s | %s | %s |"
                     % (label, si(x["round_j"]), seconds(x["round_s"]),
                        si(rounds_n * (x["round_j"] + d["learning_j"]) + d["extraction_j"]),
                        si(x["raw_j"]), seconds(x["raw_s"])))
        L.append("")
    total = per_round * honest["rounds"]
    final = rounds[-1]["accuracy"]["accuracy"]
    L.append("## When it pays\n")
    L.append("Accuracy: after %d rounds the fleet reaches %.2f %%, against %.2f %% for a device "
             "that learns alone from its own %d samples (it forgets the classes it does not "
             "see) and %.2f %% for the cloud with all %s samples; no sample left a device. "
             "Radio: over %d rounds a device moves %s bytes, %.2fx the %s bytes of sending its "
             "samples once: %s.\n"
             % (honest["rounds"], final, base["alone_mean"]["accuracy"],
                honest["samples_per_device"], base["cloud"]["accuracy"],
                format(base["cloud_samples"], ","), honest["rounds"], format(total, ","),
                total / raw, format(raw, ","),
                "the exchange costs less than the upload" if total < raw else
                "with a blob this size the fleet pays in privacy and accuracy, not in radio "
                "energy; fewer rounds, more samples per device or a smaller trained part "
                "(`--strategy last`) turn that around"))
    L.append("Timing: the fleet's %d rounds took %.0f s on this machine (%d workers), the "
             "baselines included the whole run %.0f s.\n"
             % (honest["rounds"], honest["fleet_seconds"], args.workers, result["seconds"] or 0))
    path.write_text("\n".join(L) + "\n")
