"""Run a command inside a private network namespace and report every DNS query and non-loopback packet.

Run as root under `unshare --net --mount`: the namespace has only `lo`, every address is routed to it
(`local default`), so a connection attempt to any host becomes a packet seen here instead of an
immediate "network unreachable"; /etc/resolv.conf is bind-mounted to a listener on 127.0.0.1:53 that
records the names asked for and answers NXDOMAIN. This sees what native code (onnxruntime's telemetry
uploader, a browser) does below Python, which patching Python's sockets cannot.

    unshare --net --mount python tests/netguard.py REPORT.json SECONDS -- CMD ...

The report is {"dns": [names], "packets": ["proto src -> dst:port"], "returncode": n, "seconds": s}.
CMD runs for at least SECONDS (the guard keeps watching after it exits, to catch periodic uploads).
"""
from __future__ import annotations

import json
import os
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time

ETH_P_ALL = 0x0003


def setup_namespace() -> None:
    for cmd in (["ip", "link", "set", "lo", "up"], ["ip", "route", "add", "local", "default", "dev", "lo"],
                ["ip", "-6", "route", "add", "local", "default", "dev", "lo"]):
        subprocess.run(cmd, check=False, capture_output=True)
    fd, resolv = tempfile.mkstemp(prefix="netguard-resolv-")
    os.write(fd, b"nameserver 127.0.0.1\noptions timeout:1 attempts:1\n")
    os.close(fd)
    subprocess.run(["mount", "--bind", resolv, "/etc/resolv.conf"], check=True)


def qname(packet: bytes) -> str:
    labels, pos = [], 12
    while pos < len(packet) and packet[pos]:
        n = packet[pos]
        labels.append(packet[pos + 1:pos + 1 + n].decode("ascii", "replace"))
        pos += 1 + n
    return ".".join(labels)


def nxdomain(packet: bytes) -> bytes:
    flags = 0x8183  # response, recursion desired+available, NXDOMAIN
    return packet[:2] + struct.pack("!H", flags) + packet[4:6] + b"\0\0\0\0\0\0" + packet[12:]


def dns_udp(names: list[str], stop: threading.Event) -> None:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 53))
    s.settimeout(0.2)
    while not stop.is_set():
        try:
            data, peer = s.recvfrom(4096)
        except TimeoutError:
            continue
        names.append(qname(data))
        s.sendto(nxdomain(data), peer)


def dns_tcp(names: list[str], stop: threading.Event) -> None:
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", 53))
    s.listen(8)
    s.settimeout(0.2)
    while not stop.is_set():
        try:
            conn, _ = s.accept()
        except TimeoutError:
            continue
        with conn:
            conn.settimeout(1)
            try:
                data = conn.recv(4096)[2:]
                names.append(qname(data) + " (tcp)")
                reply = nxdomain(data)
                conn.sendall(struct.pack("!H", len(reply)) + reply)
            except OSError:
                pass


def sniff(packets: list[str], stop: threading.Event) -> None:
    """Every IPv4/IPv6 packet on `lo` whose destination is not a loopback address."""
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    s.bind(("lo", 0))
    s.settimeout(0.2)
    while not stop.is_set():
        try:
            frame = s.recv(65535)
        except TimeoutError:
            continue
        kind, ip = struct.unpack("!H", frame[12:14])[0], frame[14:]
        if kind == 0x0800:
            proto, src, dst = ip[9], socket.inet_ntop(socket.AF_INET, ip[12:16]), socket.inet_ntop(socket.AF_INET, ip[16:20])
            body = ip[(ip[0] & 0x0F) * 4:]
            if not dst.startswith("127."):
                packets.append(f"{proto} {src} -> {dst}:{struct.unpack('!H', body[2:4])[0] if len(body) > 3 else '?'}")
        elif kind == 0x86DD:
            proto, src, dst = ip[6], socket.inet_ntop(socket.AF_INET6, ip[8:24]), socket.inet_ntop(socket.AF_INET6, ip[24:40])
            if dst != "::1":
                packets.append(f"{proto} {src} -> [{dst}]:{struct.unpack('!H', ip[42:44])[0] if len(ip) > 43 else '?'}")


def main(argv: list[str]) -> int:
    report, seconds, cmd = argv[0], float(argv[1]), argv[argv.index("--") + 1:]
    setup_namespace()
    names: list[str] = []
    packets: list[str] = []
    stop = threading.Event()
    threads = [threading.Thread(target=f, args=(out, stop), daemon=True)
               for f, out in ((dns_udp, names), (dns_tcp, names), (sniff, packets))]
    for t in threads:
        t.start()
    started = time.monotonic()
    code = subprocess.run(cmd).returncode
    time.sleep(max(0.0, seconds - (time.monotonic() - started)))
    stop.set()
    for t in threads:
        t.join(2)
    with open(report, "w") as f:
        json.dump({"dns": names, "packets": packets, "returncode": code,
                   "seconds": round(time.monotonic() - started, 1)}, f)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
