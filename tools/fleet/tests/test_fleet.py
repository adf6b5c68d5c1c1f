"""Unit tests of tools/fleet: the blob format's checks (in the device's order), the two-slot
pick, the shards, and the gate and order of GuardedFedAvg. Run by scripts/fleet:
    cd tools && python -m unittest discover -s fleet/tests -t ."""
import struct
import unittest
import zlib

import numpy as np
from flwr.common import Code, FitRes, Status

from fleet import blob, data
from fleet.flower import GuardedFedAvg, MaliciousClientProxy, blob_parameters

SIG = 0x12345678
N = 6


def values(seed):
    return np.random.default_rng(seed).normal(0, 1, N).astype(np.float32)


def reseal(raw):
    raw = bytearray(raw)
    raw[-4:] = struct.pack("<I", zlib.crc32(bytes(raw[:-4])))
    return bytes(raw)


class BlobTest(unittest.TestCase):
    def test_round_trip(self):
        v = values(1)
        raw = blob.build(v, SIG, sequence=9)
        self.assertEqual(len(raw), 20 + 4 * N + 4)
        self.assertEqual(raw[:4], b"MTLP")
        status, got = blob.check(raw, SIG, N)
        self.assertEqual(status, "ok")
        self.assertEqual(got.tobytes(), v.tobytes())
        self.assertEqual(blob.signature_of(raw), SIG)

    def test_header_fields_little_endian(self):
        raw = blob.build(np.zeros(N, np.float32), SIG, sequence=0x01020304)
        self.assertEqual(raw[4:8], bytes([1, 0, 20, 0]))
        self.assertEqual(raw[8:12], bytes([24, 0, 0, 0]))
        self.assertEqual(raw[12:16], bytes([0x78, 0x56, 0x34, 0x12]))
        self.assertEqual(raw[16:20], bytes([4, 3, 2, 1]))

    def test_refusals_in_the_devices_order(self):
        good = blob.build(values(2), SIG)
        cases = {
            "truncated": good[:19],
            "bad_format": b"XTLP" + good[4:],
        }
        cut = good[:-1]
        cases["truncated (frame past the end)"] = cut
        flipped = bytearray(good)
        flipped[25] ^= 1
        cases["checksum_mismatch"] = bytes(flipped)
        v2 = bytearray(good)
        v2[4] = 2
        cases["version_mismatch"] = reseal(v2)
        cases["model_mismatch"] = blob.build(values(2), SIG + 1)
        cases["size_mismatch"] = blob.build(values(2)[:-1], SIG)
        nan = values(2)
        nan[3] = np.nan
        cases["not_finite"] = blob.build(nan, SIG)
        huge = values(2)
        huge[0] = 2.0 ** 24 * 1.5
        cases["out_of_range"] = blob.build(huge, SIG)
        for name, raw in cases.items():
            with self.subTest(name):
                status, got = blob.check(raw, SIG, N)
                self.assertEqual(status, name.split(" ")[0])
                self.assertIsNone(got)
        # A damaged blob of another model is damaged first (the CRC before the signature).
        other = bytearray(blob.build(values(2), SIG + 1))
        other[30] ^= 4
        self.assertEqual(blob.check(bytes(other), SIG, N)[0], "checksum_mismatch")
        # The bound is inclusive, as the guard's |v| <= 2^24.
        edge = values(2)
        edge[1] = -(2.0 ** 24)
        self.assertEqual(blob.check(blob.build(edge, SIG), SIG, N)[0], "ok")

    def test_newest_payload(self):
        slot = 64
        a = blob.build(values(3), SIG, sequence=0xFFFFFFFF)
        b = blob.build(values(4), SIG, sequence=0)  # newer: serial-number order wraps
        image = a.ljust(slot, b"\xff") + b.ljust(slot, b"\xff")
        self.assertEqual(blob.newest_payload(image, slot, SIG, N).tobytes(), values(4).tobytes())
        damaged = bytearray(image)
        damaged[slot + 22] ^= 1
        self.assertEqual(blob.newest_payload(bytes(damaged), slot, SIG, N).tobytes(),
                         values(3).tobytes())
        tie = a.ljust(slot, b"\xff") + blob.build(values(4), SIG, 0xFFFFFFFF).ljust(slot, b"\xff")
        self.assertEqual(blob.newest_payload(tie, slot, SIG, N).tobytes(), values(3).tobytes())
        self.assertIsNone(blob.newest_payload(b"\xff" * (2 * slot), slot, SIG, N))


class ShardTest(unittest.TestCase):
    def setUp(self):
        self.labels = np.repeat(np.arange(10, dtype=np.uint8), 200)

    def test_reproducible_disjoint_skewed(self):
        a = data.make_shards(self.labels, 12, 40, seed=5)
        b = data.make_shards(self.labels, 12, 40, seed=5)
        c = data.make_shards(self.labels, 12, 40, seed=6)
        self.assertTrue(all((x == y).all() for x, y in zip(a, b)))
        self.assertFalse(all((x == y).all() for x, y in zip(a, c)))
        everything = np.concatenate(a)
        self.assertEqual(len(set(everything.tolist())), len(everything))  # disjoint
        for d, shard in enumerate(a):
            counts = np.bincount(self.labels[shard], minlength=10)
            self.assertEqual(counts.sum(), 40)
            self.assertEqual(counts[7 + d % 3], 20)        # its own new class: half
            self.assertEqual((counts[7:] > 0).sum(), 2)    # two of the three new classes
            self.assertEqual((counts[:7] > 0).sum(), 2)    # and two old ones
        seen = np.bincount(self.labels[everything], minlength=10)
        self.assertTrue((seen[7:] > 0).all())

    def test_too_few_images(self):
        with self.assertRaises(ValueError):
            data.make_shards(self.labels, 40, 40, seed=1)


class FakeProxy:
    def __init__(self, cid):
        self.cid = cid


def fit_res(raw, n):
    return FitRes(status=Status(Code.OK, ""), parameters=blob_parameters(raw), num_examples=n,
                  metrics={})


class GuardedFedAvgTest(unittest.TestCase):
    def strategy(self, max_update=10.0):
        model = {"signature": SIG, "values": N}
        return GuardedFedAvg(model, blob.build(np.zeros(N, np.float32), SIG),
                             evaluator=lambda raw: {}, max_update=max_update, clients=3)

    def test_weighted_average_in_client_order(self):
        updates = [("c", values(5), 10), ("a", values(6), 30), ("b", values(7), 20)]
        results = [(FakeProxy(c), fit_res(blob.build(v, SIG), n)) for c, v, n in updates]
        s1, s2 = self.strategy(), self.strategy()
        p1, m1 = s1.aggregate_fit(1, results, [])
        p2, _ = s2.aggregate_fit(1, list(reversed(results)), [])
        self.assertEqual(p1.tensors[0], p2.tensors[0])  # the same bits, whatever the order
        self.assertEqual(m1, {"accepted": 3, "refused": 0})
        status, got = blob.check(p1.tensors[0], SIG, N)
        self.assertEqual(status, "ok")
        expected = (values(6) * 30 + values(7) * 20 + values(5) * 10) / 60
        np.testing.assert_allclose(got, expected, rtol=1e-6)

    def test_gate(self):
        s = self.strategy(max_update=5.0)
        honest = [(FakeProxy("a"), fit_res(blob.build(values(8), SIG), 10))]
        liars = []
        for kind in MaliciousClientProxy.KINDS:
            liar = MaliciousClientProxy("m-" + kind, kind, {"signature": SIG, "values": N}, 10)
            liars.append((liar, fit_res(liar.poisoned(s.global_blob), 10)))
        parameters, metrics = s.aggregate_fit(1, honest + liars, [])
        self.assertEqual(metrics, {"accepted": 1, "refused": len(liars)})
        self.assertEqual(blob.check(parameters.tensors[0], SIG, N)[1].tobytes(),
                         values(8).tobytes())
        refused = s.rounds[-1]["refused"]
        self.assertEqual(refused["m-far"], "moved_too_far")
        self.assertEqual(refused["m-nan"], "not_finite")
        self.assertEqual(refused["m-wrong_model"], "model_mismatch")

    def test_all_refused_keeps_the_model(self):
        s = self.strategy()
        before = s.global_blob
        liar = MaliciousClientProxy("m", "nan", {"signature": SIG, "values": N}, 10)
        parameters, _ = s.aggregate_fit(1, [(liar, fit_res(liar.poisoned(before), 10))], [])
        self.assertEqual(parameters.tensors[0], before)


if __name__ == "__main__":
    unittest.main()
