"""Which IP addresses a webhook may connect to (docs/security.md, "Webhook targets").

An allowlist, not Python's ``is_global``: that flag differs between Python versions and calls
site-local ``fec0::/10``, the retired ``5f00::/8`` and IPv4-compatible ``::a9fe:a9fe`` global.
Here an IPv6 address is public only inside the global unicast block ``2000::/3`` and outside
the special-purpose blocks IANA marks not globally reachable; every form that carries an IPv4
address (mapped, translated, compatible, NAT64, 6to4) is judged by the IPv4 address it
carries, so ``[::ffff:169.254.169.254]`` is the metadata service, whatever its spelling.
"""

from __future__ import annotations

import ipaddress
from typing import Final

IPv4 = ipaddress.IPv4Address
IPv6 = ipaddress.IPv6Address


def _nets4(*cidrs: str) -> tuple[ipaddress.IPv4Network, ...]:
    return tuple(ipaddress.IPv4Network(c) for c in cidrs)


def _nets6(*cidrs: str) -> tuple[ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.IPv6Network(c) for c in cidrs)


# IPv4 blocks that are not public unicast (IANA IPv4 special-purpose registry, multicast, class E).
NOT_PUBLIC_V4: Final = _nets4(
    "0.0.0.0/8",  # "this network"
    "10.0.0.0/8",  # private
    "100.64.0.0/10",  # carrier-grade NAT
    "127.0.0.0/8",  # loopback
    "169.254.0.0/16",  # link-local: the instance metadata service 169.254.169.254
    "172.16.0.0/12",  # private
    "192.0.0.0/24",  # IETF protocol assignments
    "192.0.2.0/24",  # documentation
    "192.88.99.0/24",  # 6to4 relay anycast (deprecated)
    "192.168.0.0/16",  # private
    "198.18.0.0/15",  # benchmarking
    "198.51.100.0/24",  # documentation
    "203.0.113.0/24",  # documentation
    "224.0.0.0/4",  # multicast
    "240.0.0.0/4",  # reserved, and the broadcast address
)

GLOBAL_UNICAST_V6: Final = ipaddress.IPv6Network("2000::/3")
# Inside 2000::/3, blocks that are not public unicast.
NOT_PUBLIC_V6: Final = _nets6(
    "2001::/23",  # IETF protocol assignments: Teredo 2001::/32, benchmarking, ORCHID, …
    "2001:db8::/32",  # documentation
    "3fff::/20",  # documentation (RFC 9637)
)

# IPv6 forms whose low 32 bits are an IPv4 address; each is judged by that address.
IPV4_MAPPED: Final = ipaddress.IPv6Network("::ffff:0:0/96")
IPV4_TRANSLATED: Final = ipaddress.IPv6Network("::ffff:0:0:0/96")  # SIIT (RFC 2765)
IPV4_COMPATIBLE: Final = ipaddress.IPv6Network("::/96")  # deprecated (RFC 4291)
NAT64_WELL_KNOWN: Final = ipaddress.IPv6Network("64:ff9b::/96")  # RFC 6052
# Local-use NAT64 (RFC 8215): translates into the operator's own network, never public.
NAT64_LOCAL_USE: Final = ipaddress.IPv6Network("64:ff9b:1::/48")
SIX_TO_FOUR: Final = ipaddress.IPv6Network("2002::/16")  # RFC 3056: the IPv4 address is bits 16–47
TEREDO: Final = ipaddress.IPv6Network("2001::/32")


def embedded_ipv4(address: IPv6) -> IPv4 | None:
    """The IPv4 address an IPv6 address stands for, if it is one of the forms that carry one.

    Mapped, translated, compatible and well-known NAT64 carry it in the low 32 bits, 6to4 in
    bits 16–47; Teredo carries the client's address inverted in the low 32 bits (RFC 4380).
    """
    low32 = IPv4(int(address) & 0xFFFFFFFF)
    if address in IPV4_MAPPED or address in IPV4_TRANSLATED or address in NAT64_WELL_KNOWN:
        return low32
    if address in IPV4_COMPATIBLE:
        return low32
    if address in SIX_TO_FOUR:
        return IPv4((int(address) >> 80) & 0xFFFFFFFF)
    if address in TEREDO:
        return IPv4(~int(address) & 0xFFFFFFFF)
    return None


def _public_v4(address: IPv4) -> bool:
    return not any(address in net for net in NOT_PUBLIC_V4)


def _public_v6(address: IPv6) -> bool:
    if address in NAT64_LOCAL_USE:
        return False
    inner = embedded_ipv4(address)
    if inner is not None and not _public_v4(inner):
        return False
    if address in IPV4_MAPPED or address in NAT64_WELL_KNOWN:
        return True  # the IPv4 address it carries, just checked, is where it goes
    if address not in GLOBAL_UNICAST_V6:
        return False  # compatible, translated, ULA fc00::/7, link- and site-local, 5f00::/8, multicast …
    return not any(address in net for net in NOT_PUBLIC_V6)


def is_public_address(text: str) -> bool:
    """True for an IP address a webhook may connect to: public unicast, IPv4 or IPv6.

    Not public: private, loopback, link-local, site-local, unique-local, carrier-grade NAT,
    documentation, benchmarking, multicast, reserved and unallocated space, any address with
    a zone (``fe80::1%eth0``), and any IPv6 form of an IPv4 address that is not public itself.
    Anything that does not parse as an address is not public.
    """
    if "%" in text:
        return False  # a scoped address is on-link by definition
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return False
    if isinstance(address, IPv4):
        return _public_v4(address)
    return _public_v6(address)
