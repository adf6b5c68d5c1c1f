"""A minimal FlatBuffers reader: what a .tflite file needs, nothing more.

Wire format (little-endian throughout):
  root          uoffset (u32) at byte 0 -> the root table
  table at t    soffset (i32) at t: the vtable is at t - soffset
  vtable at v   u16 vtable size, u16 table size, then one u16 per field id: the field's
                offset inside the table, 0 = absent (the schema's default applies)
  reference     a uoffset field at p points to p + value (tables, vectors, strings)
  vector at p   u32 length, then the elements; a vector of tables/strings holds uoffsets
  string        a vector of bytes (UTF-8), followed by a 0 byte
Every read is bounds-checked: a truncated or corrupt file raises FlatBufferError.
"""
import struct


class FlatBufferError(ValueError):
    pass


class Table:
    """A table at byte position `pos` of `buf`."""

    __slots__ = ("buf", "pos", "_vt", "_vt_len")

    def __init__(self, buf, pos):
        self.buf = buf
        self.pos = pos
        soff = _unpack(buf, "<i", pos)
        self._vt = pos - soff
        self._vt_len = _unpack(buf, "<H", self._vt)
        if self._vt_len < 4 or self._vt_len % 2:
            raise FlatBufferError("bad vtable at %d" % self._vt)
        _check(buf, self._vt, self._vt_len)

    def _field(self, field_id):
        entry = 4 + 2 * field_id
        if entry + 2 > self._vt_len:
            return 0
        off = _unpack(self.buf, "<H", self._vt + entry)
        return self.pos + off if off else 0

    def has(self, field_id):
        return self._field(field_id) != 0

    def scalar(self, field_id, fmt, default=0):
        p = self._field(field_id)
        return _unpack(self.buf, "<" + fmt, p) if p else default

    def _ref(self, field_id):
        p = self._field(field_id)
        if not p:
            return 0
        return p + _unpack(self.buf, "<I", p)

    def table(self, field_id):
        p = self._ref(field_id)
        return Table(self.buf, p) if p else None

    def string(self, field_id, default=""):
        p = self._ref(field_id)
        if not p:
            return default
        n = _unpack(self.buf, "<I", p)
        _check(self.buf, p + 4, n)
        return bytes(self.buf[p + 4:p + 4 + n]).decode("utf-8", "replace")

    def vector(self, field_id, fmt):
        """A vector of scalars as a tuple (None when the field is absent)."""
        p = self._ref(field_id)
        if not p:
            return None
        n = _unpack(self.buf, "<I", p)
        size = struct.calcsize("<" + fmt)
        _check(self.buf, p + 4, n * size)
        return struct.unpack_from("<%d%s" % (n, fmt), self.buf, p + 4)

    def bytes_vector(self, field_id):
        p = self._ref(field_id)
        if not p:
            return None
        n = _unpack(self.buf, "<I", p)
        _check(self.buf, p + 4, n)
        return bytes(self.buf[p + 4:p + 4 + n])

    def tables(self, field_id):
        """A vector of tables as a list ([] when absent)."""
        p = self._ref(field_id)
        if not p:
            return []
        n = _unpack(self.buf, "<I", p)
        _check(self.buf, p + 4, 4 * n)
        out = []
        for i in range(n):
            e = p + 4 + 4 * i
            out.append(Table(self.buf, e + _unpack(self.buf, "<I", e)))
        return out


def root(buf):
    if len(buf) < 8:
        raise FlatBufferError("file too short for a FlatBuffer")
    return Table(buf, _unpack(buf, "<I", 0))


def _check(buf, pos, n):
    if pos < 0 or n < 0 or pos + n > len(buf):
        raise FlatBufferError("reference outside the file (%d + %d > %d)" % (pos, n, len(buf)))


def _unpack(buf, fmt, pos):
    _check(buf, pos, struct.calcsize(fmt))
    return struct.unpack_from(fmt, buf, pos)[0]
