#!/usr/bin/env python3
"""Drive a running qemu over QMP to take guest memory dumps (stdlib only).

Used by scripts/fixtures.sh vmcores:

    qmp_dump.py --socket QMP.sock --serial console.log --marker KTYPE-WORKLOAD-READY \
        --dump elf:/abs/vmcore.elf --dump kdump-zlib:/abs/vmcore.kdump-zlib [--formats-out F] [--quit]

Waits for the marker line on the serial log, stops the guest (so every dump shows the same
memory), runs `dump-guest-memory` (paging=false) once per --dump, waiting for each to complete
(`query-dump`), then sends `quit`. Every wait has a timeout; exits non-zero with a message on any
failure.
"""
import argparse
import json
import os
import socket
import sys
import time


def die(msg):
    print(f"qmp_dump: ERROR: {msg}", file=sys.stderr)
    sys.exit(1)


def log(msg):
    print(f"qmp_dump: {msg}", file=sys.stderr, flush=True)


class Qmp:
    def __init__(self, path, timeout):
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                self.sock.connect(path)
                break
            except OSError as e:
                self.sock.close()
                if time.monotonic() > deadline:
                    die(f"cannot connect to QMP socket {path}: {e}")
                time.sleep(0.2)
        self.buf = b""
        self.events = []
        greeting = self.recv(timeout)
        if "QMP" not in greeting:
            die(f"unexpected QMP greeting: {greeting}")
        self.version = greeting["QMP"].get("version", {})
        self.cmd("qmp_capabilities")

    def recv(self, timeout):
        deadline = time.monotonic() + timeout
        while b"\n" not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0:
                die("timed out waiting for a QMP message")
            self.sock.settimeout(left)
            try:
                chunk = self.sock.recv(65536)
            except socket.timeout:
                die("timed out waiting for a QMP message")
            if not chunk:
                die("QMP connection closed by qemu")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return json.loads(line)

    def cmd(self, name, timeout=60, **args):
        msg = {"execute": name}
        if args:
            msg["arguments"] = args
        self.sock.sendall(json.dumps(msg).encode() + b"\n")
        while True:
            reply = self.recv(timeout)
            if "event" in reply:
                self.events.append(reply)
                continue
            if "error" in reply:
                die(f"{name} failed: {reply['error'].get('class')}: {reply['error'].get('desc')}")
            return reply.get("return")


def wait_marker(path, marker, timeout, qemu_pid):
    deadline = time.monotonic() + timeout
    pos = 0
    tail = b""
    while time.monotonic() < deadline:
        if qemu_pid and not os.path.exists(f"/proc/{qemu_pid}"):
            die(f"qemu (pid {qemu_pid}) exited before the guest printed {marker}; see {path}")
        try:
            with open(path, "rb") as f:
                f.seek(pos)
                data = f.read()
        except FileNotFoundError:
            data = b""
        if data:
            pos += len(data)
            tail = (tail + data)[-(len(marker) + 4096):]
            if marker.encode() in tail:
                return
            if b"Kernel panic" in tail:
                die(f"guest kernel panicked; see {path}")
        time.sleep(0.5)
    die(f"timed out after {timeout}s waiting for {marker} on the serial log {path}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--socket", required=True)
    ap.add_argument("--serial", required=True, help="serial console log file to watch")
    ap.add_argument("--marker", default="KTYPE-WORKLOAD-READY")
    ap.add_argument("--boot-timeout", type=float, default=240)
    ap.add_argument("--dump-timeout", type=float, default=600)
    ap.add_argument("--dump", action="append", default=[], metavar="FORMAT:PATH")
    ap.add_argument("--formats-out", help="write the formats this qemu offers here, one per line")
    ap.add_argument("--qemu-pid", type=int, default=0)
    ap.add_argument("--quit", action="store_true", help="send quit at the end")
    a = ap.parse_args()

    q = Qmp(a.socket, 60)
    v = q.version.get("qemu", {})
    log(f"connected to qemu {v.get('major')}.{v.get('minor')}.{v.get('micro')}")
    formats = q.cmd("query-dump-guest-memory-capability").get("formats", [])
    log(f"dump formats offered: {' '.join(formats)}")
    if a.formats_out:
        with open(a.formats_out, "w") as f:
            f.write("\n".join(formats) + "\n")
    for spec in a.dump:
        fmt = spec.split(":", 1)[0]
        if fmt not in formats:
            die(f"this qemu does not offer dump format {fmt} (offers: {formats})")

    t0 = time.monotonic()
    wait_marker(a.serial, a.marker, a.boot_timeout, a.qemu_pid)
    log(f"guest ready ({a.marker}) after {time.monotonic() - t0:.1f}s of waiting")
    q.cmd("stop")

    for spec in a.dump:
        fmt, path = spec.split(":", 1)
        path = os.path.abspath(path)
        t1 = time.monotonic()
        q.cmd("dump-guest-memory", paging=False, protocol=f"file:{path}", format=fmt, detach=True)
        deadline = t1 + a.dump_timeout
        while True:
            st = q.cmd("query-dump")
            if st.get("status") == "completed":
                break
            if st.get("status") == "failed":
                die(f"dump-guest-memory {fmt} failed")
            if time.monotonic() > deadline:
                die(f"dump-guest-memory {fmt} did not complete in {a.dump_timeout}s ({st})")
            time.sleep(0.3)
        log(f"dump {fmt} -> {path}: {os.path.getsize(path)} bytes in {time.monotonic() - t1:.1f}s")

    if a.quit:
        # qemu may close the socket before or after answering: just wait for the close.
        q.sock.sendall(b'{"execute": "quit"}\n')
        q.sock.settimeout(10)
        try:
            while q.sock.recv(65536):
                pass
        except OSError:
            pass
        log("sent quit")


if __name__ == "__main__":
    main()
