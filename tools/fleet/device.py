"""A device of the fleet: a directory (its flash, its samples) and a program that runs one step
in it: the host build of examples/transfer_learning/fleet/device.cpp, or its Cortex-M4F
firmware in QEMU (mps2-an386, semihosting, instructions counted with -icount)."""
import os
import subprocess
from pathlib import Path

from . import data

QEMU_ICOUNT_SHIFT = 6  # cmake/toolchains/arm-none-eabi-gcc.cmake


class Program:
    """How to run the device code: a host executable, or a firmware ELF under QEMU."""

    def __init__(self, path, qemu_machine=None):
        self.path = Path(path).resolve()
        self.qemu_machine = qemu_machine
        if not self.path.is_file():
            raise FileNotFoundError(self.path)

    @property
    def kind(self):
        return "qemu" if self.qemu_machine else "host"

    def command(self):
        if not self.qemu_machine:
            return [str(self.path)]
        return ["qemu-system-arm", "-M", self.qemu_machine, "-nographic", "-monitor", "none",
                "-serial", "none", "-semihosting-config", "enable=on,target=native",
                "-icount", "shift=%d,align=off,sleep=off" % QEMU_ICOUNT_SHIFT,
                "-kernel", str(self.path)]


def parse(output):
    """FLEET lines -> {first word after FLEET: {key: value}} (later lines of a word win)."""
    lines = {}
    for line in output.splitlines():
        if not line.startswith("FLEET "):
            continue
        words = line.split()[1:]
        fields = dict(w.split("=", 1) for w in words if "=" in w)
        head = words[0].split("=", 1)[0] if words else ""
        if head == "phase" and "class" in fields:
            continue  # the per-class lines of an evaluation
        lines[head] = fields
    return lines


class StepFailed(RuntimeError):
    pass


class Device:
    """One device: its directory under `root`, its samples, the program that runs it."""

    FLAGS = ("global.bin", "update.bin", "epochs", "send", "evaluate",
             "shard-images-idx3-ubyte", "shard-labels-idx1-ubyte")

    def __init__(self, name, root, program, test_dir, images=None, labels=None):
        self.name = name
        self.program = program
        self.dir = Path(root) / name
        self.dir.mkdir(parents=True, exist_ok=True)
        self.samples = 0 if labels is None else len(labels)
        if labels is not None:
            data.write_idx(self.dir / "data", images, labels)
        for kind in ("images-idx3", "labels-idx1"):
            link = self.dir / f"t10k-{kind}-ubyte"
            if not link.exists():
                link.symlink_to(Path(test_dir).resolve() / f"t10k-{kind}-ubyte")
        self.log = []

    def reset(self):
        """Erased flash: the device as shipped (the factory head)."""
        (self.dir / "flash.bin").unlink(missing_ok=True)

    def step(self, global_blob=None, learn=False, send=False, evaluate=False, epochs=None,
             timeout=3600):
        """Runs the program once: installs global_blob (bytes) if given, learns from its own
        samples if learn, writes its update if learn or send, evaluates if evaluate. Returns
        (fields of its FLEET lines, the update blob's bytes or None)."""
        for name in self.FLAGS:
            (self.dir / name).unlink(missing_ok=True)
        if global_blob is not None:
            (self.dir / "global.bin").write_bytes(global_blob)
        if learn:
            if self.samples == 0:
                raise ValueError("%s has no samples to learn from" % self.name)
            for kind in ("images-idx3", "labels-idx1"):
                os.symlink(f"data-{kind}-ubyte", self.dir / f"shard-{kind}-ubyte")
        if epochs is not None:
            (self.dir / "epochs").write_text(str(int(epochs)))
        if send:
            (self.dir / "send").write_text("")
        if evaluate:
            (self.dir / "evaluate").write_text("")
        run = subprocess.run(self.program.command(), cwd=self.dir, capture_output=True,
                             text=True, timeout=timeout)
        self.log.append(run.stdout)
        fields = parse(run.stdout)
        if run.returncode != 0:
            raise StepFailed("%s (%s): exit %d\n%s%s" % (self.name, self.program.kind,
                                                         run.returncode, run.stdout, run.stderr))
        update = None
        if learn or send:
            blob_bytes = int(fields["device"]["blob_bytes"])
            update = (self.dir / "update.bin").read_bytes()[:blob_bytes]
        return fields, update

    def flash_image(self):
        path = self.dir / "flash.bin"
        return path.read_bytes() if path.exists() else b""


def accuracy_fields(fields):
    """The evaluate line's figures as floats."""
    e = fields.get("phase", {})
    return {k: float(e[k]) for k in ("accuracy", "old_classes", "new_classes",
                                     "reference_mismatches") if k in e}

