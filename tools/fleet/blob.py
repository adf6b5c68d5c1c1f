"""The parameter blob of io/parameter_blob.hpp, on the server's side: the bytes a device sends
and receives. Read and written here from its specification (format version 1):

    offset  size  field
    0       4     magic "MTLP"
    4       2     format version (1)
    6       2     header size (20)
    8       4     payload length (4 x values)
    12      4     model signature (io/model_signature.hpp)
    16      4     sequence number
    20      P     payload: IEEE 754 binary32 values, little-endian
    20 + P  4     CRC-32 (IEEE 802.3, zlib's) of bytes [0, 20 + P)

check() answers with the status names of the library's SlotCheck, in the same order of
checks, and the values when the blob is one the device would load."""
import struct
import zlib

import numpy as np

MAGIC = b"MTLP"
VERSION = 1
HEADER_BYTES = 20
CRC_BYTES = 4
# train/guard.hpp (P): every trained float value |v| <= 2^24; a blob beyond it is refused by
# the device (out_of_range), so the server refuses it too.
PARAMETER_LIMIT = float(2**24)


def build(values, signature, sequence=1):
    """The blob of these float32 values."""
    payload = np.asarray(values, dtype="<f4").tobytes()
    head = MAGIC + struct.pack("<HHIII", VERSION, HEADER_BYTES, len(payload), signature, sequence)
    body = head + payload
    return body + struct.pack("<I", zlib.crc32(body))


def check(raw, signature, value_count):
    """(status, values): status "ok" and the float32 values, or why the blob is refused and
    None. The order of the checks is the device's (check_blob_after_header)."""
    raw = bytes(raw)
    if len(raw) < HEADER_BYTES:
        return "truncated", None
    if raw[:4] != MAGIC:
        return "bad_format", None
    version, header_size, length, blob_signature, _ = struct.unpack_from("<HHIII", raw, 4)
    if header_size < 12:
        return "bad_format", None
    covered = header_size + length
    if covered + CRC_BYTES > len(raw):
        return "truncated", None
    (stored_crc,) = struct.unpack_from("<I", raw, covered)
    if stored_crc != zlib.crc32(raw[:covered]):
        return "checksum_mismatch", None
    if version != VERSION:
        return "version_mismatch", None
    if header_size != HEADER_BYTES:
        return "bad_format", None
    if blob_signature != signature:
        return "model_mismatch", None
    if length != 4 * value_count:
        return "size_mismatch", None
    values = np.frombuffer(raw, dtype="<f4", count=value_count, offset=HEADER_BYTES).astype(
        np.float32)
    if not np.all(np.isfinite(values)):
        return "not_finite", None
    if np.any(np.abs(values) > PARAMETER_LIMIT):
        return "out_of_range", None
    return "ok", values


def signature_of(raw):
    """The signature field of a blob (no checks)."""
    return struct.unpack_from("<I", bytes(raw), 12)[0]


def newest_payload(image, slot_bytes, signature, value_count):
    """The values of the newest loadable blob of a two-slot store image (flash.bin), as the
    device's load() picks it; None when neither slot holds one."""
    best = None
    for slot in range(2):
        raw = image[slot * slot_bytes:(slot + 1) * slot_bytes]
        status, values = check(raw, signature, value_count)
        if status != "ok":
            continue
        sequence = struct.unpack_from("<I", raw, 16)[0]
        if best is None or 0 < ((sequence - best[0]) & 0xFFFFFFFF) < 0x80000000:
            best = (sequence, values)
    return None if best is None else best[1]
