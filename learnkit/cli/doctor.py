"""``learnkit doctor``: its options, the connection it probes with, the table printed and the profile written.

The probes themselves are the library's (``learnkit.doctor.diagnose``); this is the command around them.
Exit status: 0 when the probes ran (whatever they found), 1 when no token signed in or nothing answered,
2 for a usage error.

Example: ``learnkit doctor --sandbox-json sb.json --provider 01e8f81b-3060-4dec-acf0-0389665a0a38``
"""

from __future__ import annotations

import argparse
import os
import sys
import warnings
from typing import TYPE_CHECKING

from learnkit.cli import add_connection_arguments, client_from_args
from learnkit.cli.outputs import check_output
from learnkit.doctor import diagnose

if TYPE_CHECKING:
    from learnkit.client import GraphClient
    from learnkit.profile import ServiceRecord

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``learnkit doctor``."""
    add_connection_arguments(parser)
    parser.add_argument("--provider", metavar="REG", help="the learning provider's registration id to probe")
    parser.add_argument(
        "--activity-id",
        metavar="ID",
        help="an activity to read by id (default: one the provider's or the signed-in learner's list shows)",
    )
    parser.add_argument(
        "--external-id",
        metavar="KEY",
        help="an activity's externalcourseActivityId to read by key (default: that of the activity read by id)",
    )
    parser.add_argument(
        "--delegated-client-id",
        metavar="ID",
        help="with a tenant: a public client id to sign a user in by device code and probe delegated tokens too "
        "(a sandbox signs its demo user in itself)",
    )
    parser.add_argument(
        "--profile-out",
        metavar="FILE",
        help="write what was found as a tenant profile (JSON, mode 0600, no secret) for `learnkit sandbox --profile`",
    )


def _client(args: argparse.Namespace) -> tuple[GraphClient, ServiceRecord]:
    """The user's connection, with a delegated sign-in where one can be had; and what to call it in the profile."""
    from learnkit.cli import delegated_sign_in
    from learnkit.clouds import get_cloud
    from learnkit.errors import CommandError, TokenError
    from learnkit.profile import ServiceRecord

    if args.sandbox_json:
        if args.delegated_client_id:
            raise CommandError("--delegated-client-id goes with a tenant (a sandbox signs its demo user in itself)")
        client = client_from_args(args, delegated=True)
        return client, ServiceRecord(graph_url=client.graph_url, tenant_id=_tenant_of(client), cloud=None)
    env = os.environ
    try:
        client = client_from_args(args)
    except TokenError:
        # A delegated sign-in alone is enough to probe with; without one, the error says what to set.
        if not (args.delegated_client_id and env.get("AZURE_TENANT_ID")):
            raise
        from learnkit.client import GraphClient

        client = GraphClient(get_cloud(args.cloud).graph_url)
    if args.delegated_client_id:
        if not env.get("AZURE_TENANT_ID"):
            raise CommandError("--delegated-client-id needs the tenant: set AZURE_TENANT_ID")
        client.delegated = delegated_sign_in(env["AZURE_TENANT_ID"], args.delegated_client_id, args.cloud)
    return client, ServiceRecord(graph_url=client.graph_url, tenant_id=env.get("AZURE_TENANT_ID"), cloud=args.cloud)


def _tenant_of(client: GraphClient) -> str | None:
    source = client.credential or client.delegated
    return getattr(source, "tenant_id", None)


def run(args: argparse.Namespace) -> int:
    """Probe, print the table, write the profile if asked; the exit status."""
    if args.profile_out:
        check_output("--profile-out", args.profile_out)  # said before any sign-in
    client, service = _client(args)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the table is the report; nothing else on stderr
        diagnosis = diagnose(
            client,
            provider=args.provider,
            activity_id=args.activity_id,
            external_id=args.external_id,
            service=service,
        )
    print(f"learnkit doctor: {client.graph_url}" + (f", provider {args.provider}" if args.provider else ""))
    print(diagnosis.table())
    if args.profile_out and diagnosis.profile is not None:
        diagnosis.profile.save(args.profile_out)
        print(f"profile written to {args.profile_out} (`learnkit sandbox --profile {args.profile_out}` imitates it)")
    if not diagnosis.reached:
        signed = any(signed for signed, _ in diagnosis.tokens.values())
        cause = "the service answered no probe" if signed else "no token signed in"
        print(f"learnkit doctor: nothing could be probed: {cause}", file=sys.stderr)
        return 1
    return 0
