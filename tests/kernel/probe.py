# The probe agent of hwc's kernel-truth tests (tests/kernel/README.md).
#
# One agent runs in one network namespace as one user. It reads one JSON
# command per line on stdin and answers with one JSON line on stdout:
#   {"op": "listen", "tcp": [[addr, port], ...], "udp": [[addr, port], ...]}
#       serve TCP and UDP echo on these addresses (in a background thread)
#   {"op": "probe", "quiet": SECONDS, "probes": [PROBE, ...]}
#       run every probe at once until all are done or nothing happened
#       for SECONDS; answer {"results": {id: outcome}}
# A PROBE is {"id", "kind": "tcp"|"udp"|"icmp", "src", "sport", "dst",
# "dport", "keep", "again"}. `sport` is the ICMP echo id for "icmp".
# "keep" keeps the socket for a later probe with "again", which sends
# once more on it. Outcomes:
#   tcp:  echo-ok | connect-timeout (no answer to the SYN) | echo-timeout
#         (connected, no echo) | refused (a reset or an ICMP error at any
#         stage: one for the handshake's last ACK can beat the connect)
#   udp, icmp: reply | refused | denied | timeout
# "denied" is a send that failed with EPERM (dropped in the local OUTPUT
# hook); "refused" is any error the socket got back (an ICMP error or a
# TCP reset: every socket sets IP_RECVERR, so all of them are reported).
import errno
import json
import selectors
import socket
import sys
import threading
import time

IP_RECVERR = 11
IPV6_RECVERR = 25


def family(addr):
    return socket.AF_INET6 if ":" in addr else socket.AF_INET


def endpoint(addr, port):
    return (addr, port, 0, 0) if ":" in addr else (addr, port)


def recverr(s, fam):
    if fam == socket.AF_INET:
        s.setsockopt(socket.IPPROTO_IP, IP_RECVERR, 1)
    else:
        s.setsockopt(socket.IPPROTO_IPV6, IPV6_RECVERR, 1)


def serve(sel):
    while True:
        for key, _ in sel.select():
            s, kind = key.fileobj, key.data
            try:
                if kind == "listen":
                    c, _ = s.accept()
                    c.setblocking(False)
                    sel.register(c, selectors.EVENT_READ, "conn")
                elif kind == "conn":
                    data = s.recv(64)
                    if data:
                        s.send(data)
                    else:
                        sel.unregister(s)
                        s.close()
                else:
                    data, peer = s.recvfrom(64)
                    s.sendto(data, peer)
            except OSError:
                if kind == "conn":
                    sel.unregister(s)
                    s.close()


def listen(cmd, state):
    sel = state.setdefault("sel", selectors.DefaultSelector())
    for addr, port in cmd.get("tcp", []):
        s = socket.socket(family(addr), socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(endpoint(addr, port))
        s.listen(256)
        s.setblocking(False)
        sel.register(s, selectors.EVENT_READ, "listen")
    for addr, port in cmd.get("udp", []):
        s = socket.socket(family(addr), socket.SOCK_DGRAM)
        s.bind(endpoint(addr, port))
        s.setblocking(False)
        sel.register(s, selectors.EVENT_READ, "udp")
    if "thread" not in state:
        state["thread"] = threading.Thread(target=serve, args=(sel,), daemon=True)
        state["thread"].start()
    return {"ok": True}


def echo_request(fam, seq):
    kind = 8 if fam == socket.AF_INET else 128
    # type, code, checksum, id, sequence: the kernel fills in id and checksum.
    return bytes([kind, 0, 0, 0, 0, 0, seq >> 8, seq & 255]) + b"hwc"


class Probe:
    def __init__(self, p, kept):
        self.id = p["id"]
        self.kind = p["kind"]
        self.result = None
        self.stage = None
        if p.get("again"):
            self.s, self.fam, self.seq = kept.pop(self.id)
            self.stage = "echo" if self.kind == "tcp" else "reply"
            self.send()
            return
        self.fam = family(p["dst"])
        self.seq = 1
        if self.kind == "tcp":
            self.s = socket.socket(self.fam, socket.SOCK_STREAM)
            self.s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        elif self.kind == "udp":
            self.s = socket.socket(self.fam, socket.SOCK_DGRAM)
        else:
            proto = socket.IPPROTO_ICMP if self.fam == socket.AF_INET else socket.IPPROTO_ICMPV6
            self.s = socket.socket(self.fam, socket.SOCK_DGRAM, proto)
        recverr(self.s, self.fam)
        self.s.bind(endpoint(p["src"], p["sport"]))
        self.s.setblocking(False)
        dst = endpoint(p["dst"], p["dport"] if self.kind != "icmp" else 0)
        if self.kind == "tcp":
            self.stage = "connect"
            err = self.s.connect_ex(dst)
            if err not in (0, errno.EINPROGRESS):
                self.result = "refused"
        else:
            self.stage = "reply"
            self.s.connect(dst)
            self.send()

    def send(self):
        try:
            if self.kind == "tcp":
                self.s.send(b"x")
            elif self.kind == "udp":
                self.s.send(b"x")
            else:
                self.s.send(echo_request(self.fam, self.seq))
        except OSError as e:
            if e.errno == errno.EPERM and self.kind != "tcp":
                self.result = "denied"
            else:
                self.result = "refused"

    def events(self):
        return selectors.EVENT_WRITE if self.stage == "connect" else selectors.EVENT_READ

    def ready(self):
        if self.stage == "connect":
            err = self.s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            if err:
                self.result = "refused"
                return
            self.stage = "echo"
            self.send()
            return
        try:
            data = self.s.recv(64)
        except BlockingIOError:
            return
        except OSError:
            self.result = "refused"
            return
        if self.kind == "tcp":
            self.result = "echo-ok" if data else "echo-closed"
        else:
            self.result = "reply"

    def timeout(self):
        if self.kind == "tcp":
            return "connect-timeout" if self.stage == "connect" else "echo-timeout"
        return "timeout"


def probe(cmd, state):
    kept = state.setdefault("kept", {})
    probes = []
    for p in cmd["probes"]:
        try:
            probes.append((Probe(p, kept), p.get("keep", False)))
        except OSError as e:
            return {"error": "probe %s: %s" % (json.dumps(p), e)}
    sel = selectors.DefaultSelector()
    waiting = {}
    for pr, _ in probes:
        if pr.result is None:
            sel.register(pr.s, pr.events(), pr)
            waiting[pr.id] = pr
    # Wait until nothing has happened for `quiet` seconds. Events that
    # came in while this process was not scheduled are still read: the
    # last round polls without waiting.
    quiet = cmd["quiet"]
    last = time.monotonic()
    while waiting:
        left = max(0.0, last + quiet - time.monotonic())
        events = sel.select(left)
        for key, _ in events:
            pr = key.data
            before = pr.stage
            pr.ready()
            if pr.result is not None:
                sel.unregister(pr.s)
                del waiting[pr.id]
            elif pr.stage != before:
                sel.modify(pr.s, pr.events(), pr)
        if events:
            last = time.monotonic()
        elif left == 0.0:
            break
    results = {}
    for pr, keep in probes:
        results[pr.id] = pr.result if pr.result is not None else pr.timeout()
        if keep:
            pr.seq += 1
            kept[pr.id] = (pr.s, pr.fam, pr.seq)
        else:
            pr.s.close()
    sel.close()
    return {"results": results}


def main():
    state = {}
    for line in sys.stdin:
        cmd = json.loads(line)
        try:
            if cmd["op"] == "listen":
                out = listen(cmd, state)
            else:
                out = probe(cmd, state)
        except OSError as e:
            out = {"error": str(e)}
        sys.stdout.write(json.dumps(out) + "\n")
        sys.stdout.flush()


main()
