"""The mega_cli command table: 420 commands generated from a table of operations.

Each category (``dev``, ``net``, ``sys``, ``user``, ``file``, ``chat``, ``ai``) has a
list of *operations* — small, deterministic computations such as "the SHA-256 digest of
a text" or "the broadcast address of a network" — and each operation has *variants*
(which algorithm, which field, which width …). Command ``<category>_cmd_<n>`` is the
n-th (operation, variant) pair of its category, taken round-robin over the operations,
so neighbouring commands do different things. Its help text is written from the same
table: what it computes, its arguments and options with their defaults, and an example
with the output it prints.

This module is imported only when a command group is invoked or its help is shown
(see :class:`plexichat_mega_cli.CategoryGroup`), and by the plugin's router and
self-test; ``plexichat --help`` never imports it.
"""

from __future__ import annotations

import base64
import fnmatch
import hashlib
import ipaddress
import json
import math
import re
import textwrap
import uuid
import zlib
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timezone
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import parse_qsl, quote, urlsplit

import click

from plexichat import command_fields, current_user

from . import CATEGORIES, COMMANDS_PER_CATEGORY

__all__ = [
    "MegaCommand",
    "Operation",
    "all_commands",
    "build_commands",
    "command_table",
    "find_command",
]

# --- the table's building blocks ---------------------------------------------------------


@dataclass(frozen=True)
class Arg:
    """A positional argument of an operation (click arguments have no help: the command's
    help text lists them)."""

    name: str
    metavar: str
    help: str
    type: Any = str


@dataclass(frozen=True)
class Opt:
    """An option of an operation; ``default`` may name a key of the variant (``"=key"``)."""

    flag: str
    type: Any
    default: Any
    help: str

    @property
    def dest(self) -> str:
        return self.flag.lstrip("-").replace("-", "_")


@dataclass(frozen=True)
class Operation:
    """One kind of computation of a category, with its variants."""

    category: str
    key: str
    title: str
    """One line, formatted with the variant (``"{algo} digest of TEXT"``)."""
    about: str
    """A paragraph, formatted with the variant."""
    params: tuple[Arg | Opt, ...]
    variants: tuple[dict[str, Any], ...]
    run: Callable[..., str]
    """``run(variant, **params) -> the line the command prints``."""
    example: tuple[str, ...]
    reads_files: bool = False
    """The command reads a file named on its command line."""
    host_facts: bool = False
    """The command reveals facts about the machine it runs on."""


OPERATIONS: dict[str, list[Operation]] = {name: [] for name in CATEGORIES}


def operation(category: str, key: str, title: str, about: str, params: tuple[Arg | Opt, ...],
              variants: list[dict[str, Any]], example: tuple[str, ...], *,
              reads_files: bool = False, host_facts: bool = False,
              ) -> Callable[[Callable[..., str]], Callable[..., str]]:
    """Add the decorated function to the table as an operation of ``category``."""

    def add(run: Callable[..., str]) -> Callable[..., str]:
        OPERATIONS[category].append(Operation(
            category, key, title, about, params, tuple(variants), run, example,
            reads_files, host_facts))
        return run

    return add


def _words(text: str) -> list[str]:
    return re.findall(r"[A-Za-z0-9']+", text)


def _identifier_words(identifier: str) -> list[str]:
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", identifier)
    return [w.lower() for w in re.split(r"[^A-Za-z0-9]+", spaced) if w]


def _sentences(text: str) -> list[str]:
    return [s.strip() for s in re.split(r"(?<=[.!?])\s+", text.strip()) if s.strip()]


def _human(size: float, system: str, precision: int) -> str:
    base, units = (1000, ["B", "kB", "MB", "GB", "TB", "PB"]) if system == "SI" else (
        1024, ["B", "KiB", "MiB", "GiB", "TiB", "PiB"])
    value, unit = float(size), units[0]
    for unit in units:
        if abs(value) < base or unit == units[-1]:
            break
        value /= base
    return f"{value:.{precision}f} {unit}" if unit != "B" else f"{int(size)} B"


def _read(path: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise click.ClickException(f"cannot read {path}: {exc.strerror or exc}") from None


STOPWORDS = frozenset(
    "a an and are as at be but by for from has have he her his i if in into is it its "
    "me my not of on or our she so that the their them then there these they this to "
    "was we were what when which who will with you your".split())


# --- dev ---------------------------------------------------------------------------------

_TEXT = Arg("text", "TEXT", "the text to work on")


@operation("dev", "digest", "{algo} digest of TEXT, first {length} hex digits",
           "Hashes TEXT (UTF-8) with {algo} and prints the first {length} hexadecimal "
           "digits: a short, stable fingerprint for cache keys and build ids.",
           (_TEXT, Opt("--length", int, "=length", "hex digits to print")),
           [{"algo": a, "length": n} for n in (12, 20)
            for a in ("sha256", "sha1", "md5", "blake2b", "sha512")],
           ("hello",))
def _digest(v: dict[str, Any], text: str, length: int) -> str:
    return hashlib.new(v["algo"], text.encode()).hexdigest()[:max(1, length)]


_CASES: dict[str, Callable[[list[str]], str]] = {
    "snake": lambda w: "_".join(w),
    "kebab": lambda w: "-".join(w),
    "camel": lambda w: w[0] + "".join(x.title() for x in w[1:]) if w else "",
    "pascal": lambda w: "".join(x.title() for x in w),
    "constant": lambda w: "_".join(w).upper(),
    "dot": lambda w: ".".join(w),
    "path": lambda w: "/".join(w),
    "title": lambda w: " ".join(x.title() for x in w),
    "train": lambda w: "-".join(x.title() for x in w),
    "flat": lambda w: "".join(w),
}


@operation("dev", "case", "Rewrite IDENTIFIER in {style} case",
           "Splits IDENTIFIER into words (at underscores, dashes, dots, spaces and "
           "lower-to-upper changes) and joins them again in {style} case.",
           (Arg("identifier", "IDENTIFIER", "a name in any case style"),),
           [{"style": s} for s in _CASES], ("parseHTTPResponse_code",))
def _case(v: dict[str, Any], identifier: str) -> str:
    return _CASES[v["style"]](_identifier_words(identifier))


@operation("dev", "bump", "Bump the {part} part of VERSION by {step}",
           "Reads VERSION as MAJOR.MINOR.PATCH (with an optional rcN or .devN suffix) and "
           "raises its {part} part by {step}; the parts after it are reset.",
           (Arg("version", "VERSION", "a version such as 1.4.2"),),
           [{"part": p, "step": s} for s in (1, 2)
            for p in ("major", "minor", "patch", "rc", "dev")], ("1.4.2",))
def _bump(v: dict[str, Any], version: str) -> str:
    match = re.fullmatch(r"(\d+)\.(\d+)\.(\d+)(?:rc(\d+)|\.dev(\d+))?", version.strip())
    if match is None:
        raise click.BadParameter(f"{version!r} is not MAJOR.MINOR.PATCH[rcN|.devN]",
                                 param_hint="VERSION")
    major, minor, patch = (int(match.group(i)) for i in (1, 2, 3))
    rc, dev, step, part = match.group(4), match.group(5), v["step"], v["part"]
    if part == "major":
        return f"{major + step}.0.0"
    if part == "minor":
        return f"{major}.{minor + step}.0"
    if part == "patch":
        return f"{major}.{minor}.{patch + step}"
    if part == "rc":
        return (f"{major}.{minor}.{patch}rc{int(rc) + step}" if rc
                else f"{major}.{minor}.{patch + 1}rc{step}")
    return (f"{major}.{minor}.{patch}.dev{int(dev) + step}" if dev
            else f"{major}.{minor}.{patch + 1}.dev{step}")


_DIGITS = "0123456789abcdefghijklmnopqrstuvwxyz"


@operation("dev", "base", "Write NUMBER in base {base}",
           "Converts the integer NUMBER (decimal, or 0x/0o/0b prefixed) to base {base} "
           "with the digits 0-9a-z, zero-padded to --width digits.",
           (Arg("number", "NUMBER", "an integer"),
            Opt("--width", int, 0, "pad to this many digits")),
           [{"base": b} for b in (2, 3, 4, 5, 7, 8, 12, 16, 32, 36)], ("255",))
def _base(v: dict[str, Any], number: str, width: int) -> str:
    try:
        n = int(number, 0)
    except ValueError:
        raise click.BadParameter(f"{number!r} is not an integer", param_hint="NUMBER") from None
    sign, n, out = ("-" if n < 0 else ""), abs(n), ""
    while True:
        n, digit = divmod(n, v["base"])
        out = _DIGITS[digit] + out
        if n == 0:
            break
    return sign + out.rjust(width, "0")


_ESCAPES: dict[str, Callable[[str], str]] = {
    "json": lambda t: json.dumps(t),
    "python": repr,
    "url": lambda t: quote(t, safe=""),
    "html": lambda t: (t.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
                       .replace('"', "&quot;")),
    "shell": lambda t: "'" + t.replace("'", "'\"'\"'") + "'",
    "base64": lambda t: base64.b64encode(t.encode()).decode(),
    "base32": lambda t: base64.b32encode(t.encode()).decode(),
    "hex": lambda t: t.encode().hex(),
    "rot13": lambda t: t.translate(str.maketrans(
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
        "NOPQRSTUVWXYZABCDEFGHIJKLMnopqrstuvwxyzabcdefghijklm")),
    "unicode": lambda t: t.encode("unicode_escape").decode(),
}


@operation("dev", "escape", "Escape TEXT for {target}",
           "Prints TEXT escaped (or encoded) as {target} would need it, e.g. to paste it "
           "into a config file, a URL or a shell command.",
           (_TEXT,), [{"target": t} for t in _ESCAPES], ('say "hi" & <bye>',))
def _escape(v: dict[str, Any], text: str) -> str:
    return _ESCAPES[v["target"]](text)


_NAMESPACES = {"dns": uuid.NAMESPACE_DNS, "url": uuid.NAMESPACE_URL,
               "oid": uuid.NAMESPACE_OID, "x500": uuid.NAMESPACE_X500}


@operation("dev", "uuid", "UUID version {version} of NAME in the {namespace} namespace",
           "Derives the name-based UUID (version {version}, RFC 4122) of NAME in the "
           "{namespace} namespace: the same NAME always gives the same UUID.",
           (Arg("name", "NAME", "the name to derive the UUID from"),),
           [{"version": ver, "namespace": ns} for ver in (5, 3) for ns in _NAMESPACES],
           ("plexichat.example",))
def _uuid(v: dict[str, Any], name: str) -> str:
    make = uuid.uuid5 if v["version"] == 5 else uuid.uuid3
    return str(make(_NAMESPACES[v["namespace"]], name))


@operation("dev", "checksum", "{kind} checksum of TEXT",
           "Computes the {kind} checksum of TEXT's UTF-8 bytes, the quick integrity "
           "check of {use}.",
           (_TEXT,),
           [{"kind": "CRC-32", "use": "zip and PNG"}, {"kind": "Adler-32", "use": "zlib"},
            {"kind": "Fletcher-16", "use": "serial protocols"},
            {"kind": "8-bit sum", "use": "simple firmware images"},
            {"kind": "8-bit XOR", "use": "NMEA sentences"}], ("hello",))
def _checksum(v: dict[str, Any], text: str) -> str:
    data, kind = text.encode(), v["kind"]
    if kind == "CRC-32":
        return f"{zlib.crc32(data):08x}"
    if kind == "Adler-32":
        return f"{zlib.adler32(data):08x}"
    if kind == "Fletcher-16":
        a = b = 0
        for byte in data:
            a = (a + byte) % 255
            b = (b + a) % 255
        return f"{(b << 8) | a:04x}"
    if kind == "8-bit sum":
        return f"{sum(data) % 256:02x}"
    x = 0
    for byte in data:
        x ^= byte
    return f"{x:02x}"


# --- net ---------------------------------------------------------------------------------

_NETWORK = Arg("network", "NETWORK", "an IPv4 or IPv6 network such as 192.168.10.0/24")


def _net(text: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    try:
        return ipaddress.ip_network(text, strict=False)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="NETWORK") from None


def _ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    try:
        return ipaddress.ip_address(text)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="ADDRESS") from None


_NET_FIELDS: dict[str, tuple[str, Callable[[Any], Any]]] = {
    "network address": ("its first address", lambda n: n.network_address),
    "broadcast address": ("its last address", lambda n: n.broadcast_address),
    "netmask": ("the mask of its prefix", lambda n: n.netmask),
    "hostmask": ("the inverse of the netmask (Cisco wildcard)", lambda n: n.hostmask),
    "address count": ("how many addresses it spans", lambda n: n.num_addresses),
    "first host": ("the first usable host address",
                   lambda n: next(iter(n.hosts()), n.network_address)),
    "last host": ("the last usable host address",
                  lambda n: n.broadcast_address - 1 if n.num_addresses > 2
                  else n.broadcast_address),
    "prefix length": ("the number of network bits", lambda n: n.prefixlen),
    "reverse zone": ("its reverse-DNS name", lambda n: n.network_address.reverse_pointer),
    "privacy": ("whether it is private (RFC 1918 / ULA) or public",
                lambda n: "private" if n.is_private else "public"),
}


@operation("net", "cidr", "The {field} of NETWORK",
           "Reads NETWORK in CIDR notation (host bits are ignored) and prints its "
           "{field}: {meaning}.", (_NETWORK,),
           [{"field": f, "meaning": m} for f, (m, _) in _NET_FIELDS.items()],
           ("192.168.10.77/24",))
def _cidr(v: dict[str, Any], network: str) -> str:
    return str(_NET_FIELDS[v["field"]][1](_net(network)))


@operation("net", "subnet", "Split NETWORK into 2^{bits} subnets",
           "Divides NETWORK into 2^{bits} equal subnets ({bits} more prefix bits) and "
           "prints them, at most --limit of them.",
           (_NETWORK, Opt("--limit", int, 8, "subnets to print at most")),
           [{"bits": b} for b in range(1, 11)], ("10.0.0.0/16",))
def _subnet(v: dict[str, Any], network: str, limit: int) -> str:
    net = _net(network)
    if net.prefixlen + v["bits"] > net.max_prefixlen:
        raise click.BadParameter(f"{net} has fewer than {v['bits']} host bits",
                                 param_hint="NETWORK")
    subnets = []
    for i, sub in enumerate(net.subnets(prefixlen_diff=v["bits"])):
        if i >= max(1, limit):
            subnets.append(f"... ({2 ** v['bits'] - i} more)")
            break
        subnets.append(str(sub))
    return " ".join(subnets)


_SERVICES = {20: "ftp-data", 21: "ftp", 22: "ssh", 23: "telnet", 25: "smtp", 53: "dns",
             67: "dhcp", 80: "http", 110: "pop3", 123: "ntp", 143: "imap", 161: "snmp",
             389: "ldap", 443: "https", 465: "smtps", 514: "syslog", 587: "submission",
             636: "ldaps", 993: "imaps", 995: "pop3s", 1883: "mqtt", 3306: "mysql",
             5432: "postgresql", 5672: "amqp", 6379: "redis", 8000: "plexichat",
             8080: "http-alt", 9200: "elasticsearch", 27017: "mongodb"}


@operation("net", "port", "{question} for PORT",
           "Looks PORT up: {explain}.",
           (Arg("port", "PORT", "a TCP/UDP port number (0-65535)", int),),
           [{"question": "The service usually found", "explain":
             "the service that conventionally listens there (from a built-in table of "
             "common services)"},
            {"question": "The IANA range", "explain": "system (0-1023), user (1024-49151) "
             "or dynamic/private (49152-65535)"},
            {"question": "Whether root is needed", "explain": "binding ports below 1024 "
             "needs privileges on most Unix systems"},
            {"question": "The hexadecimal value", "explain": "the port as it appears in "
             "/proc/net/tcp and packet dumps"}], ("5432",))
def _port(v: dict[str, Any], port: int) -> str:
    if not 0 <= port <= 65535:
        raise click.BadParameter("a port is 0-65535", param_hint="PORT")
    question = v["question"]
    if question.startswith("The service"):
        return _SERVICES.get(port, "unknown")
    if question.startswith("The IANA"):
        return "system" if port < 1024 else "user" if port < 49152 else "dynamic"
    if question.startswith("Whether"):
        return "privileged" if port < 1024 else "unprivileged"
    return f"{port:04X}"


_URL_PARTS: dict[str, Callable[[Any], Any]] = {
    "scheme": lambda u: u.scheme,
    "host": lambda u: u.hostname or "",
    "port": lambda u: u.port or {"http": 80, "https": 443, "ftp": 21, "ws": 80,
                                 "wss": 443}.get(u.scheme, ""),
    "path": lambda u: u.path or "/",
    "query": lambda u: u.query,
    "fragment": lambda u: u.fragment,
    "user name": lambda u: u.username or "",
    "origin": lambda u: f"{u.scheme}://{u.netloc.rpartition('@')[2]}",
    "query keys": lambda u: ",".join(sorted({k for k, _ in parse_qsl(u.query)})),
    "path depth": lambda u: len([p for p in u.path.split("/") if p]),
}


@operation("net", "url", "The {part} of URL",
           "Parses URL (RFC 3986) and prints its {part}; default ports are filled in for "
           "http, https, ftp, ws and wss.",
           (Arg("url", "URL", "an absolute URL"),), [{"part": p} for p in _URL_PARTS],
           ("https://ada@chat.example.org/api/v1/users?limit=5&sort=name#top",))
def _url(v: dict[str, Any], url: str) -> str:
    try:
        return str(_URL_PARTS[v["part"]](urlsplit(url)))
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="URL") from None


_IP_FACTS: dict[str, Callable[[Any], Any]] = {
    "integer value": int,
    "hexadecimal value": lambda a: f"0x{int(a):0{a.max_prefixlen // 4}x}",
    "binary digits": lambda a: (".".join(f"{b:08b}" for b in a.packed) if a.version == 4
                         else ":".join(f"{int.from_bytes(a.packed[i:i + 2], 'big'):016b}"
                                       for i in range(0, 16, 2))),
    "IPv6 form": lambda a: (ipaddress.IPv6Address(f"::ffff:{a}") if a.version == 4
                            else a.exploded),
    "reverse pointer": lambda a: a.reverse_pointer,
    "classful class": lambda a: "n/a (IPv6)" if a.version == 6 else next(
        c for limit, c in ((128, "A"), (192, "B"), (224, "C"), (240, "D"), (256, "E"))
        if a.packed[0] < limit),
    "scope": lambda a: ("loopback" if a.is_loopback else "link-local" if a.is_link_local
                        else "multicast" if a.is_multicast else "private" if a.is_private
                        else "global"),
    "IP version": lambda a: f"IPv{a.version}",
    "packed base64": lambda a: base64.b64encode(a.packed).decode(),
    "compressed form": lambda a: a.compressed,
}


@operation("net", "ip", "ADDRESS: its {fact}",
           "Reads the IPv4 or IPv6 ADDRESS and prints its {fact}.",
           (Arg("address", "ADDRESS", "an IPv4 or IPv6 address"),),
           [{"fact": f} for f in _IP_FACTS], ("172.16.5.4",))
def _ipfact(v: dict[str, Any], address: str) -> str:
    return str(_IP_FACTS[v["fact"]](_ip(address)))


@operation("net", "transfer", "Time to send SIZE megabytes at {rate} Mbit/s"
           "{overhead_text}",
           "Estimates how long a transfer of SIZE megabytes (10^6 bytes) takes on a "
           "{rate} Mbit/s link{overhead_text}.",
           (Arg("size", "SIZE", "megabytes to send", float),),
           [{"rate": r, "overhead": o,
             "overhead_text": f" with {o}% protocol overhead" if o else ""}
            for o in (0, 10) for r in (1, 10, 100, 1000, 10000)], ("700",))
def _transfer(v: dict[str, Any], size: float) -> str:
    seconds = size * 8 / v["rate"] * (1 + v["overhead"] / 100)
    return _clock(seconds)


def _clock(seconds: float) -> str:
    whole = round(seconds)
    if whole < 60:
        return f"{seconds:.2f} s"
    hours, rest = divmod(whole, 3600)
    return f"{hours:02d}:{rest // 60:02d}:{rest % 60:02d}"


@operation("net", "mac", "MAC address in {style} notation",
           "Normalises the MAC ADDRESS (any separator or none) and writes it in {style} "
           "notation.", (Arg("address", "ADDRESS", "a 48-bit MAC address"),),
           [{"style": s} for s in ("colon", "upper colon", "dash", "Cisco dot", "bare",
                                   "EUI-64 link-local")], ("00-1A-2b-3C-4d-5E",))
def _mac(v: dict[str, Any], address: str) -> str:
    digits = re.sub(r"[^0-9a-fA-F]", "", address).lower()
    if len(digits) != 12:
        raise click.BadParameter("a MAC address has 12 hex digits", param_hint="ADDRESS")
    pairs = [digits[i:i + 2] for i in range(0, 12, 2)]
    style = v["style"]
    if style == "colon":
        return ":".join(pairs)
    if style == "upper colon":
        return ":".join(pairs).upper()
    if style == "dash":
        return "-".join(pairs).upper()
    if style == "Cisco dot":
        return ".".join(digits[i:i + 4] for i in range(0, 12, 4))
    if style == "bare":
        return digits
    first = int(pairs[0], 16) ^ 0x02
    eui = [f"{first:02x}", *pairs[1:3], "ff", "fe", *pairs[3:]]
    groups = ["".join(eui[i:i + 2]) for i in range(0, 8, 2)]
    return str(ipaddress.IPv6Address("fe80::" + ":".join(groups)))


# --- sys ---------------------------------------------------------------------------------

@operation("sys", "bytes", "BYTES in {label}",
           "Writes a byte count for people: {label}.",
           (Arg("count", "BYTES", "a number of bytes", int),),
           [*({"system": s, "precision": p, "unit": None,
               "label": f"{'decimal (kB, MB …)' if s == 'SI' else 'binary (KiB, MiB …)'} "
                        f"units with {p} decimals"} for s in ("SI", "IEC") for p in (0, 1, 2)),
            *({"system": None, "precision": 3, "unit": u, "label": f"{u} (3 decimals)"}
              for u in ("KiB", "MiB", "GiB", "MB"))], ("123456789",))
def _bytes(v: dict[str, Any], count: int) -> str:
    if v["unit"]:
        factor = {"KiB": 1024, "MiB": 1024 ** 2, "GiB": 1024 ** 3, "MB": 1000 ** 2}[v["unit"]]
        return f"{count / factor:.3f} {v['unit']}"
    return _human(count, v["system"], v["precision"])


def _duration_parts(seconds: int) -> list[tuple[int, str]]:
    parts, rest = [], seconds
    for size, name in ((86400, "day"), (3600, "hour"), (60, "minute"), (1, "second")):
        count, rest = divmod(rest, size)
        parts.append((count, name))
    return parts


def _iso_duration(seconds: int) -> str:
    if not seconds:
        return "PT0S"
    days, rest = divmod(seconds, 86400)
    clock = "".join(f"{n}{unit}" for n, unit in (
        (rest // 3600, "H"), (rest % 3600 // 60, "M"), (rest % 60, "S")) if n)
    return "P" + (f"{days}D" if days else "") + (f"T{clock}" if clock else "")


_DURATIONS: dict[str, Callable[[int], str]] = {
    "compact": lambda s: "".join(f"{n}{u[0]}" for n, u in _duration_parts(s) if n) or "0s",
    "long": lambda s: ", ".join(f"{n} {u}{'s' if n != 1 else ''}"
                                for n, u in _duration_parts(s) if n) or "0 seconds",
    "clock": lambda s: f"{s // 3600:02d}:{s % 3600 // 60:02d}:{s % 60:02d}",
    "ISO 8601": lambda s: _iso_duration(s),
    "days": lambda s: f"{s / 86400:.4f} days",
    "hours": lambda s: f"{s / 3600:.3f} hours",
    "minutes": lambda s: f"{s / 60:.2f} minutes",
}


_DURATION_LABELS = {"compact": "a compact duration", "long": "a duration in words",
                    "clock": "an hours:minutes:seconds clock", "ISO 8601": "an ISO 8601 duration",
                    "days": "decimal days", "hours": "decimal hours", "minutes": "decimal minutes"}


@operation("sys", "duration", "Write SECONDS as {label}",
           "Writes a number of seconds as {label}, for uptimes, timeouts and cache "
           "lifetimes.", (Arg("seconds", "SECONDS", "a whole number of seconds", int),),
           [{"style": s, "label": _DURATION_LABELS[s]} for s in _DURATIONS], ("93784",))
def _duration(v: dict[str, Any], seconds: int) -> str:
    if seconds < 0:
        raise click.BadParameter("must not be negative", param_hint="SECONDS")
    return _DURATIONS[v["style"]](seconds)


def _mode(text: str) -> int:
    try:
        mode = int(text, 8)
    except ValueError:
        raise click.BadParameter(f"{text!r} is not an octal mode", param_hint="MODE") from None
    if not 0 <= mode <= 0o7777:
        raise click.BadParameter("a mode is 0000-7777", param_hint="MODE")
    return mode


def _rwx(mode: int) -> str:
    out = ""
    for shift, special, char in ((6, 0o4000, "s"), (3, 0o2000, "s"), (0, 0o1000, "t")):
        bits = (mode >> shift) & 7
        x = "x" if bits & 1 else "-"
        if mode & special:
            x = char if bits & 1 else char.upper()
        out += ("r" if bits & 4 else "-") + ("w" if bits & 2 else "-") + x
    return out


_MODE_VIEWS: dict[str, Callable[[int], str]] = {
    "symbolic": _rwx,
    "owner": lambda m: _rwx(m)[0:3],
    "group": lambda m: _rwx(m)[3:6],
    "others": lambda m: _rwx(m)[6:9],
    "umask": lambda m: f"{~m & 0o777:03o}",
    "special bits": lambda m: ",".join(n for b, n in ((0o4000, "setuid"), (0o2000, "setgid"),
                                                       (0o1000, "sticky")) if m & b) or "none",
    "ls -l file": lambda m: "-" + _rwx(m),
    "ls -l directory": lambda m: "d" + _rwx(m),
}


@operation("sys", "mode", "The {view} view of permission MODE",
           "Reads MODE as an octal Unix permission (e.g. 0755) and prints its {view} view.",
           (Arg("mode", "MODE", "an octal mode such as 0640"),),
           [{"view": w} for w in _MODE_VIEWS], ("4755",))
def _modeview(v: dict[str, Any], mode: str) -> str:
    return _MODE_VIEWS[v["view"]](_mode(mode))


_SIGNALS = {1: ("SIGHUP", "terminate", "hangup; daemons reload their configuration"),
            2: ("SIGINT", "terminate", "interrupt from the keyboard (Ctrl-C)"),
            3: ("SIGQUIT", "core", "quit from the keyboard (Ctrl-\\)"),
            6: ("SIGABRT", "core", "abort()"),
            9: ("SIGKILL", "terminate", "kill; cannot be caught"),
            11: ("SIGSEGV", "core", "invalid memory reference"),
            13: ("SIGPIPE", "terminate", "write to a pipe nobody reads"),
            14: ("SIGALRM", "terminate", "timer from alarm()"),
            15: ("SIGTERM", "terminate", "polite request to stop"),
            17: ("SIGCHLD", "ignore", "a child stopped or ended (Linux numbering)"),
            19: ("SIGSTOP", "stop", "stop; cannot be caught (Linux numbering)")}


@operation("sys", "signal", "The {what} of POSIX signal NUMBER",
           "Looks the signal NUMBER up in the Linux numbering and prints its {what}.",
           (Arg("number", "NUMBER", "a signal number (1-19)", int),),
           [{"what": w} for w in ("name", "default action", "meaning", "catchability")],
           ("15",))
def _signal(v: dict[str, Any], number: int) -> str:
    if number not in _SIGNALS:
        raise click.BadParameter(f"known: {', '.join(map(str, _SIGNALS))}",
                                 param_hint="NUMBER")
    name, action, meaning = _SIGNALS[number]
    return {"name": name, "default action": action, "meaning": meaning,
            "catchability": "cannot be caught" if number in (9, 19) else "can be caught"
            }[v["what"]]


_SYSEXITS = {0: "EX_OK", 1: "general error", 2: "misuse of shell builtins (usage)",
             64: "EX_USAGE", 65: "EX_DATAERR", 66: "EX_NOINPUT", 69: "EX_UNAVAILABLE",
             70: "EX_SOFTWARE", 73: "EX_CANTCREAT", 74: "EX_IOERR", 75: "EX_TEMPFAIL",
             77: "EX_NOPERM", 78: "EX_CONFIG", 126: "found but not executable",
             127: "command not found"}


@operation("sys", "exit", "{what} of exit STATUS",
           "Explains a process exit STATUS as a shell reports it: {explain}.",
           (Arg("status", "STATUS", "an exit status (0-255)", int),),
           [{"what": "Meaning", "explain": "the sysexits.h name or the shell's convention"},
            {"what": "Outcome", "explain": "success or failure"},
            {"what": "Killing signal", "explain": "statuses above 128 are 128 + the signal"},
            {"what": "Retry advice", "explain": "whether running it again may help"}],
           ("143",))
def _exit(v: dict[str, Any], status: int) -> str:
    if not 0 <= status <= 255:
        raise click.BadParameter("an exit status is 0-255", param_hint="STATUS")
    what = v["what"]
    if what == "Meaning":
        if status > 128:
            return f"killed by signal {status - 128}"
        return _SYSEXITS.get(status, "program-specific failure")
    if what == "Outcome":
        return "success" if status == 0 else "failure"
    if what == "Killing signal":
        return _SIGNALS.get(status - 128, (f"signal {status - 128}",))[0] if status > 128 \
            else "none"
    return "yes" if status == 75 or status > 128 else "no" if status else "not needed"


@operation("sys", "capacity", "USED of TOTAL against {warn}%/{critical}% thresholds",
           "Prints the percentage of TOTAL that USED takes and whether it is ok, above "
           "the warning threshold ({warn}%) or above the critical one ({critical}%).",
           (Arg("used", "USED", "the amount in use", float),
            Arg("total", "TOTAL", "the capacity", float)),
           [{"warn": w, "critical": c} for w, c in ((60, 80), (70, 85), (75, 90), (80, 95),
                                                    (85, 98))], ("42", "50"))
def _capacity(v: dict[str, Any], used: float, total: float) -> str:
    if total <= 0:
        raise click.BadParameter("must be positive", param_hint="TOTAL")
    pct = used / total * 100
    state = "critical" if pct >= v["critical"] else "warning" if pct >= v["warn"] else "ok"
    return f"{pct:.1f}% {state}"


@operation("sys", "interval", "Runs per {period} of a job every MINUTES",
           "For a job scheduled every MINUTES minutes, prints how many times it runs in "
           "one {period} ({minutes_in} minutes).",
           (Arg("minutes", "MINUTES", "the interval in minutes", float),),
           [{"period": p, "minutes_in": m} for p, m in (
               ("hour", 60), ("day", 1440), ("week", 10080), ("30-day month", 43200),
               ("365-day year", 525600))], ("15",))
def _interval(v: dict[str, Any], minutes: float) -> str:
    if minutes <= 0:
        raise click.BadParameter("must be positive", param_hint="MINUTES")
    return f"{math.floor(v['minutes_in'] / minutes)}"


def _host_fact(name: str) -> str:
    import os
    import platform
    import sys

    return str({
        "Python version": platform.python_version,
        "Python implementation": platform.python_implementation,
        "operating system": platform.system,
        "machine type": platform.machine,
        "byte order": lambda: sys.byteorder,
        "largest list index": lambda: sys.maxsize,
        "recursion limit": sys.getrecursionlimit,
        "file system encoding": sys.getfilesystemencoding,
        "CPU count": os.cpu_count,
    }[name]())


@operation("sys", "host", "This machine's {fact}",
           "Prints the {fact} of the machine and Python running the command. It reveals "
           "facts about the host, so over the HTTP API only an admin may run it.",
           (), [{"fact": f} for f in ("Python version", "Python implementation",
                                      "operating system", "machine type", "byte order",
                                      "largest list index", "recursion limit",
                                      "file system encoding", "CPU count")], (),
           host_facts=True)
def _host(v: dict[str, Any]) -> str:
    return _host_fact(v["fact"])


def _epoch(ts: float) -> datetime:
    try:
        return datetime.fromtimestamp(ts, tz=timezone.utc)
    except (OverflowError, OSError, ValueError):
        raise click.BadParameter("out of range", param_hint="TIMESTAMP") from None


_EPOCH_VIEWS: dict[str, Callable[[datetime], str]] = {
    "ISO 8601 time": lambda d: d.isoformat(),
    "RFC 2822 date": lambda d: d.strftime("%a, %d %b %Y %H:%M:%S +0000"),
    "calendar date": lambda d: d.date().isoformat(),
    "weekday": lambda d: d.strftime("%A"),
    "ISO week": lambda d: "{}-W{:02d}".format(*d.isocalendar()[:2]),
    "day of the year": lambda d: str(d.timetuple().tm_yday),
    "month name": lambda d: d.strftime("%B"),
    "quarter": lambda d: f"{d.year}-Q{(d.month - 1) // 3 + 1}",
    "seconds since midnight": lambda d: str(d.hour * 3600 + d.minute * 60 + d.second),
    "leap-year status": lambda d: "leap year" if d.year % 4 == 0 and (
        d.year % 100 != 0 or d.year % 400 == 0) else "common year",
}


@operation("sys", "epoch", "The {view} of a Unix TIMESTAMP (UTC)",
           "Reads TIMESTAMP as seconds since 1970-01-01 UTC and prints its {view}.",
           (Arg("timestamp", "TIMESTAMP", "seconds since the Unix epoch", float),),
           [{"view": w} for w in _EPOCH_VIEWS], ("1700000000",))
def _epochview(v: dict[str, Any], timestamp: float) -> str:
    return _EPOCH_VIEWS[v["view"]](_epoch(timestamp))


# --- user --------------------------------------------------------------------------------

_FULL_NAME = Arg("name", "NAME", "a person's full name, e.g. \"Ada King Lovelace\"")


def _name_words(name: str) -> list[str]:
    import unicodedata

    plain = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    words = [w.lower() for w in re.findall(r"[A-Za-z]+", plain)]
    if not words:
        raise click.BadParameter("needs at least one letter", param_hint="NAME")
    return words


_SLUGS: dict[str, Callable[[list[str]], str]] = {
    "first.last": lambda w: f"{w[0]}.{w[-1]}",
    "first_last": lambda w: f"{w[0]}_{w[-1]}",
    "first-last": lambda w: f"{w[0]}-{w[-1]}",
    "flast": lambda w: f"{w[0][0]}{w[-1]}",
    "firstl": lambda w: f"{w[0]}{w[-1][0]}",
    "last.first": lambda w: f"{w[-1]}.{w[0]}",
    "firstLast": lambda w: w[0] + w[-1].title() if len(w) > 1 else w[0],
    "first": lambda w: w[0],
    "all words": lambda w: "".join(w),
    "8-character": lambda w: (w[0][0] + w[-1])[:8],
}


@operation("user", "username", "Suggest a user name for NAME: {style}",
           "Turns a full NAME into an ASCII user name in the {style} pattern (accents "
           "are dropped, everything is lower case except where the pattern says).",
           (_FULL_NAME,), [{"style": s} for s in _SLUGS], ("Ada King Lovelace",))
def _username(v: dict[str, Any], name: str) -> str:
    return _SLUGS[v["style"]](_name_words(name))


@operation("user", "initials", "Initials of NAME, {style}",
           "Prints the initials of NAME, {style}, for avatars and compact lists.",
           (_FULL_NAME,), [{"style": s} for s in (
               "first and last", "every word", "with dots", "lower case",
               "first two letters")], ("Grace Brewster Hopper",))
def _initials(v: dict[str, Any], name: str) -> str:
    words, style = _name_words(name), v["style"]
    if style == "first and last":
        return (words[0][0] + (words[-1][0] if len(words) > 1 else "")).upper()
    if style == "every word":
        return "".join(w[0] for w in words).upper()
    if style == "with dots":
        return "".join(f"{w[0].upper()}." for w in words)
    if style == "lower case":
        return "".join(w[0] for w in words)
    return words[0][:2].title()


_PALETTES = {
    "material": ["#f44336", "#e91e63", "#9c27b0", "#3f51b5", "#2196f3", "#009688",
                 "#4caf50", "#ff9800"],
    "pastel": ["#ffb3ba", "#ffdfba", "#ffffba", "#baffc9", "#bae1ff", "#e0bbe4"],
    "dark": ["#1b263b", "#3d0c02", "#1e3d2f", "#3b1f2b", "#2f2f4f"],
    "grey": ["#212121", "#424242", "#616161", "#757575", "#9e9e9e"],
}


@operation("user", "colour", "Avatar colour for NAME from the {palette} palette ({form})",
           "Picks a stable avatar colour for NAME from the {palette} palette (the same "
           "name always gets the same colour) and prints it as {form}.",
           (Arg("name", "NAME", "a user name or display name"),),
           [{"palette": p, "form": f} for f in ("hex", "rgb()") for p in _PALETTES],
           ("ada",))
def _colour(v: dict[str, Any], name: str) -> str:
    palette = _PALETTES[v["palette"]]
    colour = palette[zlib.crc32(name.strip().lower().encode()) % len(palette)]
    if v["form"] == "hex":
        return colour
    r, g, b = (int(colour[i:i + 2], 16) for i in (1, 3, 5))
    return f"rgb({r}, {g}, {b})"


@operation("user", "strength", "Password strength against a {bits}-bit policy",
           "Estimates the entropy of PASSWORD from its length and the character classes "
           "it uses, and says whether it meets a policy of {bits} bits ({meaning}). "
           "Nothing is stored or sent anywhere.",
           (Arg("password", "PASSWORD", "the password to rate"),),
           [{"bits": b, "meaning": m} for b, m in (
               (28, "a PIN-like minimum"), (36, "casual accounts"), (60, "most accounts"),
               (80, "administrators"), (128, "keys and secrets"))], ("correct horse",))
def _strength(v: dict[str, Any], password: str) -> str:
    pool = sum(size for pattern, size in ((r"[a-z]", 26), (r"[A-Z]", 26), (r"[0-9]", 10),
                                          (r"[^A-Za-z0-9]", 33)) if re.search(pattern, password))
    bits = len(password) * math.log2(pool) if pool else 0.0
    return f"{bits:.0f} bits: {'meets' if bits >= v['bits'] else 'below'} {v['bits']}"


def _email(text: str) -> tuple[str, str]:
    match = re.fullmatch(r"([^@\s]+)@([^@\s]+\.[^@\s]+)", text.strip())
    if match is None:
        raise click.BadParameter(f"{text!r} is not an e-mail address", param_hint="EMAIL")
    return match.group(1), match.group(2).lower()


@operation("user", "email", "The {view} of EMAIL",
           "Reads the e-mail address EMAIL and prints its {view}.",
           (Arg("email", "EMAIL", "an e-mail address"),),
           [{"view": w} for w in ("masked form", "domain", "local part",
                                  "canonical form", "Gravatar hash", "provider kind")],
           ("Ada.Lovelace+chat@Example.ORG",))
def _emailview(v: dict[str, Any], email: str) -> str:
    local, domain = _email(email)
    view = v["view"]
    if view == "masked form":
        return f"{local[0]}{'*' * max(1, len(local) - 2)}{local[-1] if len(local) > 1 else ''}" \
               f"@{domain}"
    if view == "domain":
        return domain
    if view == "local part":
        return local
    canonical = f"{local.split('+')[0].lower()}@{domain}"
    if view == "canonical form":
        return canonical
    if view == "Gravatar hash":
        return hashlib.md5(email.strip().lower().encode()).hexdigest()
    webmail = {"gmail.com", "outlook.com", "yahoo.com", "proton.me", "icloud.com"}
    return "webmail" if domain in webmail else "own domain"


@operation("user", "display", "Display NAME as \"{style}\"",
           "Rewrites a full NAME in the \"{style}\" form used by directories and lists.",
           (_FULL_NAME,), [{"style": s} for s in ("Last, First", "First Last", "LAST First",
                                                   "F. Last", "First L.")],
           ("ada king lovelace",))
def _display(v: dict[str, Any], name: str) -> str:
    words = [w.title() for w in _name_words(name)]
    first, last = words[0], words[-1]
    return {"Last, First": f"{last}, {first}", "First Last": " ".join(words),
            "LAST First": f"{last.upper()} {first}", "F. Last": f"{first[0]}. {last}",
            "First L.": f"{first} {last[0]}."}[v["style"]]


_HANDLE_RULES = {
    "strict": (r"[a-z][a-z0-9_]{2,15}", "3-16 characters: lower-case letters, digits, _; "
               "starts with a letter"),
    "relaxed": (r"[A-Za-z0-9_.-]{1,32}", "1-32 letters, digits, _ . -"),
    "IRC": (r"[A-Za-z\[\]\\`_^{|}][A-Za-z0-9\[\]\\`_^{|}-]{0,15}", "RFC 2812 nicknames, "
            "up to 16 characters"),
    "Unix": (r"[a-z_][a-z0-9_-]{0,31}", "POSIX-portable login names, up to 32 characters"),
    "e-mail local part": (r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]{1,64}", "RFC 5322 atoms, up "
                          "to 64 characters"),
}


@operation("user", "handle", "Check USERNAME against the {rules} rules",
           "Says whether USERNAME is acceptable under the {rules} rules ({explain}); "
           "reserved names (admin, root, system …) are refused.",
           (Arg("username", "USERNAME", "the user name to check"),),
           [{"rules": r, "explain": e} for r, (_, e) in _HANDLE_RULES.items()], ("ada_l",))
def _handle(v: dict[str, Any], username: str) -> str:
    if username.lower() in {"admin", "root", "system", "plexichat", "support"}:
        return "refused: reserved"
    ok = re.fullmatch(_HANDLE_RULES[v["rules"]][0], username) is not None
    return "ok" if ok else "refused: does not match"


def _day(text: str, hint: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise click.BadParameter(f"{text!r} is not YYYY-MM-DD", param_hint=hint) from None


@operation("user", "age", "{what} of someone born on BIRTHDATE, on DAY",
           "Computes {what} of a person born on BIRTHDATE as of DAY (both YYYY-MM-DD).",
           (Arg("birthdate", "BIRTHDATE", "date of birth, YYYY-MM-DD"),
            Arg("day", "DAY", "the reference date, YYYY-MM-DD")),
           [{"what": w} for w in ("The age in years", "The days lived", "The weeks lived",
                                  "The days to the next birthday", "The weekday of birth")],
           ("1815-12-10", "1852-11-27"))
def _age(v: dict[str, Any], birthdate: str, day: str) -> str:
    born, on = _day(birthdate, "BIRTHDATE"), _day(day, "DAY")
    what = v["what"]
    if what == "The age in years":
        return str(on.year - born.year - ((on.month, on.day) < (born.month, born.day)))
    if what == "The days lived":
        return str((on - born).days)
    if what == "The weeks lived":
        return str((on - born).days // 7)
    if what == "The weekday of birth":
        return born.strftime("%A")
    year = on.year
    while True:
        try:
            nxt = born.replace(year=year)
        except ValueError:  # 29 February
            nxt = date(year, 3, 1)
        if nxt >= on:
            return str((nxt - on).days)
        year += 1


@operation("user", "id", "A stable {form} user id for NAME",
           "Derives a {form} identifier from NAME (case-insensitive): the same name "
           "always gets the same id, so scripts can pre-compute it.",
           (Arg("name", "NAME", "a user name"),),
           [{"form": f} for f in ("UUID", "12-digit hex", "CRC-32 number", "base-36",
                                  "8-digit decimal")], ("ada",))
def _userid(v: dict[str, Any], name: str) -> str:
    key = name.strip().lower().encode()
    digest = hashlib.sha256(key).digest()
    form = v["form"]
    if form == "UUID":
        return str(uuid.uuid5(uuid.NAMESPACE_URL, "plexichat:user:" + key.decode()))
    if form == "12-digit hex":
        return digest.hex()[:12]
    if form == "CRC-32 number":
        return str(zlib.crc32(key))
    if form == "base-36":
        return _base({"base": 36}, str(int.from_bytes(digest[:8], "big")), 0)
    return f"{int.from_bytes(digest[:8], 'big') % 10 ** 8:08d}"


_GREETINGS = {"English": "Hello, {}!", "German": "Hallo, {}!", "French": "Bonjour, {} !",
              "Spanish": "¡Hola, {}!", "Italian": "Ciao, {}!", "Portuguese": "Olá, {}!",
              "Dutch": "Hallo, {}!"}


@operation("user", "greet", "Greet NAME in {language}",
           "Prints the {language} welcome message new users see, addressed to NAME.",
           (Arg("name", "NAME", "whom to greet"),), [{"language": g} for g in _GREETINGS],
           ("Ada",))
def _greet(v: dict[str, Any], name: str) -> str:
    return _GREETINGS[v["language"]].format(name.strip())


# --- file --------------------------------------------------------------------------------

_TYPES = {".txt": "text/plain", ".md": "text/markdown", ".html": "text/html",
          ".css": "text/css", ".csv": "text/csv", ".js": "text/javascript",
          ".json": "application/json", ".xml": "application/xml",
          ".pdf": "application/pdf", ".zip": "application/zip",
          ".gz": "application/gzip", ".tar": "application/x-tar",
          ".whl": "application/zip", ".py": "text/x-python", ".toml": "application/toml",
          ".yaml": "application/yaml", ".yml": "application/yaml", ".png": "image/png",
          ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".gif": "image/gif",
          ".svg": "image/svg+xml", ".webp": "image/webp", ".mp3": "audio/mpeg",
          ".ogg": "audio/ogg", ".wav": "audio/wav", ".mp4": "video/mp4",
          ".webm": "video/webm", ".woff2": "font/woff2", ".db": "application/vnd.sqlite3"}
_ENCODINGS = {".gz": "gzip", ".bz2": "bzip2", ".xz": "xz", ".br": "br"}
_FILENAME = Arg("filename", "FILENAME", "a file name or path (the file need not exist)")


@operation("file", "mime", "The {view} of FILENAME",
           "Looks FILENAME's extension up in a built-in table of common types and "
           "prints its {view}; nothing is read from disk.",
           (_FILENAME,), [{"view": w} for w in ("media type", "content encoding",
                                                "media category", "text-or-binary kind",
                                                "other extensions of the same type")],
           ("report.csv.gz",))
def _mime(v: dict[str, Any], filename: str) -> str:
    suffixes = PurePosixPath(filename.lower()).suffixes
    encoding = _ENCODINGS.get(suffixes[-1]) if suffixes else None
    if encoding and len(suffixes) > 1:
        suffixes = suffixes[:-1]
    media = _TYPES.get(suffixes[-1] if suffixes else "", "application/octet-stream")
    if encoding and media == "application/gzip":
        media = "application/octet-stream"
    view = v["view"]
    if view == "media type":
        return media
    if view == "content encoding":
        return encoding or "identity"
    if view == "media category":
        return media.split("/")[0]
    if view == "text-or-binary kind":
        return "text" if media.startswith("text/") or media.endswith(
            ("json", "xml", "toml", "yaml", "svg+xml")) else "binary"
    ext = suffixes[-1] if suffixes else ""
    others = sorted(s for s, t in _TYPES.items() if t == media and s != ext)
    return ",".join(others) or "none"


_PATH_PARTS: dict[str, Callable[[PurePosixPath], Any]] = {
    "name": lambda p: p.name,
    "stem": lambda p: p.stem,
    "suffix": lambda p: p.suffix or "(none)",
    "suffixes": lambda p: "".join(p.suffixes) or "(none)",
    "parent": lambda p: p.parent,
    "part count": lambda p: len(p.parts),
    "anchor": lambda p: p.anchor or "(relative)",
    "normalised form": lambda p: PurePosixPath(*_normalise(p.parts)),
    "backup name": lambda p: p.with_name(p.name + ".bak"),
    "depth": lambda p: len([x for x in p.parts if x != "/"]) - 1,
}


def _normalise(parts: tuple[str, ...]) -> list[str]:
    out: list[str] = []
    for part in parts:
        if part == "..":
            if out and out[-1] not in ("..", "/"):
                out.pop()
            elif not out or out[-1] != "/":
                out.append(part)
        elif part != ".":
            out.append(part)
    return out or ["."]


@operation("file", "path", "The {part} of PATH",
           "Reads PATH as a POSIX path (no file system access) and prints its {part}.",
           (Arg("path", "PATH", "a file path"),), [{"part": p} for p in _PATH_PARTS],
           ("/srv/plexichat/./data/../backups/2024.tar.gz",))
def _path(v: dict[str, Any], path: str) -> str:
    return str(_PATH_PARTS[v["part"]](PurePosixPath(path)))


@operation("file", "match", "Does FILENAME match PATTERN ({how})?",
           "Tests FILENAME against the shell PATTERN ({how}) and prints yes or no.",
           (_FILENAME, Arg("pattern", "PATTERN", "a glob such as '*.log' (quote it)")),
           [{"how": h} for h in ("case-sensitive, whole name", "case-insensitive, whole "
                                 "name", "matching from the right, per path part",
                                 "any of several comma-separated patterns")],
           ("logs/Server.LOG", "*.log"))
def _match(v: dict[str, Any], filename: str, pattern: str) -> str:
    how = v["how"]
    if how.startswith("case-sensitive"):
        ok = fnmatch.fnmatchcase(filename, pattern)
    elif how.startswith("case-insensitive"):
        ok = fnmatch.fnmatchcase(filename.lower(), pattern.lower())
    elif how.startswith("matching"):
        ok = PurePosixPath(filename).match(pattern)
    else:
        ok = any(fnmatch.fnmatchcase(filename, p.strip()) for p in pattern.split(","))
    return "yes" if ok else "no"


_FILE = Arg("file", "FILE", "a file to read")


@operation("file", "size", "The size of FILE {form}",
           "Reads FILE and prints its size {form}.", (_FILE,),
           [{"form": f} for f in ("in bytes", "in decimal units", "in binary units",
                                  "in 4 KiB blocks", "in 512-byte sectors")],
           ("README.md",), reads_files=True)
def _size(v: dict[str, Any], file: str) -> str:
    n, form = len(_read(file)), v["form"]
    if form == "in bytes":
        return str(n)
    if form == "in decimal units":
        return _human(n, "SI", 1)
    if form == "in binary units":
        return _human(n, "IEC", 1)
    return str(math.ceil(n / (4096 if "4 KiB" in form else 512)))


@operation("file", "count", "Count the {what} of FILE",
           "Reads FILE as UTF-8 text (invalid bytes replaced) and counts its {what}, like "
           "a small wc.", (_FILE,),
           [{"what": w} for w in ("lines", "words", "characters", "bytes",
                                  "characters in the longest line", "blank lines")],
           ("README.md",), reads_files=True)
def _count(v: dict[str, Any], file: str) -> str:
    data = _read(file)
    text = data.decode("utf-8", "replace")
    return str({"lines": lambda: text.count("\n"), "words": lambda: len(text.split()),
                "characters": lambda: len(text), "bytes": lambda: len(data),
                "characters in the longest line": lambda: max(map(len, text.splitlines()),
                                                         default=0),
                "blank lines": lambda: sum(1 for line in text.splitlines() if not line.strip()),
                }[v["what"]]())


@operation("file", "filesum", "The {algo} checksum of FILE",
           "Reads FILE and prints its {algo} checksum, to compare with a published one.",
           (_FILE,), [{"algo": a} for a in ("sha256", "md5", "sha1", "crc32", "blake2b")],
           ("README.md",), reads_files=True)
def _filesum(v: dict[str, Any], file: str) -> str:
    data = _read(file)
    if v["algo"] == "crc32":
        return f"{zlib.crc32(data):08x}"
    return hashlib.new(v["algo"], data).hexdigest()


@operation("file", "safename", "Make NAME a {style} file name",
           "Rewrites NAME so it is a safe file name in the {style} style: path "
           "separators and control characters never survive.",
           (Arg("name", "NAME", "a proposed file name"),),
           [{"style": s} for s in ("portable ASCII", "lower-case-dashed", "Windows-safe",
                                   "32-character", "copy-numbered", "dated-2000-01-01")],
           ("Quarterly Report: Q3/Q4 *final*.pdf",))
def _safename(v: dict[str, Any], name: str) -> str:
    import unicodedata

    style = v["style"]
    plain = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    plain = re.sub(r"[\x00-\x1f/\\]", "_", plain)
    if style == "Windows-safe":
        return re.sub(r'[<>:"|?*]', "_", re.sub(r"[\x00-\x1f/\\]", "_", name)).rstrip(". ")
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", plain).strip("._") or "file"
    stem, dot, ext = safe.rpartition(".")
    if not dot:
        stem, ext = safe, ""
    suffix = f".{ext}" if ext else ""
    if style == "portable ASCII":
        return safe
    if style == "lower-case-dashed":
        return re.sub(r"[_-]+", "-", stem.lower()).strip("-") + suffix.lower()
    if style == "32-character":
        return stem[:32 - len(suffix)] + suffix
    if style == "copy-numbered":
        return f"{stem} (2){suffix}"
    return f"2000-01-01_{safe}"


@operation("file", "chunks", "Split SIZE bytes into {chunk_text} chunks",
           "For a file of SIZE bytes cut into {chunk_text} chunks (as for an upload or "
           "split(1)), prints the number of chunks and the size of the last one.",
           (Arg("size", "SIZE", "the file size in bytes", int),),
           [{"chunk": c, "chunk_text": t} for c, t in (
               (2 ** 20, "1 MiB"), (5 * 2 ** 20, "5 MiB"), (10 * 2 ** 20, "10 MiB"),
               (64 * 2 ** 20, "64 MiB"), (100 * 10 ** 6, "100 MB"), (2 ** 30, "1 GiB"))],
           ("734003200",))
def _chunks(v: dict[str, Any], size: int) -> str:
    if size < 0:
        raise click.BadParameter("must not be negative", param_hint="SIZE")
    count, last = divmod(size, v["chunk"])
    if last:
        count += 1
    else:
        last = v["chunk"] if size else 0
    return f"{count} chunks, last {last} bytes"


@operation("file", "encode", "Bytes of TEXT in {encoding}",
           "Encodes TEXT in {encoding} and prints the byte count and the bytes in hex; "
           "characters {encoding} cannot represent become '?'.", (_TEXT,),
           [{"encoding": e} for e in ("utf-8", "utf-16-le", "utf-16-be", "latin-1",
                                      "ascii", "cp1252", "utf-32-le")], ("Grüße",))
def _encode(v: dict[str, Any], text: str) -> str:
    data = text.encode(v["encoding"], "replace")
    return f"{len(data)} bytes: {data.hex(' ')}"


@operation("file", "relpath", "{title}",
           "Compares the POSIX paths PATH and BASE (no file system access) and prints "
           "the {what}.",
           (Arg("path", "PATH", "a path"), Arg("base", "BASE", "a directory path")),
           [{"what": w, "title": t} for w, t in (
               ("path relative to BASE", "The path of PATH relative to BASE"),
               ("common prefix", "The common prefix of PATH and BASE"),
               ("containment (is PATH inside BASE?)", "Whether PATH is inside BASE"))],
           ("/srv/plexichat/data/db.sqlite", "/srv/plexichat/logs"))
def _relpath(v: dict[str, Any], path: str, base: str) -> str:
    p = [x for x in _normalise(PurePosixPath(path).parts) if x != "."]
    b = [x for x in _normalise(PurePosixPath(base).parts) if x != "."]
    if (p[:1] == ["/"]) != (b[:1] == ["/"]):
        raise click.BadParameter("PATH and BASE must both be absolute or both relative",
                                 param_hint="BASE")
    n = 0
    while n < min(len(p), len(b)) and p[n] == b[n]:
        n += 1
    what = v["what"]
    if what == "common prefix":
        common = p[:n]
        return ("/" + "/".join(common[1:]) if common[:1] == ["/"] else "/".join(common)) \
            or "(none)"
    if what.startswith("containment"):
        return "inside" if n == len(b) else "outside"
    if ".." in b[n:]:
        raise click.BadParameter("BASE climbs out of PATH's directories with '..'; "
                                 "the answer would depend on the current directory",
                                 param_hint="BASE")
    return "/".join([".."] * len(b[n:]) + p[n:]) or "."


@operation("file", "archive", "Archive name for NAME as {fmt}",
           "Prints the file name an archive of NAME gets in the {fmt} format, and the "
           "command that makes it.", (Arg("name", "NAME", "a directory or file name"),),
           [{"fmt": f} for f in ("zip", "tar.gz", "tar.bz2", "tar.xz")], ("backups",))
def _archive(v: dict[str, Any], name: str) -> str:
    base = PurePosixPath(name.rstrip("/")).name or "archive"
    fmt = v["fmt"]
    target = f"{base}.{fmt}"
    flags = {"zip": f"zip -r {target} {base}", "tar.gz": f"tar -czf {target} {base}",
             "tar.bz2": f"tar -cjf {target} {base}", "tar.xz": f"tar -cJf {target} {base}"}
    return f"{target} ({flags[fmt]})"


# --- chat --------------------------------------------------------------------------------

_MESSAGE = Arg("text", "TEXT", "a chat message")

_MARKDOWN: dict[str, Callable[[str], str]] = {
    "bold": lambda t: f"**{t}**",
    "italic": lambda t: f"*{t}*",
    "inline code": lambda t: f"`{t.replace('`', '')}`",
    "code block": lambda t: f"```\n{t}\n```",
    "quote": lambda t: "\n".join(f"> {line}" for line in t.splitlines() or [""]),
    "strikethrough": lambda t: f"~~{t}~~",
    "spoiler": lambda t: f"||{t}||",
    "heading": lambda t: f"## {t}",
    "bullet list": lambda t: "\n".join(f"- {s}" for s in _sentences(t) or [t]),
    "link": lambda t: f"[{t}](https://plexichat.example/search?q={quote(t)})",
}


@operation("chat", "markdown", "Format TEXT as {style}",
           "Wraps the message TEXT in the chat's Markdown for {style}.", (_MESSAGE,),
           [{"style": s} for s in _MARKDOWN],
           ("Deploy is done. Tests are green.",))
def _markdown(v: dict[str, Any], text: str) -> str:
    return _MARKDOWN[v["style"]](text)


_ALL_KINDS = "counts of mentions, channels, links and emoji codes"
_EXTRACT = {"mentions": r"(?<![\w@])@([A-Za-z0-9_]+)", "channels": r"(?<![\w#])#([A-Za-z0-9_-]+)",
            "links": r"https?://[^\s)>\]]+", "emoji codes": r":([a-z0-9_+-]+):"}


@operation("chat", "extract", "List the {what} in TEXT",
           "Finds every {what} in the message TEXT and prints them in order, without "
           "repeats.", (_MESSAGE,), [{"what": w} for w in [*_EXTRACT, _ALL_KINDS]],
           ("@ada see #release-notes :tada: https://plexichat.example/r/3 cc @grace",))
def _extract(v: dict[str, Any], text: str) -> str:
    what = v["what"]
    if what == _ALL_KINDS:
        return " ".join(f"{k}={len(dict.fromkeys(re.findall(p, text)))}"
                        for k, p in _EXTRACT.items())
    found = list(dict.fromkeys(re.findall(_EXTRACT[what], text)))
    return " ".join(found) or "(none)"


_EMOJI = {"smile": "😄", "tada": "🎉", "heart": "❤️", "thumbsup": "👍", "+1": "👍",
          "fire": "🔥", "eyes": "👀", "rocket": "🚀", "wave": "👋", "bug": "🐛"}


@operation("chat", "emoji", "{title}",
           "Handles the emoji :shortcodes: of the message TEXT that the chat knows "
           "({known}): {how_lower}.", (_MESSAGE,),
           [{"how": h, "how_lower": h.lower(), "known": ", ".join(_EMOJI), "title": t}
            for h, t in (("Replace with emoji", "Replace the :shortcodes: in TEXT with emoji"),
                         ("Remove", "Remove the :shortcodes: from TEXT"),
                         ("Spell out", "Spell out the :shortcodes: in TEXT"),
                         ("Count", "Count the :shortcodes: in TEXT"))],
           ("ship it :rocket: :tada: (:nope:)",))
def _emoji(v: dict[str, Any], text: str) -> str:
    how = v["how"]
    if how == "Count":
        return str(sum(1 for code in re.findall(r":([a-z0-9_+-]+):", text) if code in _EMOJI))

    def swap(match: re.Match[str]) -> str:
        code = match.group(1)
        if code not in _EMOJI:
            return match.group(0)
        return {"Replace with emoji": _EMOJI[code], "Remove": "",
                "Spell out": f"({code.replace('_', ' ')})"}[how]

    return re.sub(r":([a-z0-9_+-]+):", swap, text).strip()


_STATS: dict[str, Callable[[str], str]] = {
    "words": lambda t: str(len(_words(t))),
    "characters": lambda t: str(len(t)),
    "sentences": lambda t: str(len(_sentences(t))),
    "reading time at 200 words/min": lambda t: f"{len(_words(t)) / 200 * 60:.0f} s",
    "reading time at 250 words/min": lambda t: f"{len(_words(t)) / 250 * 60:.0f} s",
    "speaking time at 130 words/min": lambda t: f"{len(_words(t)) / 130 * 60:.0f} s",
    "longest word": lambda t: max(_words(t), key=len, default=""),
    "distinct words": lambda t: str(len({w.lower() for w in _words(t)})),
    "average word length": lambda t: f"{sum(map(len, _words(t))) / max(1, len(_words(t))):.2f}",
    "lines": lambda t: str(len(t.splitlines()) or 1),
}


@operation("chat", "stats", "Measure TEXT: its {what}",
           "Measures the message TEXT: its {what}.", (_MESSAGE,),
           [{"what": w if " " in w else f"number of {w}"} for w in _STATS],
           ("PlexiChat plugins are pip packages. Install one, and the host finds it!",))
def _stats(v: dict[str, Any], text: str) -> str:
    return _STATS[v["what"].removeprefix("number of ")](text)


def _slug(text: str, sep: str) -> str:
    return re.sub(r"[^a-z0-9]+", sep, text.lower()).strip(sep)


@operation("chat", "channel", "Channel name for TITLE in {style} style",
           "Turns a channel TITLE into a channel name in {style} style.",
           (Arg("title", "TITLE", "a channel title such as \"Release Notes 2024\""),),
           [{"style": s} for s in ("PlexiChat", "#-prefixed", "snake_case", "20-character",
                                   "IRC", "Discord", "Matrix alias")],
           ("Release Notes & Q&A 2024",))
def _channel(v: dict[str, Any], title: str) -> str:
    style = v["style"]
    if style == "PlexiChat":
        return _slug(title, "-")
    if style == "#-prefixed":
        return "#" + _slug(title, "-")
    if style == "snake_case":
        return _slug(title, "_")
    if style == "20-character":
        return _slug(title, "-")[:20].rstrip("-")
    if style == "IRC":
        return "#" + re.sub(r"[\s,\x07]+", "", title).lower()[:49]
    if style == "Discord":
        return _slug(title, "-")[:100]
    return f"#{_slug(title, '-')}:plexichat.example"


@operation("chat", "truncate", "Shorten TEXT to {limit} characters",
           "Cuts the message TEXT to at most {limit} characters at a word boundary and "
           "adds '…' when something was cut (previews, notifications, SMS).", (_MESSAGE,),
           [{"limit": n} for n in (20, 40, 80, 140, 280, 500)],
           ("The nightly backup finished in 4 minutes; 12 plugins backed up their data "
            "and 2 were skipped because they were disabled by the operator.",))
def _truncate(v: dict[str, Any], text: str) -> str:
    limit = v["limit"]
    if len(text) <= limit:
        return text
    cut = text[:limit - 1]
    if " " in cut:
        cut = cut.rsplit(" ", 1)[0]
    return cut.rstrip(" ,;:") + "…"


@operation("chat", "wrap", "Wrap TEXT at {width} columns",
           "Wraps the message TEXT at {width} columns for terminals and plain-text "
           "e-mail.", (_MESSAGE,),
           [{"width": w} for w in (20, 30, 40, 60, 72)],
           ("Plugins add routes, commands, tables and pages; the host attributes each "
            "of them to its plugin.",))
def _wrap(v: dict[str, Any], text: str) -> str:
    return "\n".join(textwrap.wrap(text, v["width"]))


@operation("chat", "quote", "Quote TEXT by AUTHOR, {style}",
           "Writes a reply quoting the message TEXT by AUTHOR, {style}.",
           (_MESSAGE, Arg("author", "AUTHOR", "who wrote TEXT")),
           [{"style": s} for s in ("Markdown style", "'wrote:' style", "IRC style",
                                   "e-mail style")], ("ship it", "ada"))
def _quote(v: dict[str, Any], text: str, author: str) -> str:
    return {"Markdown style": f"> {text}\n— @{author}",
            "'wrote:' style": f"{author} wrote: \"{text}\"",
            "IRC style": f"<{author}> {text}",
            "e-mail style": f"{author} wrote:\n> {text}"}[v["style"]]


@operation("chat", "mask", "Mask WORDS in TEXT {how}",
           "Hides each word of the comma-separated WORDS in the message TEXT "
           "(case-insensitive, whole words) {how}: the moderation filter's preview.",
           (_MESSAGE, Arg("words", "WORDS", "comma-separated words to hide")),
           [{"how": h} for h in ("with asterisks", "with hashes", "keeping the first letter",
                                 "with [redacted]")],
           ("the Password is swordfish", "password,swordfish"))
def _mask(v: dict[str, Any], text: str, words: str) -> str:
    wanted = [w.strip() for w in words.split(",") if w.strip()]
    if not wanted:
        return text
    pattern = re.compile(r"\b(" + "|".join(map(re.escape, wanted)) + r")\b", re.IGNORECASE)
    how = v["how"]

    def hide(match: re.Match[str]) -> str:
        word = match.group(0)
        if how == "with asterisks":
            return "*" * len(word)
        if how == "with hashes":
            return "#" * len(word)
        if how == "keeping the first letter":
            return word[0] + "*" * (len(word) - 1)
        return "[redacted]"

    return pattern.sub(hide, text)


_CASE_STYLES: dict[str, Callable[[str], str]] = {
    "upper case": str.upper, "lower case": str.lower, "title case": str.title,
    "sentence case": lambda t: t[:1].upper() + t[1:].lower(),
    "alternating case": lambda t: "".join(c.upper() if i % 2 else c.lower()
                                          for i, c in enumerate(t)),
    "reverse order": lambda t: t[::-1],
}


@operation("chat", "recase", "TEXT in {style}", "Rewrites the message TEXT in {style}.",
           (_MESSAGE,), [{"style": s} for s in _CASE_STYLES], ("hello from PlexiChat",))
def _recase(v: dict[str, Any], text: str) -> str:
    return _CASE_STYLES[v["style"]](text)


# --- ai (deterministic local text analysis: no model, no network) ------------------------

_DOC = Arg("text", "TEXT", "the text to analyse")
_SAMPLE = ("PlexiChat loads plugins from pip packages. Each plugin adds routes, commands "
           "and tables. The host keeps running when a plugin fails. Operators love the "
           "clear reasons it gives.")


def _scored_sentences(text: str) -> list[tuple[float, int, str]]:
    sentences = _sentences(text)
    freq = Counter(w.lower() for w in _words(text) if w.lower() not in STOPWORDS)
    scored = []
    for i, s in enumerate(sentences):
        words = [w.lower() for w in _words(s) if w.lower() not in STOPWORDS]
        scored.append((sum(freq[w] for w in words) / max(1, len(words)), i, s))
    return scored


@operation("ai", "summary", "Summarise TEXT: {how}",
           "A deterministic extractive summary of TEXT: {how}. No model is downloaded and "
           "nothing leaves the machine.", (_DOC,),
           [*({"how": f"its first {n} sentences" if n > 1 else "its first sentence",
               "kind": "lead", "n": n} for n in (1, 2, 3)),
            *({"how": f"its first {n} words", "kind": "words", "n": n} for n in (10, 20, 30)),
            {"how": "its longest sentence", "kind": "longest", "n": 1},
            *({"how": f"the {n} sentences with the most frequent words, in text order"
               if n > 1 else "the sentence with the most frequent words", "kind": "scored",
               "n": n} for n in (1, 2)),
            {"how": "the first sentence of each paragraph", "kind": "paragraphs", "n": 0}],
           (_SAMPLE,))
def _summary(v: dict[str, Any], text: str) -> str:
    kind, n = v["kind"], v["n"]
    if kind == "lead":
        return " ".join(_sentences(text)[:n])
    if kind == "words":
        words = text.split()
        return " ".join(words[:n]) + (" …" if len(words) > n else "")
    if kind == "longest":
        return max(_sentences(text), key=len, default="")
    if kind == "scored":
        best = sorted(_scored_sentences(text), key=lambda t: (-t[0], t[1]))[:n]
        return " ".join(s for _, _, s in sorted(best, key=lambda t: t[1]))
    paragraphs = [p for p in re.split(r"\n\s*\n", text) if p.strip()]
    return " ".join((_sentences(p) or [""])[0] for p in paragraphs)


@operation("ai", "keywords", "The top {n} keywords of TEXT{counts_text}",
           "Ranks the words of TEXT by frequency (common English stop words left out, "
           "ties in order of first use) and prints the top {n}{counts_text}.", (_DOC,),
           [{"n": n, "counts": c, "counts_text": " with their counts" if c else ""}
            for c in (False, True) for n in (3, 5, 8, 10)], (_SAMPLE,))
def _keywords(v: dict[str, Any], text: str) -> str:
    words = [w.lower() for w in _words(text) if w.lower() not in STOPWORDS and len(w) > 2]
    ranked = sorted(Counter(words).items(), key=lambda kv: (-kv[1], words.index(kv[0])))
    top = ranked[:v["n"]]
    return ", ".join(f"{w}:{c}" if v["counts"] else w for w, c in top) or "(none)"


_POSITIVE = frozenset("good great love loved excellent happy nice clear fast easy "
                      "awesome thanks thank works working fixed green win wonderful "
                      "like best better stable".split())
_NEGATIVE = frozenset("bad broken hate slow fail fails failed failing error errors "
                      "crash crashed bug bugs sad wrong worse worst red angry timeout "
                      "down".split())


@operation("ai", "sentiment", "Sentiment of TEXT: the {what}",
           "Scores TEXT with a small built-in lexicon (positive minus negative words) "
           "and prints the {what}.", (_DOC,),
           [{"what": w} for w in ("score", "label", "positive words", "negative words",
                                  "normalised score (-1..1)")],
           ("The build is green and the deploy was fast, but one test still fails.",))
def _sentiment(v: dict[str, Any], text: str) -> str:
    words = [w.lower() for w in _words(text)]
    pos = [w for w in words if w in _POSITIVE]
    neg = [w for w in words if w in _NEGATIVE]
    score = len(pos) - len(neg)
    return {"score": lambda: str(score),
            "label": lambda: "positive" if score > 0 else "negative" if score < 0
            else "neutral",
            "positive words": lambda: ", ".join(pos) or "(none)",
            "negative words": lambda: ", ".join(neg) or "(none)",
            "normalised score (-1..1)": lambda: f"{score / max(1, len(pos) + len(neg)):.2f}",
            }[v["what"]]()


@operation("ai", "tokens", "Count the tokens of TEXT {how}",
           "Estimates the size of TEXT for a language-model prompt by counting tokens "
           "{how}.", (_DOC,),
           [{"how": h} for h in ("split at white space", "as words and punctuation",
                                 "as characters / 4", "as UTF-8 bytes / 4",
                                 "as word bigrams", "as character trigrams")], (_SAMPLE,))
def _tokens(v: dict[str, Any], text: str) -> str:
    how = v["how"]
    if how == "split at white space":
        return str(len(text.split()))
    if how == "as words and punctuation":
        return str(len(re.findall(r"\w+|[^\w\s]", text)))
    if how == "as characters / 4":
        return str(math.ceil(len(text) / 4))
    if how == "as UTF-8 bytes / 4":
        return str(math.ceil(len(text.encode()) / 4))
    if how == "as word bigrams":
        return str(max(0, len(text.split()) - 1))
    return str(max(0, len(text) - 2))


_LANGUAGES = {
    "English": "the and is are of to in that it with for was on",
    "German": "der die das und ist nicht ein eine zu mit auf ich",
    "French": "le la les et est une un des pas que pour dans",
    "Spanish": "el la los las y es un una que de por para",
    "Italian": "il lo la gli e che di un una per non sono",
    "Dutch": "de het een en van is niet dat op te zijn met",
}


@operation("ai", "language", "Guess the language of TEXT: {what}",
           "Guesses which of {languages} TEXT is written in, by counting common function "
           "words, and prints {what}.", (_DOC,),
           [{"what": w, "languages": ", ".join(_LANGUAGES)}
            for w in ("the best guess", "every language's score", "the guess's confidence")],
           ("Der Server ist nicht erreichbar und die Plugins sind aus.",))
def _language(v: dict[str, Any], text: str) -> str:
    words = [w.lower() for w in _words(text)]
    scores = {lang: sum(1 for w in words if w in set(vocab.split()))
              for lang, vocab in _LANGUAGES.items()}
    best = max(scores, key=lambda k: scores[k])
    what = v["what"]
    if what == "the best guess":
        return best if scores[best] else "unknown"
    if what == "every language's score":
        return " ".join(f"{k}={n}" for k, n in scores.items())
    total = sum(scores.values())
    return f"{scores[best] / total:.2f}" if total else "0.00"


def _levenshtein(a: str, b: str) -> int:
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1,
                               previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


def _trigrams(t: str) -> set[str]:
    t = f"  {t.lower()} "
    return {t[i:i + 3] for i in range(len(t) - 2)}


@operation("ai", "similarity", "{measure} of TEXT and OTHER",
           "Compares TEXT with OTHER and prints their {measure_lower}.",
           (_DOC, Arg("other", "OTHER", "the text to compare with")),
           [{"measure": m, "measure_lower": m.lower()} for m in (
               "Word Jaccard similarity", "Trigram Jaccard similarity",
               "Word-count cosine similarity", "Levenshtein distance",
               "Normalised Levenshtein similarity", "Shared words")],
           ("the plugin failed to start", "the plugin did not start"))
def _similarity(v: dict[str, Any], text: str, other: str) -> str:
    measure = v["measure"]
    wa, wb = [w.lower() for w in _words(text)], [w.lower() for w in _words(other)]
    if measure == "Word Jaccard similarity":
        sa, sb = set(wa), set(wb)
        return f"{len(sa & sb) / max(1, len(sa | sb)):.3f}"
    if measure == "Trigram Jaccard similarity":
        ta, tb = _trigrams(text), _trigrams(other)
        return f"{len(ta & tb) / max(1, len(ta | tb)):.3f}"
    if measure == "Word-count cosine similarity":
        ca, cb = Counter(wa), Counter(wb)
        dot = sum(ca[w] * cb[w] for w in ca)
        norm = math.sqrt(sum(x * x for x in ca.values())) * math.sqrt(
            sum(x * x for x in cb.values()))
        return f"{dot / norm:.3f}" if norm else "0.000"
    if measure == "Levenshtein distance":
        return str(_levenshtein(text, other))
    if measure == "Normalised Levenshtein similarity":
        longest = max(len(text), len(other), 1)
        return f"{1 - _levenshtein(text, other) / longest:.3f}"
    return ", ".join(w for w in dict.fromkeys(wa) if w in set(wb)) or "(none)"


def _syllables(word: str) -> int:
    groups = re.findall(r"[aeiouy]+", word.lower())
    count = len(groups) - (1 if word.lower().endswith("e") and len(groups) > 1 else 0)
    return max(1, count)


@operation("ai", "readability", "The {measure} of TEXT",
           "Computes the {measure} of TEXT (syllables are estimated from vowel groups), "
           "to check that announcements stay easy to read.", (_DOC,),
           [{"measure": m} for m in ("Flesch reading ease", "Flesch-Kincaid grade",
                                     "average sentence length", "average syllables per word",
                                     "lexical diversity")], (_SAMPLE,))
def _readability(v: dict[str, Any], text: str) -> str:
    words = _words(text)
    n_words, n_sent = max(1, len(words)), max(1, len(_sentences(text)))
    syllables = sum(_syllables(w) for w in words)
    measure = v["measure"]
    if measure == "Flesch reading ease":
        return f"{206.835 - 1.015 * n_words / n_sent - 84.6 * syllables / n_words:.1f}"
    if measure == "Flesch-Kincaid grade":
        return f"{0.39 * n_words / n_sent + 11.8 * syllables / n_words - 15.59:.1f}"
    if measure == "average sentence length":
        return f"{n_words / n_sent:.1f} words"
    if measure == "average syllables per word":
        return f"{syllables / n_words:.2f}"
    return f"{len({w.lower() for w in words}) / n_words:.2f}"


_TOPICS = {
    "operations": "server deploy backup restart uptime disk memory cpu host replica",
    "development": "code plugin test build release bug commit merge api python",
    "security": "token password permission admin secret policy attack leak auth",
    "community": "welcome thanks meetup help question channel invite friends",
    "billing": "invoice price payment plan refund subscription cost",
}


@operation("ai", "topic", "Classify TEXT by topic: {what}",
           "Classifies TEXT into one of {topics} by counting topic keywords, and prints "
           "{what}.", (_DOC,),
           [{"what": w, "topics": ", ".join(_TOPICS)} for w in (
               "the best topic", "every topic's score")],
           ("The release build failed: a plugin test hit a bug in the api.",))
def _topic(v: dict[str, Any], text: str) -> str:
    words = [w.lower() for w in _words(text)]
    scores = {t: sum(1 for w in words if w in set(k.split())) for t, k in _TOPICS.items()}
    if v["what"] == "the best topic":
        best = max(scores, key=lambda k: scores[k])
        return best if scores[best] else "general"
    return " ".join(f"{t}={n}" for t, n in scores.items())


@operation("ai", "ngrams", "The top {top} word {n}-grams of TEXT",
           "Counts the sequences of {n} consecutive words in TEXT (lower case) and prints "
           "the {top} most frequent, with their counts.", (_DOC,),
           [{"n": n, "top": t} for n in (2, 3) for t in (3, 5)],
           ("the plugin starts, the plugin stops, the plugin starts again",))
def _ngrams(v: dict[str, Any], text: str) -> str:
    words = [w.lower() for w in _words(text)]
    grams = [" ".join(words[i:i + v["n"]]) for i in range(len(words) - v["n"] + 1)]
    ranked = sorted(Counter(grams).items(), key=lambda kv: (-kv[1], grams.index(kv[0])))
    return "; ".join(f"{g}:{c}" for g, c in ranked[:v["top"]]) or "(none)"


_PII = {"e-mail addresses": (r"[\w.+-]+@[\w-]+\.[\w.-]+", "[email]"),
        "phone numbers": (r"\+?\d[\d ()-]{7,}\d", "[phone]"),
        "links": (r"https?://\S+", "[link]"),
        "numbers": (r"\d+", "[n]")}


@operation("ai", "redact", "Redact {what} in TEXT",
           "Replaces {what} in TEXT with placeholders before it is shared or sent to a "
           "model.", (_DOC,), [{"what": w} for w in [*_PII, "all of the above"]],
           ("Mail ada@example.org or call +44 20 7946 0958, docs at https://x.example/1",))
def _redact(v: dict[str, Any], text: str) -> str:
    chosen = list(_PII) if v["what"] == "all of the above" else [v["what"]]
    for key in chosen:
        pattern, placeholder = _PII[key]
        text = re.sub(pattern, placeholder, text)
    return text


_FINDERS = {"dates": r"\b\d{4}-\d{2}-\d{2}\b", "times": r"\b\d{1,2}:\d{2}(?::\d{2})?\b",
            "amounts of money": r"[$€£]\s?\d+(?:[.,]\d+)?|\b\d+(?:[.,]\d+)?\s?(?:EUR|USD|GBP)\b",
            "percentages": r"\b\d+(?:\.\d+)?%", "hashtags": r"(?<!\w)#\w+"}


@operation("ai", "entities", "Extract the {what} in TEXT",
           "Finds the {what} mentioned in TEXT with deterministic patterns and prints "
           "them in order.", (_DOC,), [{"what": w} for w in _FINDERS],
           ("On 2024-05-01 at 09:30 the #launch cost $120.50, 15% under budget.",))
def _entities(v: dict[str, Any], text: str) -> str:
    return " | ".join(re.findall(_FINDERS[v["what"]], text)) or "(none)"


@operation("ai", "acronym", "The {style} acronym of TEXT",
           "Builds the {style} acronym of TEXT from the first letters of its words "
           "(stop words skipped).", (_DOC,),
           [{"style": s} for s in ("plain", "dotted")], ("portable network graphics",))
def _acronym(v: dict[str, Any], text: str) -> str:
    letters = [w[0].upper() for w in _words(text) if w.lower() not in STOPWORDS]
    if v["style"] == "dotted" and letters:
        return ".".join(letters) + "."
    return "".join(letters)


# --- the commands ------------------------------------------------------------------------


def command_table(category: str) -> list[tuple[Operation, dict[str, Any]]]:
    """The (operation, variant) pair of each command of ``category``, in number order:
    round-robin over the operations, so that neighbouring commands differ."""
    ops = OPERATIONS[category]
    table: list[tuple[Operation, dict[str, Any]]] = []
    round_ = 0
    while len(table) < COMMANDS_PER_CATEGORY:
        added = False
        for op in ops:
            if round_ < len(op.variants) and len(table) < COMMANDS_PER_CATEGORY:
                table.append((op, op.variants[round_]))
                added = True
        if not added:
            raise RuntimeError(f"category {category} has fewer than "
                               f"{COMMANDS_PER_CATEGORY} (operation, variant) pairs")
        round_ += 1
    return table


class MegaCommand(click.Command):
    """One generated command; :meth:`compute` is its work without any printing."""

    def __init__(self, category: str, number: int, op: Operation,
                 variant: dict[str, Any]) -> None:
        self.category = category
        self.number = number
        self.operation = op
        self.variant = variant
        summary = op.title.format(**variant)
        self.summary = summary[:1].upper() + summary[1:]
        self.name = f"{category}_cmd_{number}"
        params: list[click.Parameter] = []
        for p in op.params:
            if isinstance(p, Arg):
                params.append(click.Argument([p.name], type=p.type, metavar=p.metavar))
            else:
                params.append(click.Option([p.flag, p.dest], type=p.type,
                                           default=self.default_of(p), show_default=True,
                                           help=p.help))
        params.append(click.Option(["--json", "as_json"], is_flag=True,
                                   help="Print a JSON object (command, arguments, result)."))
        super().__init__(self.name, params=params, callback=self._main,
                         help=self._help_text(), short_help=self.summary,
                         no_args_is_help=bool(op.params))
        command_fields(version_added=VERSION_ADDED)(self)

    def default_of(self, p: Opt) -> Any:
        """An option's default: a literal, or ``"=key"`` naming a key of the variant."""
        if isinstance(p.default, str) and p.default.startswith("="):
            return self.variant[p.default[1:]]
        return p.default

    @property
    def admin_only(self) -> bool:
        """Over the HTTP API only an admin may run it (it reveals the host or its files)."""
        return self.operation.host_facts or self.operation.reads_files

    def compute(self, **values: Any) -> str:
        """The command's result for these parameter values (missing options: defaults)."""
        for p in self.operation.params:
            if isinstance(p, Opt):
                values.setdefault(p.dest, self.default_of(p))
        return self.operation.run(self.variant, **values)

    def _main(self, as_json: bool, **values: Any) -> str:
        result = self.compute(**values)
        if as_json:
            click.echo(json.dumps({"command": f"{self.category} {self.name}",
                                   "arguments": values, "result": result},
                                  ensure_ascii=False))
        else:
            click.echo(result)
        return result

    def example(self) -> tuple[list[str], str | None]:
        """The example arguments and, for commands that touch nothing, their output."""
        op = self.operation
        args = list(op.example)
        if op.reads_files or op.host_facts:
            return args, None
        values = {p.name: p.type(a) for p, a in zip(
            [p for p in op.params if isinstance(p, Arg)], args, strict=True)}
        try:
            return args, self.compute(**values)
        except click.ClickException as exc:
            return args, f"error: {exc.format_message()}"

    def _help_text(self) -> str:
        op = self.operation
        lines = [self.summary + ".", "", op.about.format(**self.variant), ""]
        arguments = [p for p in op.params if isinstance(p, Arg)]
        if arguments:
            lines += ["\b", "Arguments:"]
            lines += [f"  {p.metavar:<12} {p.help}" for p in arguments]
            lines.append("")
        if self.admin_only:
            lines += ["Over the HTTP API (POST /api/v1/mega/run) only an admin may run this "
                      "command: the mega_cli.command_guard security policy refuses others.", ""]
        args, output = self.example()
        shown = " ".join(_shell_quote(a) for a in args)
        lines += ["\b", "Example:",
                  f"  $ plexichat {self.category} {self.name}{' ' if shown else ''}{shown}"]
        if output is not None:
            lines.append(f"  {output}")
        lines += ["", f"mega_cli operation '{op.key}', command {self.number} of "
                  f"{COMMANDS_PER_CATEGORY} in '{self.category}'."]
        return "\n".join(lines)


def _shell_quote(arg: str) -> str:
    return arg if re.fullmatch(r"[\w./:@%+=,-]+", arg) else "'" + arg.replace(
        "'", "'\"'\"'") + "'"


def build_commands(category: str) -> list[MegaCommand]:
    """The commands of one category, ``<category>_cmd_1`` first."""
    return [MegaCommand(category, n, op, variant)
            for n, (op, variant) in enumerate(command_table(category), 1)]


_BUILT: dict[str, list[MegaCommand]] = {}


def all_commands() -> dict[str, list[MegaCommand]]:
    """Every category's commands (built once per process)."""
    for category in CATEGORIES:
        if category not in _BUILT:
            _BUILT[category] = build_commands(category)
    return dict(_BUILT)


def find_command(category: str, name: str) -> MegaCommand | None:
    """The command ``name`` of ``category`` (``dev_cmd_1``), or None."""
    if category not in CATEGORIES:
        return None
    for command in all_commands()[category]:
        if command.name == name:
            return command
    return None


def iter_commands() -> Iterator[MegaCommand]:
    """Every command, category by category."""
    for commands in all_commands().values():
        yield from commands



def counts() -> dict[str, int]:
    """``{category: number of commands}``."""
    return {category: len(commands) for category, commands in all_commands().items()}


def search(term: str) -> list[MegaCommand]:
    """The commands whose name, summary or help mention ``term`` (case-insensitive)."""
    wanted = term.lower()
    return [c for c in iter_commands()
            if wanted in f"{c.name}\n{c.summary}\n{c.help}".lower()]


VERSION_ADDED = "1.0.0"
"""The mega_cli version that added its commands (shown in each command's help)."""


def overview_commands() -> list[click.Command]:
    """The commands of the ``mega`` group: ``stats``, ``search``, and ``policy`` (admin
    only), ``whoami`` (needs a user's token) and ``export`` (dangerous: replaces a
    file), which show the guide's command fields."""

    @click.command("stats")
    @click.option("--json", "as_json", is_flag=True, help="Print a JSON object.")
    def stats(as_json: bool) -> None:
        """Count the mega_cli commands per category and per operation.

        \b
        Example:
          $ plexichat mega stats
        """
        table = counts()
        if as_json:
            operations = {c: len(OPERATIONS[c]) for c in CATEGORIES}
            click.echo(json.dumps({"total": sum(table.values()), "categories": table,
                                   "operations": operations}))
            return
        for category, n in table.items():
            click.echo(f"{category:<5} {n:>3} commands from {len(OPERATIONS[category]):>2} "
                       f"operations  {CATEGORIES[category]}")
        click.echo(f"total {sum(table.values())} commands")

    @click.command("search")
    @click.argument("term")
    @click.option("--limit", type=int, default=20, show_default=True,
                  help="Matches to print at most.")
    def search_command(term: str, limit: int) -> None:
        """Find commands whose name or help mentions TERM (case-insensitive).

        Prints one line per match: the command line to run it and what it does.

        \b
        Example:
          $ plexichat mega search sha256
        """
        found = search(term)
        for command in found[:max(0, limit)]:
            click.echo(f"plexichat {command.category} {command.name:<12} {command.summary}")
        more = len(found) - max(0, limit)
        if more > 0:
            click.echo(f"… and {more} more (use --limit)")
        if not found:
            click.echo(f"no command mentions {term!r}")

    @command_fields(admin_only=True, version_added=VERSION_ADDED)
    @click.command("policy")
    def policy() -> None:
        """List the commands only an admin may run over the HTTP API.

        They read files or reveal facts about the host; the mega_cli.command_guard
        security policy refuses them to anybody else on POST /api/v1/mega/run.
        """
        for command in iter_commands():
            if command.admin_only:
                click.echo(f"plexichat {command.category} {command.name:<12} "
                           f"{command.summary}")

    @command_fields(requires_auth=True, version_added=VERSION_ADDED)
    @click.command("whoami")
    def whoami() -> None:
        """Print the chat user whose token (--user-token) was given."""
        click.echo(current_user())

    @command_fields(dangerous=True, version_added=VERSION_ADDED)
    @click.command("export")
    @click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
    def export(file: Path) -> None:
        """Write the help of every command to FILE, replacing what FILE holds."""
        texts = [f"## plexichat {c.category} {c.name}\n\n{c.help}\n"
                 for c in iter_commands()]
        file.write_text("\n".join(texts), encoding="utf-8")
        click.echo(f"wrote the help of {len(texts)} commands to {file}")

    return [stats, search_command, policy, whoami, export]
