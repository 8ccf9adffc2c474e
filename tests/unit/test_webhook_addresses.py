"""Which addresses a webhook may reach: IPv4 and IPv6, every spelling of an embedded IPv4
address judged by what it embeds (functions/domain/addresses.py)."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given
from hypothesis import strategies as st

from functions.domain import addresses
from functions.domain import webhooks as rules
from functions.domain.errors import InvalidInput

pytestmark = pytest.mark.unit

METADATA = "169.254.169.254"


@pytest.mark.parametrize(
    "address",
    [
        # IPv4 special-purpose space
        "0.0.0.0",
        "0.1.2.3",
        "10.1.2.3",
        "100.64.0.1",
        "100.127.255.254",
        "127.0.0.1",
        "127.255.255.254",
        METADATA,
        "172.16.0.1",
        "172.31.255.255",
        "192.0.0.8",
        "192.0.0.170",
        "192.0.2.1",
        "192.88.99.1",
        "192.168.0.1",
        "198.18.0.1",
        "198.19.255.255",
        "198.51.100.7",
        "203.0.113.9",
        "224.0.0.1",
        "239.255.255.250",
        "240.0.0.1",
        "255.255.255.255",
        # IPv6 outside global unicast
        "::",
        "::1",
        "fe80::1",
        "fe80::1%eth0",
        "febf::1",
        "fec0::1",  # site-local (deprecated, still routed inside some networks)
        "feff::1",
        "fc00::1",
        "fd00:ec2::254",  # the metadata service over IPv6
        "ff02::1",
        "ff0e::1",
        "5f00::1",  # retired 6bone / SRv6 SID space
        "100::1",  # discard-only
        "1000::1",
        "4000::1",
        "8000::1",
        "e000::1",
        # embedded IPv4 forms of the metadata service and of other private space
        "::a9fe:a9fe",  # IPv4-compatible
        "::169.254.169.254",
        "::ffff:169.254.169.254",  # IPv4-mapped
        "::ffff:a9fe:a9fe",
        "::ffff:0:a9fe:a9fe",  # IPv4-translated (SIIT)
        "::ffff:0:8.8.8.8",  # translated: not a global form even around a public address
        "::8.8.8.8",  # compatible: likewise
        "::ffff:127.0.0.1",
        "::ffff:10.0.0.1",
        "64:ff9b::a9fe:a9fe",  # well-known NAT64
        "64:ff9b::10.0.0.1",
        "64:ff9b::7f00:1",
        "64:ff9b:1::a9fe:a9fe",  # local-use NAT64 (RFC 8215)
        "64:ff9b:1::808:808",  # local-use NAT64 is never public, whatever it embeds
        "64:ff9b:1:ffff::1",
        "2002:a9fe:a9fe::1",  # 6to4
        "2002:0a00:0001::1",
        "2002:7f00:1::",
        "2001:0:4136:e378:8000:63bf:5601:5601",  # Teredo of 169.254.169.254 (client inverted)
        "2001:0:4136:e378:8000:63bf:3fff:fdd2",  # Teredo of a public client: still IETF space
        "2001:2::1",  # benchmarking
        "2001:10::1",  # ORCHID
        "2001:db8::1",  # documentation
        "2001:db8:ffff::1",
        "3fff::1",  # documentation (RFC 9637)
        # not an address at all
        "",
        "not an address",
        "169.254.169.254.",
        "2852039166",
        "0xa9fea9fe",
        "[::1]",
    ],
)
def test_addresses_that_are_not_public(address: str) -> None:
    assert not rules.is_public_address(address)


@pytest.mark.parametrize(
    "address",
    [
        "8.8.8.8",
        "93.184.215.14",
        "1.1.1.1",
        "100.63.255.255",  # just below carrier-grade NAT
        "100.128.0.0",  # just above it
        "172.15.255.255",
        "172.32.0.0",
        "192.0.3.1",
        "223.255.255.254",
        "2606:4700::6810:84e5",
        "2a00:1450:4001::200e",
        "2001:4860:4860::8888",  # outside 2001::/23
        "2001:200::1",
        "3ffe::1",  # just below the documentation block
        "3fff:1000::1",  # just above it
        "::ffff:8.8.8.8",  # IPv4-mapped public: the connection goes to 8.8.8.8
        "64:ff9b::808:808",  # NAT64 of a public address
        "2002:808:808::1",  # 6to4 of a public address
    ],
)
def test_public_addresses(address: str) -> None:
    assert rules.is_public_address(address)


def test_embedded_ipv4_is_found_in_every_form() -> None:
    meta = ipaddress.IPv4Address(METADATA)
    for text in (
        "::ffff:a9fe:a9fe",
        "::ffff:0:a9fe:a9fe",
        "::a9fe:a9fe",
        "64:ff9b::a9fe:a9fe",
        "2002:a9fe:a9fe:1234::1",
        "2001:0:4136:e378:8000:63bf:5601:5601",
    ):
        assert addresses.embedded_ipv4(ipaddress.IPv6Address(text)) == meta, text
    assert addresses.embedded_ipv4(ipaddress.IPv6Address("2606:4700::1")) is None


ipv4s = st.integers(min_value=0, max_value=2**32 - 1).map(ipaddress.IPv4Address)
ipv6s = st.integers(min_value=0, max_value=2**128 - 1).map(ipaddress.IPv6Address)


@given(ipv4s)
def test_mapped_nat64_and_6to4_forms_are_judged_by_the_address_they_carry(v4: ipaddress.IPv4Address) -> None:
    public = rules.is_public_address(str(v4))
    assert rules.is_public_address(str(ipaddress.IPv6Address(f"::ffff:{v4}"))) is public
    assert rules.is_public_address(str(ipaddress.IPv6Address(f"64:ff9b::{v4}"))) is public
    sixtofour = ipaddress.IPv6Address((0x2002 << 112) | (int(v4) << 80) | 1)
    assert rules.is_public_address(str(sixtofour)) is public
    # These forms never are, whatever they carry.
    assert not rules.is_public_address(str(ipaddress.IPv6Address(f"::{v4}")))
    assert not rules.is_public_address(str(ipaddress.IPv6Address(f"::ffff:0:{v4}")))
    assert not rules.is_public_address(str(ipaddress.IPv6Address(f"64:ff9b:1::{v4}")))


@given(ipv6s)
def test_no_ipv6_address_outside_global_unicast_is_public_unless_it_carries_a_public_ipv4(
    v6: ipaddress.IPv6Address,
) -> None:
    carried = v6 in addresses.IPV4_MAPPED or v6 in addresses.NAT64_WELL_KNOWN
    if v6 not in addresses.GLOBAL_UNICAST_V6 and not carried:
        assert not rules.is_public_address(str(v6))
    if rules.is_public_address(str(v6)):
        assert not (v6.is_private or v6.is_loopback or v6.is_link_local)
        assert not (v6.is_site_local or v6.is_multicast)


@given(ipv4s)
def test_every_public_ipv4_address_is_global_for_python_too(v4: ipaddress.IPv4Address) -> None:
    if rules.is_public_address(str(v4)):
        assert v4.is_global and not v4.is_multicast


DNS = {
    "hooks.example.com": ["93.184.215.14"],
    "v6.example.com": ["2606:4700::6810:84e5", "::ffff:a9fe:a9fe"],
}


def resolve(host: str, port: int) -> list[str]:
    if host in DNS:
        return DNS[host]
    try:
        return [str(ipaddress.ip_address(host))]
    except ValueError:
        raise OSError("no such host") from None


@pytest.mark.parametrize(
    "url",
    [
        "https://[::a9fe:a9fe]/",
        "https://[::ffff:0:a9fe:a9fe]/",
        "https://[::ffff:169.254.169.254]/",
        "https://[64:ff9b::a9fe:a9fe]/",
        "https://[64:ff9b:1::a9fe:a9fe]/",
        "https://[2002:a9fe:a9fe::]/",
        "https://[fec0::1]/",
        "https://[5f00::1]/",
        "https://[fd00:ec2::254]/latest/meta-data",
        "https://[fe80::1%25eth0]/",
        "https://v6.example.com/",  # one of its addresses is the metadata service
    ],
)
def test_webhook_urls_to_embedded_or_reserved_ipv6_are_refused(url: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        rules.check_url(url, allow_loopback=False, resolve=resolve)
    assert caught.value.field == "url" and caught.value.code == "invalid_webhook_url"


@pytest.mark.parametrize(
    "host",
    [
        "a" * 64 + ".example.com",
        "example." + "b" * 64,
        "a..example.com",
        ".example.com",
        ("a" * 60 + ".") * 5 + "com",  # 308 characters
        "xn--" + "z" * 70 + ".com",
    ],
)
def test_host_names_that_are_not_dns_names_are_refused_without_resolving(host: str) -> None:
    def must_not_resolve(name: str, port: int) -> list[str]:
        raise AssertionError(f"resolved {name!r}")

    with pytest.raises(InvalidInput) as caught:
        rules.check_url(f"https://{host}/hook", allow_loopback=False, resolve=must_not_resolve)
    assert caught.value.field == "url"


def test_a_resolver_that_fails_on_encoding_is_a_clear_refusal() -> None:
    def idna_fails(name: str, port: int) -> list[str]:
        raise UnicodeError("label too long")

    with pytest.raises(InvalidInput, match="does not resolve"):
        rules.check_url("https://hooks.example.com/", allow_loopback=False, resolve=idna_fails)


@given(st.text(max_size=300))
def test_any_host_text_is_a_clear_refusal_or_a_target(host: str) -> None:
    try:
        target = rules.check_url(f"https://{host}/hook", allow_loopback=False, resolve=resolve)
    except InvalidInput as exc:
        assert exc.field == "url"
    else:
        assert all(rules.is_public_address(a) for a in target.addresses)
