"""Which service a client talks to (a Graph host and a tenant), and which URLs may carry its token.

A journal run records the service it wrote to; undo and resume compare it with the
client's before anything is sent, and the history is filtered by it. A tenant id is
unique across Microsoft's clouds, and every sandbox database is a tenant of its own,
so two services are the same when their Graph host names and tenants are: the port
is left out, since a sandbox kept in a file comes back on another port.

The client sends its token only to URLs of its own Graph origin (``same_origin``): a
next link naming any other host, or plain http where the client speaks https, is refused.

Example::

    Service("https://graph.microsoft.com/v1.0", "72f988bf-...").label
    # 'graph.microsoft.com tenant 72f988bf'
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

__all__ = ["Service", "origin", "same_origin"]

_DEFAULT_PORTS = {"https": 443, "http": 80}


def origin(url: str) -> tuple[str, str, int | None]:
    """``(scheme, host, port)`` of a URL, lower-cased, with the scheme's default port filled in.

    >>> origin("https://Graph.Microsoft.com/v1.0/me")
    ('https', 'graph.microsoft.com', 443)
    """
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    try:
        port = parts.port
    except ValueError:  # a port that is not a number: an origin nothing equals
        return scheme, "", -1
    return scheme, (parts.hostname or "").lower(), port if port is not None else _DEFAULT_PORTS.get(scheme)


def same_origin(url: str, base: str) -> bool:
    """Whether ``url`` is on ``base``'s scheme, host and port: where a client's token may go.

    >>> same_origin("https://graph.microsoft.com/v1.0/x?$skiptoken=1", "https://graph.microsoft.com/v1.0")
    True
    >>> same_origin("http://graph.microsoft.com/v1.0/x", "https://graph.microsoft.com/v1.0")
    False
    """
    return origin(url) == origin(base)


@dataclass(frozen=True)
class Service:
    """A Graph host and a tenant: where a run's writes went.

    ``tenant_id`` is the ``tid`` of the client's token (None for a run an older learnkit
    journaled, which is then compared by its whole ``graph_url``).

    >>> a = Service("https://127.0.0.1:8443/v1.0", "T1")
    >>> a.same_as(Service("https://127.0.0.1:9000/v1.0", "t1")), a.same_as(Service("https://127.0.0.1:8443/v1.0", "T2"))
    (True, False)
    """

    graph_url: str
    tenant_id: str | None

    @property
    def host(self) -> str:
        """The Graph host name (no port): ``graph.microsoft.com``, ``127.0.0.1``."""
        return origin(self.graph_url)[1]

    @property
    def label(self) -> str:
        """A short name for tables and messages: ``127.0.0.1 tenant b3f1c2d4``."""
        tenant = f" tenant {self.tenant_id.split('-')[0]}" if self.tenant_id else ""
        return f"{self.host}{tenant}"

    @property
    def key(self) -> str:
        """One text per service, equal when ``same_as`` is (for keying records by service, as leases do).

        >>> Service("https://127.0.0.1:8443/v1.0", "T1").key == Service("https://127.0.0.1:9/v1.0", "t1").key
        True
        """
        return f"{self.host}|{(self.tenant_id or self.graph_url.rstrip('/')).lower()}"

    def same_as(self, other: Service) -> bool:
        """Whether both name one tenant on one Graph host (a tenant-less side: the same ``graph_url``)."""
        if self.tenant_id is None or other.tenant_id is None:
            return self.graph_url.rstrip("/").lower() == other.graph_url.rstrip("/").lower()
        return self.host == other.host and self.tenant_id.lower() == other.tenant_id.lower()

    def __str__(self) -> str:
        tenant = f" (tenant {self.tenant_id})" if self.tenant_id else ""
        return f"{self.graph_url}{tenant}"
