"""Which URLs a partner may make us call: the hosts it was allowed, on public addresses only.

During the credentials handshake the portal GETs URLs that whoever holds a token A names (the
versions URL, then the version details and the endpoints listed there). Without a check, a token A
was enough to make the portal fetch its own admin or any service on its network. Every such URL is
checked here before it is requested:

- its host must be on the partner's allow-list (``Partner.callback_hosts``; ``*.example.com``
  allows the subdomains of example.com), or, when the list is empty, be the host of the partner's
  versions URL;
- every address the host resolves to must be public: loopback, link-local, private, shared,
  reserved and multicast addresses are refused unless ``OCPI_ALLOW_PRIVATE_ADDRESSES`` is on (for
  tests and a simulator on the same machine).
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Sequence
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError

# A host on the allow-list: a DNS name or an IP address, or "*." and a domain for its subdomains.
_HOST_CHARACTERS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789-.:")


class CallbackUrlRefused(Exception):
    """The partner named a URL that we do not call; the message says why."""


def callback_hosts_parse(text: str) -> list[str]:
    """The hosts of an allow-list as staff type it: separated by commas, spaces or new lines."""
    return [host.lower().rstrip(".") for host in text.replace(",", " ").split()]


def validate_callback_hosts(text: str) -> None:
    """A model validator: every entry is a bare host name or address, not a URL."""
    for host in callback_hosts_parse(text):
        name = host.removeprefix("*.")
        if not name or not set(name) <= _HOST_CHARACTERS or name.startswith((".", "-")) or "*" in name:
            raise ValidationError(
                f"{host!r} is not a host name: give names such as ocpi.partner.com or *.partner.com, "
                "without scheme, port or path."
            )


def url_host(url: str) -> str:
    """The host of ``url``, lower case, without brackets or a trailing dot ("" if it has none)."""
    try:
        host = urlsplit(url).hostname or ""
    except ValueError:
        return ""
    return host.rstrip(".")


def _host_allowed(host: str, allowed_hosts: Sequence[str]) -> bool:
    for allowed in allowed_hosts:
        allowed = allowed.lower().rstrip(".")
        if allowed.startswith("*."):
            if host.endswith(allowed[1:]) and len(host) > len(allowed) - 1:
                return True
        elif host == allowed:
            return True
    return False


def _refused_kind(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
    """Why ``address`` is not one we call, or None for a public unicast address."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        # ::ffff:127.0.0.1 reaches 127.0.0.1: judge the IPv4 address it carries.
        address = address.ipv4_mapped
    if address.is_loopback:
        return "loopback"
    if address.is_link_local:
        return "link-local"
    if address.is_multicast:
        return "multicast"
    if address.is_unspecified:
        return "unspecified"
    if address.is_private:
        return "private"
    if address.is_reserved or not address.is_global:
        # is_global is false for the rest of the special-purpose ranges (100.64.0.0/10 and others).
        return "reserved"
    return None


def _addresses(host: str, port: int) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as error:
        raise CallbackUrlRefused(f"{host} does not resolve ({error})") from None
    # A scope id (fe80::1%eth0) is not part of the address.
    return [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]


def callback_url_check(*, url: str, allowed_hosts: Sequence[str], resolve: bool = True) -> None:
    """Raise CallbackUrlRefused unless we may call ``url`` for a partner allowed ``allowed_hosts``.

    Each address the host resolves to is checked, not only the first: the connection may use any.
    ``resolve=False`` checks the form and the allow-list only (for a URL kept for later use).
    """
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise CallbackUrlRefused(f"{url!r} is not a valid URL") from None
    if parts.scheme not in ("http", "https"):
        raise CallbackUrlRefused(f"{url!r} is not an http(s) URL")
    if parts.username is not None or parts.password is not None:
        raise CallbackUrlRefused(f"{url!r} carries a user name or password; we do not send those")
    host = url_host(url)
    if not host:
        raise CallbackUrlRefused(f"{url!r} has no host")
    if not _host_allowed(host, allowed_hosts):
        raise CallbackUrlRefused(
            f"{host} is not a host we call for you (allowed: {', '.join(allowed_hosts) or 'none'})"
        )
    if not resolve or settings.OCPI_ALLOW_PRIVATE_ADDRESSES:
        return
    for address in _addresses(host, port or (443 if parts.scheme == "https" else 80)):
        kind = _refused_kind(address)
        if kind is not None:
            raise CallbackUrlRefused(f"{host} is a {kind} address ({address}); we do not call those")


def callback_hosts_for(*, configured: Sequence[str], versions_url: str) -> list[str]:
    """The hosts a partner may name: its allow-list, or else the host of its versions URL only."""
    if configured:
        return list(configured)
    host = url_host(versions_url)
    return [host] if host else []
