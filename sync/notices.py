"""The digest an agency's mailbox and agency admins (registry.notices.recipients) get when the
hub refuses its records.

A refusal is open while its Rejection row exists. The digest goes out when the open refusals
include one that no earlier digest reported: a refusal is the record, the version sent and
whether it was rejected or answered stale. Its key is the whole open set, so workers that see the
same set claim the same notice (registry/notices.py) and one of them sends it; the same open
refusals are never sent again, and a new one (another record, or a new version refused again)
triggers a new digest.

The sync engine queues `send_rejection_digest` on commit when a push was refused, so that
sending never holds up the sync. The task is declared here rather than in sync/tasks.py, so the
worker knows it through sync/services.py, which imports this module to queue it.
"""

import hashlib
import itertools

from celery import shared_task
from django.conf import settings

from registry import notices
from registry.models import Notice, UseCase
from sync.models import RefusalStatus, Rejection


def refusal_item(rejection: Rejection) -> str:
    return f"{rejection.origin}/{rejection.uid}/v{rejection.version}/{rejection.status}"


def rejection_digest() -> notices.Draft | None:
    """The digest of this agency's open refusals, or None when none is new."""
    open_refusals = list(
        Rejection.objects.filter(origin=settings.NODE_AGENCY)
        .select_related("peer")
        .order_by("rejected_at", "pk")
    )
    reported = set(
        itertools.chain.from_iterable(
            Notice.objects.filter(kind=Notice.Kind.REJECTIONS).values_list("records", flat=True)
        )
    )
    new = [r for r in open_refusals if refusal_item(r) not in reported]
    if not new:
        return None
    earlier = [r for r in open_refusals if refusal_item(r) in reported]
    items = sorted(refusal_item(r) for r in open_refusals)
    return notices.Draft(
        kind=Notice.Kind.REJECTIONS,
        key=hashlib.sha256("\n".join(items).encode()).hexdigest(),
        period="",
        subject=notices.subject(f"{notices.plural(len(new), 'record')} refused by the hub"),
        body=_digest_body(new, earlier),
        records=items,
    )


def _digest_body(new: list[Rejection], earlier: list[Rejection]) -> str:
    own = {
        use_case.uid: use_case
        for use_case in UseCase.objects.own()
        .filter(uid__in=[r.uid for r in new + earlier])
        .only("pk", "uid", "title")
    }
    lines = [
        f"The hub refused {notices.plural(len(new), 'record')} of {settings.NODE_AGENCY}. A "
        "refused version stays out of the network until a corrected version gets through."
    ]
    for heading, group in (("Newly refused", new), ("Still refused, reported before", earlier)):
        if group:
            lines += ["", f"{heading}:"]
            lines += [_refusal_lines(r, own.get(r.uid)) for r in group]
    return "\n".join(lines) + "\n"


def _refusal_lines(rejection: Rejection, use_case: UseCase | None) -> str:
    title = use_case.title if use_case else f"{rejection.origin}/{rejection.uid}"
    if rejection.status == RefusalStatus.STALE:
        why = "stale: the hub holds a newer version"
        if rejection.peer_version is not None:
            why += f" ({rejection.peer_version})"
    else:
        why = "; ".join(
            f"{name}: {problems if isinstance(problems, str) else ' '.join(map(str, problems))}"
            for name, problems in (rejection.errors or {}).items()
        )
    line = f"- {title} (version {rejection.version}, {rejection.status} by {rejection.peer})"
    if why:
        line += f"\n  {why}"
    if use_case is not None:
        line += f"\n  {notices.record_link(use_case.pk)}"
    return line


def deliver_rejection_digest() -> Notice | None:
    """Send abandoned claims, then the digest if a refusal is new; the digest Notice sent."""
    notices.deliver_unsent()
    draft = rejection_digest()
    return notices.deliver(draft) if draft is not None else None


# Declared with its service: celery autodiscovers only tasks.py (see the module docstring).
@shared_task(**notices.MAIL_TASK_OPTIONS)
def send_rejection_digest() -> None:
    deliver_rejection_digest()
