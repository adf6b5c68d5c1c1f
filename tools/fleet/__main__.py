"""tools/fleet: fleet learning on Flower (issue 17). scripts/fleet runs it.

    python -m fleet --host-device EXE --cloud-device EXE [--firmware ELF] --test-data DIR
                    --out DIR [--devices 10] [--qemu-devices 0] [--rounds 10] [--samples 40]
                    [--seed 1] [--max-update 50] [--workers 2] [--check] [--report FILE]

--check (scripts/test's bounded fleet): fails unless the fleet beats the mean single device on
the common test set; every QEMU device sent, each round, the bytes its host twin sent and held
the server's model bit for bit after each round; the same fleet with malicious clients (one of
each kind) gives the same global model every round and leaves every device's flash the same
bytes; and the devices refuse damaged or foreign models without a byte of their flash
changing."""
import argparse
import json
import sys
import time
from pathlib import Path

from . import blob, report, run
from .flower import MaliciousClientProxy


def device_refusals(proxies, model):
    """Each device (the QEMU one first) is sent models it must refuse: its flash must not
    change. Then the server's last model, which it must accept again (a refusal did not break
    it)."""
    results = []
    for p in proxies[:2]:
        device = p.device
        held = blob.newest_payload(device.flash_image(), model["slot_bytes"],
                                   model["signature"], model["values"])
        if held is None:
            raise RuntimeError("%s holds no model" % device.name)
        liar = MaliciousClientProxy("x", "nan", model, 0)
        for kind in MaliciousClientProxy.KINDS:
            if kind == "far":
                continue  # loadable by design: only the server can tell it is too far
            liar.kind = kind
            bad = liar.poisoned(blob.build(held, model["signature"]))
            before = device.flash_image()
            fields, _ = device.step(global_blob=bad)
            status = fields.get("install", {}).get("install")
            results.append({"device": device.name, "kind": device.program.kind,
                            "sent": kind, "install": status,
                            "flash_unchanged": device.flash_image() == before})
    return results


def main():
    ap = argparse.ArgumentParser(prog="python -m fleet", description=__doc__.split("\n\n")[0])
    ap.add_argument("--host-device", required=True)
    ap.add_argument("--cloud-device", required=True)
    ap.add_argument("--firmware")
    ap.add_argument("--test-data", required=True, help="folder of the unpacked t10k idx files")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--devices", type=int, default=10)
    ap.add_argument("--qemu-devices", type=int, default=0)
    ap.add_argument("--rounds", type=int, default=10)
    ap.add_argument("--samples", type=int, default=40, help="samples per device")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--max-update", type=float, default=50.0,
                    help="the server refuses an update that moved the model further (L2)")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--check", action="store_true")
    ap.add_argument("--keep-flash", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--report", type=Path, help="write the fleet report (Markdown) here")
    ap.add_argument("--energy-tool", help="demo_report (host build): the energy model")
    ap.add_argument("--cpi", help="the demo's cycles-per-instruction estimates (cpi.log)")
    ap.add_argument("--command", default="scripts/fleet",
                    help="the command that makes this run, for the report")
    args = ap.parse_args()
    if args.qemu_devices and not args.firmware:
        ap.error("--qemu-devices needs --firmware")
    args.keep_flash = args.keep_flash or args.check
    args.out.mkdir(parents=True, exist_ok=True)

    started = time.monotonic()
    print("fleet: %d devices (%d in QEMU), %d rounds, %d samples each, seed %d"
          % (args.devices, args.qemu_devices, args.rounds, args.samples, args.seed), flush=True)
    base = run.baselines(args, args.out / "baselines")
    print("fleet: factory %.2f %%, one device alone %.2f %% (mean of %d), cloud %.2f %%"
          % (base["factory"]["accuracy"], base["alone_mean"]["accuracy"], args.devices,
             base["cloud"]["accuracy"]), flush=True)
    honest, proxies, model = run.run(args, args.out / "honest")
    for r in honest["rounds_detail"]:
        print("fleet: round %d: accuracy %.2f %% (old %.2f, new %.2f), %d accepted, refused %s"
              % (r["round"], r["accuracy"]["accuracy"], r["accuracy"]["old_classes"],
                 r["accuracy"]["new_classes"], len(r["accepted"]), r["refused"] or "none"),
              flush=True)
    result = {"baselines": base, "honest": honest, "seconds": None}
    failures = []
    if args.check:
        result["refusals"] = device_refusals(proxies, model)
        attacked, _, _ = run.run(args, args.out / "attacked",
                                 malicious=MaliciousClientProxy.KINDS)
        result["attacked"] = attacked
        failures += checks(result)
    result["seconds"] = time.monotonic() - started
    for r in result["honest"]["rounds_detail"]:
        r.pop("global_blob", None)
    for run_name in ("honest", "attacked"):
        for d in result.get(run_name, {}).get("devices_detail", []):
            d.pop("flash", None)
    if "attacked" in result:
        for r in result["attacked"]["rounds_detail"]:
            r.pop("global_blob", None)
    with open(args.out / "fleet.json", "w") as f:
        json.dump(result, f, indent=1)
    if args.report:
        import flwr
        args.flower_version = flwr.__version__
        if args.energy_tool:
            result["energy"] = report.energy(args, result)
        report.write(result, args, args.report)
    print("fleet: %.0f s; %s" % (result["seconds"], "fleet.json in %s" % args.out), flush=True)
    for line in failures:
        print("fleet: CHECK FAILED: " + line, file=sys.stderr)
    if args.check:
        print("fleet: checks %s" % ("passed" if not failures else "FAILED (%d)" % len(failures)))
    return 1 if failures else 0


def checks(result):
    failures = []
    base, honest, attacked = result["baselines"], result["honest"], result["attacked"]
    final = honest["rounds_detail"][-1]["accuracy"]["accuracy"]
    if not final > base["alone_mean"]["accuracy"]:
        failures.append("the fleet (%.2f %%) does not beat the mean single device (%.2f %%)"
                        % (final, base["alone_mean"]["accuracy"]))
    for d in honest["devices_detail"]:
        for k, fit in enumerate(d["fits"]):
            if "twin_same_update" in fit and not fit["twin_same_update"]:
                failures.append("%s round %d: the QEMU device's update differs from its host "
                                "twin's" % (d["name"], k + 1))
            if k > 0 and fit["install"] != "ok":
                failures.append("%s round %d: install=%s" % (d["name"], k + 1, fit["install"]))
        for k, e in enumerate(d["evaluations"]):
            if not e["holds_global"]:
                failures.append("%s after round %d: its flash does not hold the server's model "
                                "bit for bit" % (d["name"], k + 1))
    for r in honest["rounds_detail"]:
        if r["refused"]:
            failures.append("round %d: honest updates refused: %s" % (r["round"], r["refused"]))
    for a, h in zip(attacked["rounds_detail"], honest["rounds_detail"]):
        if a["global_blob"] != h["global_blob"]:
            failures.append("round %d: the malicious clients changed the global model"
                            % a["round"])
        bad = {c for c in a["refused"] if c.startswith("malicious")}
        if len(bad) != len(attacked["malicious"]) or set(a["refused"]) != bad:
            failures.append("round %d: refused %s (expected every malicious client, no other)"
                            % (a["round"], a["refused"]))
    for a, h in zip(attacked["devices_detail"], honest["devices_detail"]):
        if a["flash"] != h["flash"]:
            failures.append("%s: its flash differs after the attacked run" % a["name"])
    for r in result["refusals"]:
        if r["install"] == "ok" or not r["flash_unchanged"]:
            failures.append("%s (%s) given a %s model: install=%s, flash unchanged: %s"
                            % (r["device"], r["kind"], r["sent"], r["install"],
                               r["flash_unchanged"]))
    return failures


if __name__ == "__main__":
    sys.exit(main())
