"""An embedded Microsoft Graph for the learning API, on loopback over HTTPS, with its own identity platform.

It checks every request itself and answers with Graph's status codes and
error bodies (from ``learnkit.errors``), so code that works against it works
against Graph. msal talks to its token endpoint unchanged.

Example::

    import learnkit.sandbox
    with learnkit.sandbox.start() as sb:
        app = msal.ConfidentialClientApplication(sb.client_id, client_credential=sb.client_secret,
                                                 authority=sb.authority, instance_discovery=False,
                                                 validate_authority=False, verify=sb.ca_cert)
"""

from __future__ import annotations

from learnkit._extras import require

require("sandbox", __name__)

from learnkit.errors import DatabaseInUse, RemoteWarning
from learnkit.sandbox.identity import DemoApp
from learnkit.sandbox.server import Sandbox, start
from learnkit.sandbox.tls import ClientCertificate

__all__ = ["ClientCertificate", "DatabaseInUse", "DemoApp", "RemoteWarning", "Sandbox", "start"]
