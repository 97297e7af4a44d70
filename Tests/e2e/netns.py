"""A network namespace a test makes for a client whose network blocks UDP.

``ClientNamespace`` creates a namespace (``ip netns add``) joined to the
test's own namespace by a veth pair: the test's side gets ``server_ip``,
the client's side ``client_ip``, nothing is routed anywhere else.  Inside
the client namespace an nftables table drops UDP to the server (and, for
the TURN test, TCP to given ports), with counters that prove packets were
really dropped.  Everything is removed on exit, also after a failure.

``connect(host, port)`` opens a TCP connection from inside the namespace
(the socket keeps its namespace after the thread switches back), which is
how the test reaches the DevTools port of a Chromium started there.
"""

from __future__ import annotations

import ctypes
import json
import os
import socket
import subprocess

CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL(None, use_errno=True)


def _run(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(list(args), check=check, capture_output=True, text=True, timeout=10)


class ClientNamespace:
    """Use as a context manager; ``prefix`` runs a command inside."""

    def __init__(self, server_ip: str = "10.231.7.1", client_ip: str = "10.231.7.2", *, suffix: str = "",
                 default_route: bool = False) -> None:
        # ``suffix`` tells apart several namespaces of one test (one letter: link names stay within 15 characters).
        tag = f"{os.getpid() % 100000}{suffix}"
        self.name = f"cohort-e2e-{tag}"
        self.host_link = f"vcs{tag}"
        self.client_link = f"vcc{tag}"
        self.server_ip = server_ip
        self.client_ip = client_ip
        # With ``default_route`` the client reaches every address of the test's namespace through its pair
        # (a server listening on another namespace's pair), and still nothing beyond: the test's namespace
        # forwards nothing.
        self.default_route = default_route

    @property
    def prefix(self) -> list[str]:
        return ["ip", "netns", "exec", self.name]

    def __enter__(self) -> "ClientNamespace":
        self._cleanup()
        try:
            _run("ip", "netns", "add", self.name)
            _run("ip", "link", "add", self.host_link, "type", "veth", "peer", "name", self.client_link)
            _run("ip", "link", "set", self.client_link, "netns", self.name)
            # No IPv6 on the pair: a link-local address appears a second or two
            # after the link comes up (duplicate address detection), and a
            # browser already running in the test's namespace takes that as a
            # network change and aborts its loads (net::ERR_NETWORK_CHANGED; once
            # a page's module, so the web client never started).
            inside = self.prefix
            _run("sysctl", "-qw", f"net.ipv6.conf.{self.host_link}.disable_ipv6=1", check=False)
            _run(*inside, "sysctl", "-qw", f"net.ipv6.conf.{self.client_link}.disable_ipv6=1", check=False)
            _run("ip", "addr", "add", f"{self.server_ip}/24", "dev", self.host_link)
            _run("ip", "link", "set", self.host_link, "up")
            _run(*inside, "ip", "link", "set", "lo", "up")
            _run(*inside, "ip", "addr", "add", f"{self.client_ip}/24", "dev", self.client_link)
            _run(*inside, "ip", "link", "set", self.client_link, "up")
            if self.default_route:
                _run(*inside, "ip", "route", "add", "default", "via", self.server_ip)
        except BaseException:
            self._cleanup()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self._cleanup()

    def _cleanup(self) -> None:
        _run("ip", "link", "del", self.host_link, check=False)
        _run("ip", "netns", "del", self.name, check=False)

    def block(self, udp: bool = True, tcp_ports: list[int] | None = None) -> None:
        """Inside the namespace: drop (and count) UDP to the server and TCP to ``tcp_ports`` on it."""
        rules = []
        if udp:
            rules.append(f'ip daddr {self.server_ip} meta l4proto udp counter drop comment "udp"')
        if tcp_ports:
            ports = ", ".join(str(p) for p in tcp_ports)
            rules.append(f'ip daddr {self.server_ip} tcp dport {{ {ports} }} counter drop comment "tcp"')
        script = "table inet cohort_e2e {\n chain out {\n  type filter hook output priority 0; policy accept;\n  " \
                 + "\n  ".join(rules) + "\n }\n}\n"
        subprocess.run([*self.prefix, "nft", "-f", "-"], input=script, check=True, capture_output=True, text=True, timeout=10)

    def dropped(self) -> dict[str, int]:
        """Packets each blocking rule dropped so far, by its comment (udp, tcp)."""
        out = json.loads(_run(*self.prefix, "nft", "-j", "list", "table", "inet", "cohort_e2e").stdout)
        counts: dict[str, int] = {}
        for item in out.get("nftables", []):
            rule = item.get("rule")
            if not rule:
                continue
            for e in rule.get("expr", []):
                if "counter" in e:
                    counts[rule.get("comment", "?")] = e["counter"]["packets"]
        return counts

    def connect(self, host: str, port: int, timeout: float = 5.0) -> socket.socket:
        """A TCP connection to ``host:port`` made inside the namespace."""
        own = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
        target = os.open(f"/run/netns/{self.name}", os.O_RDONLY)
        try:
            if _libc.setns(target, CLONE_NEWNET) != 0:
                raise OSError(ctypes.get_errno(), "setns into the client namespace")
            try:
                sock = socket.create_connection((host, port), timeout=timeout)
            finally:
                if _libc.setns(own, CLONE_NEWNET) != 0:
                    raise OSError(ctypes.get_errno(), "setns back")
        finally:
            os.close(own)
            os.close(target)
        sock.setblocking(False)
        return sock
