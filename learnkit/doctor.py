"""Which of the operations learnkit uses a tenant serves, and with which tokens, read-only.

It signs in with each token kind the connection offers (application by the ``AZURE_*`` variables or a
sandbox's demo app; delegated by a device code with ``--delegated-client-id``, or a sandbox's demo user),
reads each token's ``roles`` or ``scp``, and sends one small read per operation and kind: the
provider-wide activity list (``$top=1&$select=id``) and its ``$count``, a learner's list (``/me`` and
``/users/{id}``), an activity by id and by external id, the providers, a provider, its contents, a user's
name, and a ``$batch`` of one GET. Nothing is written: the only POSTs are the token requests and that
batch. The table says, per operation and kind, whether it works, how it was refused (status and code),
or why it was skipped, and for what fails the permission to grant (``learnkit.permissions``) or the
documented way to use instead (``learnkit.permissions.METADATA_ONLY``). ``--profile-out FILE`` writes
what was found as a tenant profile (``learnkit.profile``; no secret, no token), which
``learnkit sandbox --profile FILE`` then imitates. The command around these probes is ``learnkit.cli.doctor``.

From Python::

    report = diagnose(client, provider=registration_id)
    print(report.table())
    report.profile.save("tenant.json")
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Literal

from learnkit.permissions import KINDS, METADATA_ONLY, PERMISSIONS, TokenKind

if TYPE_CHECKING:
    from learnkit.client import GraphClient
    from learnkit.errors import GraphError
    from learnkit.profile import ServiceRecord, TenantProfile

__all__ = ["Diagnosis", "Finding", "diagnose"]

Outcome = Literal["works", "refused", "skipped", "failed"]
#: What a refusal says about the operation: not served by the service, or nothing learnt (permission, id, throttle).
_NOT_SERVED = "not served"

# The PERMISSIONS key of the probed operations that are not one themselves.
_PERMISSION_OF = {"count_provider_activities": "list_provider_activities", "batch": "get_activity"}


@dataclass(frozen=True)
class Finding:
    """One probe: an operation, with one token kind, and what came of it.

    ``served``: True (answered), False (the service refused the operation itself), None (nothing learnt:
    skipped, a missing permission, an unknown id, a throttle).
    """

    operation: str
    kind: TokenKind
    outcome: Outcome
    detail: str = ""
    fix: str = ""
    where: str = ""
    served: bool | None = None
    status: int | None = None
    code: str | None = None
    message: str | None = None

    @property
    def result(self) -> str:
        """The table's result cell: ``works (...)``, ``refused 400 BadRequest``, ``skipped: ...``."""
        if self.outcome == "refused":
            return f"refused {self.status} {self.code}" + (f": {self.detail}" if self.detail else "")
        if self.outcome == "works":
            return "works" + (f" ({self.detail})" if self.detail else "")
        return f"{self.outcome}: {self.detail}"


@dataclass
class Diagnosis:
    """Everything the probes found: the findings in order, the tokens, and the profile they make."""

    graph_url: str
    findings: list[Finding] = field(default_factory=list)
    #: kind -> (signed in: True/False/None when not tried, permissions its token held or None)
    tokens: dict[TokenKind, tuple[bool | None, tuple[str, ...] | None]] = field(default_factory=dict)
    profile: TenantProfile | None = None

    @property
    def reached(self) -> bool:
        """Whether some token signed in and the service answered at least one probe."""
        signed_in = any(signed for signed, _ in self.tokens.values())
        answered = any(f.outcome in ("works", "refused") for f in self.findings if f.operation != "sign_in")
        return signed_in and answered

    def table(self) -> str:
        """The findings as a plain-text table, then each token's permissions as its claims list them.

        Columns: operation, token kind, result, and what would make it work.
        """
        head = ("operation", "token", "result", "to make it work")
        rows = [(f.operation + (f" {f.where}" if f.where else ""), f.kind, f.result, f.fix) for f in self.findings]
        widths = [max(len(row[i]) for row in [head, *rows]) for i in range(3)]
        lines = []
        for row in [head, *rows]:
            cells = [row[i].ljust(widths[i]) for i in range(3)]
            lines.append("  ".join([*cells, row[3]]).rstrip())
        for kind, (_, held) in self.tokens.items():
            if held is not None:
                claim = "roles" if kind == "application" else "scp"
                lines.append(f"{kind} token {claim}: {', '.join(held) or 'none'}")
        return "\n".join(lines)


# --- the probes ----------------------------------------------------------------------------


def _single(client: GraphClient, kind: TokenKind) -> GraphClient | None:
    """A client holding only ``client``'s ``kind`` credential (same sign-in, no retries worth waiting for)."""
    from learnkit.client import GraphClient
    from learnkit.errors import LearnkitError
    from learnkit.retry import RetryPolicy

    try:
        source = client.credentials.credential_for(kind)
    except LearnkitError:  # a credential that cannot sign in to tell its kind: _sign_in says why, in its slot
        source = client.credential if kind == "application" else client.delegated
    if source is None:
        return None
    return GraphClient(
        client.graph_url,
        credential=source,  # either kind
        scopes=client.credentials.scopes,
        verify=client.verify,
        timeout=client.timeout,
        retry=RetryPolicy(max_attempts=2, max_retry_wait=5.0, backoff=0.2, max_backoff=1.0),
        trust_env=client.session.trust_env,
    )


def _grant(operation: str, kind: TokenKind) -> str:
    need = PERMISSIONS[_PERMISSION_OF.get(operation, operation)]
    accepted = need.accepted(kind)
    others = f" (or {', '.join(accepted[1:])})" if len(accepted) > 1 else ""
    return f"grant {kind} permission {accepted[0]}{others}, with admin consent"


def _instead(operation: str) -> str:
    if operation in METADATA_ONLY:
        return "Graph does not document it: " + METADATA_ONLY[operation]
    return "Graph documents it, the tenant refuses it: check the tenant's Viva Learning plan, or ask Microsoft"


#: Operations that address one entity: a 404 says the id is unknown, not that the operation is not served.
_ADDRESSED = {
    "get_activity": "check --activity-id",
    "get_activity_by_external_id": "check --external-id and --provider",
    "get_provider": "check --provider",
    "get_user": "the learner is not in the directory",
    "list_learner_activities": "the learner is not in the directory",
}


def _refused(
    operation: str, kind: TokenKind, error: GraphError, held: frozenset[str] | None, where: str = ""
) -> Finding:
    """What a Graph error says: not served, a missing permission, an unknown id, or a throttle."""
    from learnkit.errors import InvalidRegistrationError, RetryableError

    base: dict[str, Any] = {
        "operation": operation,
        "kind": kind,
        "outcome": "refused",
        "where": where,
        "status": error.status,
        "code": error.code or "",
        "message": error.message,
    }
    accepted = set(PERMISSIONS[_PERMISSION_OF.get(operation, operation)].accepted(kind))
    if error.status == 401:
        return Finding(**base, detail="the token was not accepted", fix="sign in again; check the tenant and --cloud")
    if error.status == 403 and held is not None and not held & accepted:
        return Finding(**base, detail="the token lacks the permission", fix=_grant(operation, kind))
    if isinstance(error, InvalidRegistrationError):
        return Finding(**base, detail="unknown provider", fix="check --provider: the tenant does not know it")
    if error.status == 404 and operation in _ADDRESSED:
        return Finding(**base, detail="not found", fix=_ADDRESSED[operation])
    if isinstance(error, RetryableError):
        return Finding(**base, detail="throttled or unavailable", fix="run learnkit doctor again later")
    return Finding(**base, served=False, detail=_NOT_SERVED, fix=_instead(operation))


@dataclass
class _Probe:
    """The state the probes share: the per-kind clients, what they held, and ids found on the way."""

    clients: dict[TokenKind, GraphClient | None]
    held: dict[TokenKind, frozenset[str] | None]
    provider: str | None
    activity_id: str | None
    external_id: str | None
    findings: list[Finding] = field(default_factory=list)
    learner: str | None = None
    activity: dict[str, Any] | None = None
    #: The tenant id a token named (its ``tid`` claim).
    tenant: str | None = None

    def skip(self, operation: str, kind: TokenKind, why: str, where: str = "") -> None:
        self.findings.append(Finding(operation, kind, "skipped", why, where=where))

    def each_kind(self, operation: str, where: str = "") -> list[tuple[TokenKind, GraphClient]]:
        """The kinds to probe ``operation`` with; a finding says why each other kind is skipped."""
        need = PERMISSIONS[_PERMISSION_OF.get(operation, operation)]
        chosen = []
        for kind in KINDS:
            client = self.clients[kind]
            if kind not in need.kinds:
                self.skip(operation, kind, f"Graph's page says {kind} tokens are not supported", where)
            elif client is None:
                self.skip(operation, kind, f"no {kind} token signed in", where)
            else:
                chosen.append((kind, client))
        return chosen

    def get(
        self,
        operation: str,
        kind: TokenKind,
        client: GraphClient,
        path: str,
        params: Mapping[str, str] | None = None,
        *,
        where: str = "",
        describe: Callable[[Any], str] = lambda body: "",
    ) -> Any:
        """GET ``path``; record the finding; the JSON body on success, else None."""
        from learnkit.errors import GraphError, LearnkitError

        try:
            response = client.request("GET", path, operation=_PERMISSION_OF.get(operation, operation), params=params)
        except GraphError as exc:
            self.findings.append(_refused(operation, kind, exc, self.held[kind], where))
            return None
        except LearnkitError as exc:  # the network, an unexpected answer, a token that could not be had
            self.findings.append(Finding(operation, kind, "failed", _one_line(exc), where=where))
            return None
        self.findings.append(Finding(operation, kind, "works", describe(response.body), where=where, served=True))
        return response.body


def _one_line(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return text if len(text) <= 160 else text[:157] + "..."


def _items(body: Any) -> str:
    value = body.get("value") if isinstance(body, dict) else None
    count = len(value) if isinstance(value, list) else 0
    return f"{count} item" + ("" if count == 1 else "s")


def _first_id(body: Any) -> str | None:
    value = body.get("value") if isinstance(body, dict) else None
    if isinstance(value, list) and value and isinstance(value[0], dict) and isinstance(value[0].get("id"), str):
        return str(value[0]["id"])
    return None


def _sign_in(client: GraphClient | None, kind: TokenKind, probe: _Probe, why_not: str) -> None:
    """Get a token of ``kind``; record whether it came and which permissions it holds (from its claims)."""
    from learnkit.credentials import token_claims
    from learnkit.errors import LearnkitError, TokenError

    if client is None:
        probe.held[kind] = None
        probe.skip("sign_in", kind, why_not)
        return
    try:
        token = client.credentials.access_token(kind)
        if token is None:
            raise TokenError(f"the credential gives no {kind} token")
    except LearnkitError as exc:
        probe.held[kind] = None
        probe.clients[kind] = None
        fix = "check the AZURE_* variables and --cloud" if kind == "application" else "check --delegated-client-id"
        probe.findings.append(Finding("sign_in", kind, "failed", _one_line(exc), fix=fix))
        return
    claims = token_claims(token)
    probe.tenant = probe.tenant or (str(claims["tid"]) if claims.get("tid") else None)
    held = (claims.get("roles") or []) if kind == "application" else str(claims.get("scp") or "").split()
    probe.held[kind] = frozenset(str(p) for p in held)
    count = len(probe.held[kind] or ())
    label = ("role" if kind == "application" else "scope") + ("" if count == 1 else "s")
    probe.findings.append(Finding("sign_in", kind, "works", f"{count} {label}, listed below", served=True))


def diagnose(
    client: GraphClient,
    *,
    provider: str | None = None,
    activity_id: str | None = None,
    external_id: str | None = None,
    service: ServiceRecord | None = None,
    progress: Callable[[str], object] = lambda line: None,
) -> Diagnosis:
    """Probe, read-only, every operation learnkit uses with each token kind ``client`` holds.

    ``provider`` is the registration id to probe (lists, contents, the provider itself); ``activity_id``
    and ``external_id`` address an activity when the tenant does not list them (otherwise one found on
    the provider's or the signed-in learner's list is used). ``service`` names what is probed in the
    profile (default: the client's Graph URL and the tenant id from a token). ``progress`` gets a line
    before each step. Never raises for what the service answers.

    Example: ``print(diagnose(client, provider=reg).table())``
    """
    from learnkit.errors import PermissionWarning

    probe = _Probe(
        clients={kind: _single(client, kind) for kind in KINDS},
        held={},
        provider=provider,
        activity_id=activity_id,
        external_id=external_id,
    )
    with warnings.catch_warnings():
        # The table says what is missing, once per operation and kind: no warning besides.
        warnings.simplefilter("ignore", PermissionWarning)
        progress("signing in")
        _sign_in(probe.clients["application"], "application", probe, "no application credential")
        _sign_in(probe.clients["delegated"], "delegated", probe, "no delegated sign-in (give --delegated-client-id)")
        if any(probe.held.get(kind) is not None for kind in KINDS):
            progress("probing")
            _probe_all(probe)
    if service is not None and service.tenant_id is None:
        service = service.model_copy(update={"tenant_id": probe.tenant})
    diagnosis = Diagnosis(client.graph_url, probe.findings)
    for kind in KINDS:
        tried = probe.clients.get(kind) is not None or any(
            f.operation == "sign_in" and f.kind == kind and f.outcome == "failed" for f in probe.findings
        )
        held = probe.held.get(kind)
        diagnosis.tokens[kind] = (
            (held is not None) if tried else None,
            tuple(sorted(held)) if held is not None else None,
        )
    diagnosis.profile = _profile(diagnosis, service, provider, probe.tenant, client)
    return diagnosis


def _probe_all(p: _Probe) -> None:
    from learnkit import paths

    rid = p.provider
    # 1. The provider-wide list: served? It also gives an activity to probe with.
    if rid is None:
        for kind in KINDS:
            p.skip("list_provider_activities", kind, "give --provider")
            p.skip("count_provider_activities", kind, "give --provider")
    else:
        listing = paths.provider_activities(rid)
        for kind, client in p.each_kind("list_provider_activities"):
            body = p.get(
                "list_provider_activities", kind, client, listing, {"$top": "1", "$select": "id"}, describe=_items
            )
            p.activity_id = p.activity_id or _first_id(body)
        for kind, client in p.each_kind("count_provider_activities"):
            p.get(
                "count_provider_activities",
                kind,
                client,
                listing,
                {"$top": "1", "$select": "id", "$count": "true"},
                describe=lambda body: (
                    f"@odata.count {body['@odata.count']}"
                    if isinstance(body, dict) and "@odata.count" in body
                    else "answered without @odata.count"
                ),
            )
    # 2. The signed-in learner's own list (delegated only, as documented).
    for kind, client in p.each_kind("list_learner_activities", "/me"):
        body = p.get(
            "list_learner_activities",
            kind,
            client,
            "/me/employeeExperience/learningCourseActivities",
            {"$top": "1"},
            where="/me",
            describe=_items,
        )
        p.activity_id = p.activity_id or _first_id(body)
    # 3. One activity by id: it names its learner, its provider and its external id.
    if p.activity_id is None:
        for kind in KINDS:
            p.skip("get_activity", kind, "no activity found to read: give --activity-id")
    else:
        for kind, client in p.each_kind("get_activity"):
            body = p.get("get_activity", kind, client, paths.activity(p.activity_id), describe=lambda b: "by id")
            if isinstance(body, dict) and p.activity is None:
                p.activity = body
    found = p.activity or {}
    rid = rid or (str(found["learningProviderId"]) if found.get("learningProviderId") else None)
    p.learner = str(found["learnerUserId"]) if found.get("learnerUserId") else None
    external = p.external_id or found.get("externalcourseActivityId") or found.get("externalCourseActivityId")
    # 4. The same activity by the provider's key.
    if external is None or rid is None:
        why = "give --external-id" if external is None else "give --provider"
        for kind in KINDS:
            p.skip("get_activity_by_external_id", kind, why)
    else:
        key = str(external).replace("'", "''")
        path = paths.provider_activities(rid) + f"(externalcourseActivityId='{key}')"
        for kind, client in p.each_kind("get_activity_by_external_id"):
            p.get("get_activity_by_external_id", kind, client, path, describe=lambda b: "by key")
    # 5. A learner found on the provider: their list by id.
    if p.learner is None:
        for kind in KINDS:
            p.skip("list_learner_activities", kind, "no learner found: give --activity-id", "/users/{id}")
    else:
        path = f"/users/{paths.segment(p.learner, 'learner')}/employeeExperience/learningCourseActivities"
        for kind, client in p.each_kind("list_learner_activities", "/users/{id}"):
            p.get("list_learner_activities", kind, client, path, {"$top": "1"}, where="/users/{id}", describe=_items)
    # 6. Providers, one provider, its contents.
    for kind, client in p.each_kind("list_providers"):
        p.get("list_providers", kind, client, paths.PROVIDERS, describe=_items)
    for operation, suffix in (("get_provider", ""), ("list_contents", "/learningContents")):
        if rid is None:
            for kind in KINDS:
                p.skip(operation, kind, "give --provider")
            continue
        params = {"$top": "1"} if suffix else None
        for kind, client in p.each_kind(operation):
            p.get(
                operation,
                kind,
                client,
                paths.provider(rid) + suffix,
                params,
                describe=_items if suffix else lambda b: "",
            )
    # 7. A user's name.
    if p.learner is None:
        for kind in KINDS:
            p.skip("get_user", kind, "no learner found: give --activity-id")
    else:
        for kind, client in p.each_kind("get_user"):
            p.get("get_user", kind, client, paths.user(p.learner), {"$select": "displayName"}, describe=lambda b: "")
    # 8. $batch of one GET (a read both kinds may send).
    _probe_batch(p, rid)


def _probe_batch(p: _Probe, rid: str | None) -> None:
    from learnkit import paths
    from learnkit.errors import GraphError, LearnkitError

    if p.activity_id is not None:
        url, operation = paths.activity(p.activity_id), "get_activity"
    elif rid is not None:
        url, operation = paths.provider(rid) + "/learningContents?$top=1", "list_contents"
    else:
        for kind in KINDS:
            p.skip("batch", kind, "nothing to read inside it: give --provider or --activity-id")
        return
    for kind, client in p.each_kind("batch"):
        try:
            answers = client.batch([{"id": "1", "method": "GET", "url": url}], operation=operation)
        except GraphError as exc:
            p.findings.append(_refused("batch", kind, exc, p.held[kind]))
            continue
        except LearnkitError as exc:
            p.findings.append(Finding("batch", kind, "failed", _one_line(exc)))
            continue
        inner = answers[0].get("status") if answers else None
        p.findings.append(Finding("batch", kind, "works", f"its GET answered {inner}", served=True))


def _profile(
    diagnosis: Diagnosis,
    service: ServiceRecord | None,
    provider: str | None,
    tenant_id: str | None,
    client: GraphClient,
) -> TenantProfile:
    """The tenant profile the findings make (no secret, no token)."""
    from learnkit import __version__
    from learnkit.profile import PROBED_OPERATIONS, OperationRecord, ServiceRecord, TenantProfile, TokenRecord

    operations: dict[str, OperationRecord] = {}
    for name in PROBED_OPERATIONS:
        found = [f for f in diagnosis.findings if f.operation == name]
        works = next((f for f in found if f.served), None)
        refused = next((f for f in found if f.served is False), None)
        if works is not None:
            operations[name] = OperationRecord(served=True, status=200, token=works.kind)
        elif refused is not None:
            operations[name] = OperationRecord(
                served=False, status=refused.status, code=refused.code, message=refused.message, token=refused.kind
            )
        else:
            notes = "; ".join(dict.fromkeys(f"{f.kind}: {f.result}" for f in found if f.outcome != "skipped"))
            skipped = "; ".join(dict.fromkeys(f.detail for f in found if f.outcome == "skipped"))
            operations[name] = OperationRecord(served=None, note=notes or skipped or None)
    return TenantProfile(
        format="learnkit-tenant-profile/1",
        learnkit=__version__,
        probed_at=datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        service=service or ServiceRecord(graph_url=client.graph_url, tenant_id=tenant_id),
        provider=provider,
        tokens={kind: TokenRecord(signs_in=signed, granted=held) for kind, (signed, held) in diagnosis.tokens.items()},
        operations=operations,
    )
