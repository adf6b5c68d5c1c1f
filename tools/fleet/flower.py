"""The fleet on Flower: Flower's server loop (flwr.server.Server: rounds, client sampling,
fit and evaluate instructions, History) with its FedAvg strategy and its weighted average
(flwr.server.strategy.aggregate.aggregate). What Flower carries is the devices' own bytes:
every Parameters object holds one tensor, a parameter blob (io/parameter_blob.hpp,
tensor_type "microtl-blob"): the global model the server sends, the update a device returns.

A ClientProxy is Flower's handle on a client; DeviceClientProxy drives a device program
(device.py): fit = install the global blob, learn from its own samples, return its update;
evaluate = install the global blob and report what its flash then holds. Flower's own
transports (gRPC to a SuperNode, or its Ray simulation engine) would carry the same bytes to
the same programs; in-process proxies keep a run of 100 devices on 2 cores deterministic.

GuardedFedAvg is FedAvg with a gate in front of the average: an update is refused unless its
blob is one a device would load (blob.check: whole, this model's signature and size, every
value finite and within the guard's bound) and it moved the model by at most max_update
(L2 norm). Refused updates are left out; the accepted ones are averaged in the order of their
client ids, so that the same updates always give the same bits."""
import numpy as np
from flwr.common import (Code, DisconnectRes, EvaluateRes, FitRes, GetParametersRes,
                         GetPropertiesRes, Parameters, Status)
from flwr.server.client_proxy import ClientProxy
from flwr.server.strategy import FedAvg
from flwr.server.strategy.aggregate import aggregate

from . import blob

TENSOR_TYPE = "microtl-blob"


def blob_parameters(raw):
    return Parameters(tensors=[bytes(raw)], tensor_type=TENSOR_TYPE)


def blob_of(parameters):
    return parameters.tensors[0] if parameters.tensors else b""


class DeviceClientProxy(ClientProxy):
    """A device of the fleet as a Flower client."""

    def __init__(self, cid, device, model, twin=None):
        super().__init__(cid)
        self.device = device
        self.model = model  # signature, values, slot_bytes
        self.twin = twin    # a host device with the same samples (for a QEMU device)
        self.records = []   # per call: what happened (the report and the checks read it)

    def get_properties(self, ins, timeout, group_id):
        return GetPropertiesRes(status=Status(Code.OK, ""), properties={"kind": self.device.program.kind})

    def get_parameters(self, ins, timeout, group_id):
        return GetParametersRes(status=Status(Code.GET_PARAMETERS_NOT_IMPLEMENTED, ""),
                                parameters=Parameters(tensors=[], tensor_type=""))

    def fit(self, ins, timeout, group_id):
        global_blob = blob_of(ins.parameters)
        fields, update = self.device.step(global_blob=global_blob, learn=True)
        record = {"step": "fit", "install": fields.get("install", {}).get("install"),
                  "learn": fields.get("learn", {}), "update_bytes": len(update),
                  "global_bytes": len(global_blob)}
        if self.twin is not None:
            twin_fields, twin_update = self.twin.step(global_blob=global_blob, learn=True)
            record["twin_same_update"] = twin_update == update
            record["twin_learn"] = twin_fields.get("learn", {})
        self.records.append(record)
        return FitRes(status=Status(Code.OK, ""), parameters=blob_parameters(update),
                      num_examples=self.device.samples, metrics={})

    def evaluate(self, ins, timeout, group_id):
        global_blob = blob_of(ins.parameters)
        fields, _ = self.device.step(global_blob=global_blob)
        installed = fields.get("install", {}).get("install")
        held = blob.newest_payload(self.device.flash_image(), self.model["slot_bytes"],
                                   self.model["signature"], self.model["values"])
        status, sent = blob.check(global_blob, self.model["signature"], self.model["values"])
        holds_global = (held is not None and status == "ok"
                        and held.tobytes() == sent.tobytes())
        self.records.append({"step": "evaluate", "install": installed,
                             "holds_global": holds_global})
        if self.twin is not None:
            self.twin.step(global_blob=global_blob)
        return EvaluateRes(status=Status(Code.OK, ""), loss=0.0, num_examples=1,
                           metrics={"installed": installed == "ok", "holds_global": holds_global})

    def reconnect(self, ins, timeout, group_id):
        return DisconnectRes(reason="")


class MaliciousClientProxy(ClientProxy):
    """A client that sends what no device would: `kind` nan, huge (beyond the guard's bound),
    far (finite, in bounds, but far from the model), wrong_model (another signature),
    wrong_size, bad_crc, truncated. It learns nothing and keeps no state."""

    KINDS = ("nan", "huge", "far", "wrong_model", "wrong_size", "bad_crc", "truncated")

    def __init__(self, cid, kind, model, samples):
        super().__init__(cid)
        self.kind = kind
        self.model = model
        self.samples = samples
        self.records = []

    def poisoned(self, global_blob):
        sig, n = self.model["signature"], self.model["values"]
        status, values = blob.check(global_blob, sig, n)
        values = (values if status == "ok" else np.zeros(n, np.float32)).copy()
        if self.kind == "nan":
            values[::7] = np.nan
            return blob.build(values, sig)
        if self.kind == "huge":
            return blob.build(values + np.float32(1e30), sig)
        if self.kind == "far":
            return blob.build(values + np.float32(1e3), sig)
        if self.kind == "wrong_model":
            return blob.build(values, sig ^ 0x5A5A5A5A)
        if self.kind == "wrong_size":
            return blob.build(values[:-1], sig)
        raw = bytearray(blob.build(values, sig))
        if self.kind == "bad_crc":
            raw[30] ^= 0x40
            return bytes(raw)
        return bytes(raw[:len(raw) // 2])  # truncated

    def get_properties(self, ins, timeout, group_id):
        return GetPropertiesRes(status=Status(Code.OK, ""), properties={"kind": "malicious"})

    def get_parameters(self, ins, timeout, group_id):
        return GetParametersRes(status=Status(Code.GET_PARAMETERS_NOT_IMPLEMENTED, ""),
                                parameters=Parameters(tensors=[], tensor_type=""))

    def fit(self, ins, timeout, group_id):
        self.records.append({"step": "fit", "kind": self.kind})
        return FitRes(status=Status(Code.OK, ""),
                      parameters=blob_parameters(self.poisoned(blob_of(ins.parameters))),
                      num_examples=self.samples, metrics={})

    def evaluate(self, ins, timeout, group_id):
        return EvaluateRes(status=Status(Code.OK, ""), loss=0.0, num_examples=1,
                           metrics={"installed": True, "holds_global": True})

    def reconnect(self, ins, timeout, group_id):
        return DisconnectRes(reason="")


class GuardedFedAvg(FedAvg):
    """FedAvg over parameter blobs, behind the gate described at the top of this file.
    evaluate(round, parameters) is the centralised evaluation: `evaluator(blob)` returns the
    global model's accuracy on the common test set."""

    def __init__(self, model, initial_blob, evaluator, max_update, clients):
        super().__init__(fraction_fit=1.0, fraction_evaluate=1.0, min_fit_clients=clients,
                         min_evaluate_clients=clients, min_available_clients=clients,
                         initial_parameters=blob_parameters(initial_blob),
                         accept_failures=False)
        self.model = model
        self.evaluator = evaluator
        self.max_update = max_update
        status, values = blob.check(initial_blob, model["signature"], model["values"])
        if status != "ok":
            raise ValueError("the initial model is not a loadable blob: %s" % status)
        self.global_values = values
        self.global_blob = bytes(initial_blob)
        self.rounds = []  # per round: accepted, refused, the new global blob

    def __repr__(self):
        return "GuardedFedAvg(max_update=%g)" % self.max_update

    def aggregate_fit(self, server_round, results, failures):
        if failures:
            raise RuntimeError("round %d: %d client(s) failed: %r" % (server_round, len(failures),
                                                                      failures[:1]))
        accepted, refused = [], {}
        for proxy, res in results:
            status, values = blob.check(blob_of(res.parameters), self.model["signature"],
                                        self.model["values"])
            if status == "ok":
                moved = float(np.linalg.norm(values.astype(np.float64) -
                                             self.global_values.astype(np.float64)))
                if not moved <= self.max_update:
                    status = "moved_too_far"
            if status == "ok":
                accepted.append((proxy.cid, values, res.num_examples))
            else:
                refused[proxy.cid] = status
        record = {"round": server_round, "accepted": sorted(c for c, _, _ in accepted),
                  "refused": dict(sorted(refused.items()))}
        if accepted:
            accepted.sort(key=lambda a: a[0])
            (average,) = aggregate([([values], n) for _, values, n in accepted])
            self.global_values = np.asarray(average, dtype=np.float32)
            self.global_blob = blob.build(self.global_values, self.model["signature"],
                                          sequence=server_round)
        record["global_blob"] = self.global_blob
        self.rounds.append(record)
        return blob_parameters(self.global_blob), {"accepted": len(accepted),
                                                   "refused": len(refused)}

    def aggregate_evaluate(self, server_round, results, failures):
        if failures:
            raise RuntimeError("round %d: %d client(s) failed to install the model"
                               % (server_round, len(failures)))
        installed = all(bool(r.metrics["installed"]) for _, r in results)
        holds = all(bool(r.metrics["holds_global"]) for _, r in results)
        self.rounds[-1]["all_installed"] = installed
        self.rounds[-1]["all_hold_global"] = holds
        return 0.0, {"all_installed": installed, "all_hold_global": holds}

    def evaluate(self, server_round, parameters):
        figures = self.evaluator(blob_of(parameters))
        if server_round == 0:
            self.initial_accuracy = figures
        elif self.rounds and self.rounds[-1]["round"] == server_round:
            self.rounds[-1]["accuracy"] = figures
        return 0.0, {k: v for k, v in figures.items()}
