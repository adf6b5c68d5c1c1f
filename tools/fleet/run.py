"""One fleet run: the devices, the baselines (one device alone, the centralised cloud), the
Flower server, and what the checks need. fleet.json holds every figure."""
import concurrent.futures
import logging
import random
import time
from pathlib import Path

import numpy as np
from flwr.server import Server, SimpleClientManager

from . import blob, data
from .device import Device, Program, accuracy_fields
from .flower import DeviceClientProxy, GuardedFedAvg, MaliciousClientProxy


def describe(program, root, test_dir):
    """The model's signature and sizes, and the factory head's blob (the initial global)."""
    scratch = Device("describe", root, program, test_dir)
    scratch.reset()
    fields, factory = scratch.step(send=True)
    d = fields["device"]
    model = {"signature": int(d["signature"]), "values": int(d["values"]),
             "blob_bytes": int(d["blob_bytes"]), "slot_bytes": int(d["slot_bytes"]),
             "local_epochs": int(d["local_epochs"]), "max_samples": int(d["max_samples"]),
             "strategy": d["strategy"]}
    status, _ = blob.check(factory, model["signature"], model["values"])
    if status != "ok":
        raise RuntimeError("the factory head's blob does not check: %s" % status)
    return model, factory


class Evaluator:
    """A host device that installs a blob on an erased flash and evaluates it on the common
    test set. Refuses to score a blob the device refuses."""

    def __init__(self, program, root, test_dir):
        self.device = Device("evaluator", root, program, test_dir)

    def __call__(self, raw):
        self.device.reset()
        fields, _ = self.device.step(global_blob=raw, evaluate=True)
        installed = fields.get("install", {}).get("install")
        if installed != "ok":
            raise RuntimeError("the evaluator's device refused a model: %s" % installed)
        return accuracy_fields(fields)


def run(args, root, malicious=()):
    """A fleet of args.devices devices (the first args.qemu_devices of them the firmware in
    QEMU, each with a host twin), plus one malicious client per kind in `malicious`."""
    logging.getLogger("flwr").setLevel(logging.WARNING)
    root = Path(root)
    host = Program(args.host_device)
    firmware = Program(args.firmware, "mps2-an386") if args.qemu_devices else None
    model, factory = describe(host, root, args.test_data)
    evaluator = Evaluator(host, root, args.test_data)

    images, labels = data.load("train")
    shards = data.make_shards(labels, args.devices, args.samples, args.seed)
    proxies = []
    for d, shard in enumerate(shards):
        on_qemu = d < args.qemu_devices
        device = Device("device-%03d" % d, root, firmware if on_qemu else host, args.test_data,
                        images[shard], labels[shard])
        device.reset()
        twin = None
        if on_qemu:
            twin = Device("twin-%03d" % d, root, host, args.test_data, images[shard],
                          labels[shard])
            twin.reset()
        proxies.append(DeviceClientProxy("device-%03d" % d, device, model, twin))
    clients = list(proxies)
    for k, kind in enumerate(malicious):
        clients.append(MaliciousClientProxy("malicious-%d-%s" % (k, kind), kind, model,
                                            args.samples))

    strategy = GuardedFedAvg(model, factory, evaluator, args.max_update, len(clients))
    manager = SimpleClientManager()
    for c in clients:
        manager.register(c)
    server = Server(client_manager=manager, strategy=strategy)
    server.set_max_workers(args.workers)
    random.seed(args.seed)  # Flower samples clients with `random`
    started = time.monotonic()
    server.fit(num_rounds=args.rounds, timeout=None)
    fleet_seconds = time.monotonic() - started

    result = {"model": model, "devices": args.devices, "qemu_devices": args.qemu_devices,
              "rounds": args.rounds, "samples_per_device": args.samples, "seed": args.seed,
              "malicious": list(malicious), "max_update": args.max_update,
              "fleet_seconds": fleet_seconds, "initial": strategy.initial_accuracy,
              "class_mix": [np.bincount(labels[s], minlength=data.CLASSES).tolist()
                            for s in shards],
              "rounds_detail": [], "devices_detail": []}
    for r in strategy.rounds:
        result["rounds_detail"].append({k: (v.hex() if isinstance(v, bytes) else v)
                                        for k, v in r.items()})
    for p in proxies:
        fits = [x for x in p.records if x["step"] == "fit"]
        result["devices_detail"].append({
            "name": p.cid, "kind": p.device.program.kind, "samples": p.device.samples,
            "fits": fits,
            "evaluations": [x for x in p.records if x["step"] == "evaluate"],
            "flash": p.device.flash_image().hex() if args.keep_flash else None})
    return result, proxies, model


def baselines(args, root):
    """One device alone (each device's samples, the fleet's epochs in one go) and the
    centralised cloud (every device's samples together), on the common test set."""
    root = Path(root)
    host = Program(args.host_device)
    cloud_program = Program(args.cloud_device)
    images, labels = data.load("train")
    shards = data.make_shards(labels, args.devices, args.samples, args.seed)
    evaluator = Evaluator(host, root, args.test_data)
    model, factory = describe(host, root, args.test_data)
    epochs = args.rounds * model["local_epochs"]

    def alone(d):
        device = Device("alone-%03d" % d, root, host, args.test_data, images[shards[d]],
                        labels[shards[d]])
        device.reset()
        fields, _ = device.step(learn=True, evaluate=True, epochs=epochs)
        return accuracy_fields(fields)

    with concurrent.futures.ThreadPoolExecutor(args.workers) as pool:
        alone_figures = list(pool.map(alone, range(args.devices)))
    union = np.concatenate(shards)
    cloud = Device("cloud", root, cloud_program, args.test_data, images[union], labels[union])
    cloud.reset()
    started = time.monotonic()
    fields, _ = cloud.step(learn=True, evaluate=True, epochs=epochs)
    cloud_seconds = time.monotonic() - started
    return {"epochs": epochs, "factory": evaluator(factory), "alone": alone_figures,
            "alone_mean": {k: float(np.mean([a[k] for a in alone_figures]))
                           for k in ("accuracy", "old_classes", "new_classes")},
            "cloud": accuracy_fields(fields), "cloud_seconds": cloud_seconds,
            "cloud_samples": int(len(union)), "cloud_learn": fields.get("learn", {})}
