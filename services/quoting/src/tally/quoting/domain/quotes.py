"""A quote's lifecycle: DRAFT → SUBMITTED → APPROVED | REJECTED → ACCEPTED | EXPIRED, with versions.

Each change is a pure function from a quote to its next state and the transition to record (who, when,
why). Only a draft (or a rejected quote, which becomes a draft again) can be changed, and each change is the
next version; every action names the version it acts on, so nobody approves or accepts terms they have not
seen. A quote past its ``valid_until`` that was not accepted is expired: nothing but reading it is allowed.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace
from datetime import datetime

from tally.domain.errors import (
    Conflict,
    FailedPrecondition,
    FieldViolation,
    InvalidArgument,
    PermissionDenied,
)
from tally.quoting.domain.approvals import RequiredApproval
from tally.quoting.domain.terms import QuoteTerms

NUMBER_PREFIX = "Q-"
SYSTEM = "system"
"""The actor of transitions nobody asked for (expiry)."""


class QuoteStatus(enum.Enum):
    DRAFT = "DRAFT"
    SUBMITTED = "SUBMITTED"
    APPROVED = "APPROVED"
    REJECTED = "REJECTED"
    ACCEPTED = "ACCEPTED"
    EXPIRED = "EXPIRED"


OPEN = (QuoteStatus.DRAFT, QuoteStatus.SUBMITTED, QuoteStatus.APPROVED, QuoteStatus.REJECTED)
"""Statuses a quote leaves for EXPIRED once valid_until has passed."""
CHANGEABLE = (QuoteStatus.DRAFT, QuoteStatus.REJECTED)


@dataclass(frozen=True)
class Acceptance:
    signer_name: str
    signer_email: str
    accepted_at: datetime


@dataclass(frozen=True)
class Transition:
    """One recorded change of status."""

    from_status: QuoteStatus | None
    """None for the creation."""
    to_status: QuoteStatus
    version: int
    actor: str
    at: datetime
    reason: str = ""


@dataclass(frozen=True)
class QuoteVersion:
    """One version's terms as they were written, and by whom."""

    version: int
    terms: QuoteTerms
    created_by: str
    created_at: datetime


@dataclass(frozen=True)
class Approver:
    """Who acts on a quote and, for approvals, which roles they hold (None: every role, an administrator)."""

    name: str
    roles: frozenset[str] | None = frozenset()

    def holds(self, role: str) -> bool:
        return self.roles is None or role in self.roles


@dataclass(frozen=True)
class Quote:
    id: str
    number: str
    status: QuoteStatus
    version: int
    terms: QuoteTerms
    created_at: datetime
    updated_at: datetime
    approvals: tuple[RequiredApproval, ...] = ()
    """What the current version needs (known once submitted) and who gave it."""
    acceptance: Acceptance | None = None
    subscription_id: str = ""
    """The subscription catalog made from the accepted quote; empty until it has."""
    customer_id: str = ""
    """The terms' customer, or for a prospect the customer catalog created; empty until then."""
    rejection_reason: str = ""

    def status_at(self, now: datetime) -> QuoteStatus:
        """The status as readers see it: an open quote past valid_until is expired even before recorded so."""
        if self.status in OPEN and self.terms.valid_until is not None and now >= self.terms.valid_until:
            return QuoteStatus.EXPIRED
        return self.status


def quote_number(sequence: int) -> str:
    """The printed number of the ``sequence``-th quote: 1 → ``Q-000001``."""
    if sequence < 1:
        raise ValueError(f"quote sequences start at 1, got {sequence}")
    return f"{NUMBER_PREFIX}{sequence:06d}"


def _same_version(quote: Quote, version: int) -> None:
    if version != quote.version:
        raise Conflict(
            f"quote {quote.number} is at version {quote.version}, not {version}: read it again and retry"
        )


def _in(quote: Quote, allowed: tuple[QuoteStatus, ...], action: str) -> None:
    if quote.status not in allowed:
        wanted = " or ".join(status.value for status in allowed)
        raise FailedPrecondition(
            f"quote {quote.number} is {quote.status.value}: only {wanted} quotes can be {action}"
        )


def expire(quote: Quote, now: datetime) -> tuple[Quote, Transition] | None:
    """The quote recorded as EXPIRED if its validity passed while it was open; None if it is not expired."""
    if quote.status_at(now) is not QuoteStatus.EXPIRED or quote.status is QuoteStatus.EXPIRED:
        return None
    expired = replace(quote, status=QuoteStatus.EXPIRED, updated_at=now)
    return expired, Transition(
        quote.status, QuoteStatus.EXPIRED, quote.version, SYSTEM, now, "valid_until passed"
    )


def revise(
    quote: Quote, version: int, terms: QuoteTerms, actor: str, now: datetime
) -> tuple[Quote, Transition | None]:
    """The next version with ``terms``, as a draft; a rejected quote becomes a draft again."""
    _in(quote, CHANGEABLE, "changed")
    _same_version(quote, version)
    revised = replace(
        quote,
        status=QuoteStatus.DRAFT,
        version=quote.version + 1,
        terms=terms,
        updated_at=now,
        approvals=(),
        rejection_reason="",
    )
    if quote.status is QuoteStatus.DRAFT:
        return revised, None
    return revised, Transition(quote.status, QuoteStatus.DRAFT, revised.version, actor, now, "revised")


def submit(
    quote: Quote, version: int, required: tuple[RequiredApproval, ...], actor: str, now: datetime
) -> tuple[Quote, Transition]:
    """SUBMITTED with the approvals the rules require, or APPROVED at once when none is required."""
    _in(quote, (QuoteStatus.DRAFT,), "submitted")
    _same_version(quote, version)
    if not required:
        approved = replace(quote, status=QuoteStatus.APPROVED, approvals=(), updated_at=now)
        return approved, Transition(
            quote.status, QuoteStatus.APPROVED, version, actor, now, "submitted; no approval rule applies"
        )
    submitted = replace(quote, status=QuoteStatus.SUBMITTED, approvals=required, updated_at=now)
    needs = "; ".join(f"{a.approver_role}: {a.reason}" for a in required)
    return submitted, Transition(quote.status, QuoteStatus.SUBMITTED, version, actor, now, f"needs {needs}")


def approve(
    quote: Quote, version: int, approver: Approver, comment: str, now: datetime
) -> tuple[Quote, Transition | None]:
    """Every outstanding approval the approver's roles can give, given; APPROVED once none is left.

    PermissionDenied, naming the roles needed, when the approver holds none of them."""
    _in(quote, (QuoteStatus.SUBMITTED,), "approved")
    _same_version(quote, version)
    outstanding = [a for a in quote.approvals if not a.given]
    mine = [a for a in outstanding if approver.holds(a.approver_role)]
    if not mine:
        roles = sorted({a.approver_role for a in outstanding})
        raise PermissionDenied(
            f"quote {quote.number} needs approval by role {' and '.join(roles)} "
            f"(API key scope quotes:approve:<role>); {approver.name} holds none of them"
        )
    approvals = tuple(
        replace(a, approved_by=approver.name, approved_at=now) if a in mine else a for a in quote.approvals
    )
    if any(not a.given for a in approvals):
        return replace(quote, approvals=approvals, updated_at=now), None
    approved = replace(quote, status=QuoteStatus.APPROVED, approvals=approvals, updated_at=now)
    return approved, Transition(
        quote.status, QuoteStatus.APPROVED, version, approver.name, now, comment.strip()
    )


def reject(
    quote: Quote, version: int, approver: Approver, reason: str, now: datetime
) -> tuple[Quote, Transition]:
    """REJECTED by someone who could have approved it, for a reason."""
    _in(quote, (QuoteStatus.SUBMITTED,), "rejected")
    _same_version(quote, version)
    if not reason.strip():
        raise InvalidArgument.field("reason", "is required: say why the quote is rejected")
    roles = {a.approver_role for a in quote.approvals}
    if not any(approver.holds(role) for role in roles):
        raise PermissionDenied(
            f"only an approver of quote {quote.number} (role {' or '.join(sorted(roles))}) can reject it"
        )
    rejected = replace(quote, status=QuoteStatus.REJECTED, rejection_reason=reason.strip(), updated_at=now)
    return rejected, Transition(
        quote.status, QuoteStatus.REJECTED, version, approver.name, now, reason.strip()
    )


def accept(
    quote: Quote, version: int, signer_name: str, signer_email: str, now: datetime
) -> tuple[Quote, Transition | None]:
    """ACCEPTED, with who signed for the customer and when; only an approved quote, at its approved version.

    Accepting an accepted quote again (a retry) changes nothing: the transition is None."""
    problems = []
    if not signer_name.strip():
        problems.append(FieldViolation("accepted_by", "is required: the name of who signs for the customer"))
    if "@" not in signer_email:
        problems.append(FieldViolation("accepted_by_email", f"{signer_email!r} is not an email address"))
    if problems:
        raise InvalidArgument(problems)
    if quote.status is QuoteStatus.ACCEPTED and version == quote.version:
        return quote, None
    _in(quote, (QuoteStatus.APPROVED,), "accepted")
    _same_version(quote, version)
    acceptance = Acceptance(signer_name.strip(), signer_email.strip(), now)
    accepted = replace(quote, status=QuoteStatus.ACCEPTED, acceptance=acceptance, updated_at=now)
    return accepted, Transition(
        quote.status,
        QuoteStatus.ACCEPTED,
        version,
        acceptance.signer_name,
        now,
        f"signed by {acceptance.signer_email}",
    )


def bound(quote: Quote, subscription_id: str, customer_id: str) -> Quote:
    """The accepted quote with the subscription (and, for a prospect, the customer) catalog made from it."""
    return replace(quote, subscription_id=subscription_id, customer_id=quote.customer_id or customer_id)
