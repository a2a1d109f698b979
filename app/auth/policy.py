"""Who may do what: one table, read by the pages' decorator, the API's `endpoint` and
the services alike.

Each action names the roles that may always do it and, for members, the condition
under which a member may (an object-level predicate: "is this listing my
organisation's?"). `system` says whether the system itself — the command line, the
demo seed, scheduled jobs, which act with no user (`actor is None`) — may do it.

The pages and the API use `role_may` (the object is not loaded yet) to refuse early
with 403; the service then calls `require(actor, action, obj)` with the object, which
is the check that counts.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from app.auth.models import Role
from app.core.errors import Forbidden

COORDINATOR, AUDITOR, ADMIN, MEMBER = Role.COORDINATOR, Role.AUDITOR, Role.ADMIN, Role.MEMBER


def _any_member(user, obj) -> bool:
    return True


def _has_organisation(user, obj) -> bool:
    return user.organisation_id is not None


def _member_of_listing(user, listing) -> bool:
    return user.belongs_to(listing.organisation_id)


def _member_of_organisation(user, organisation) -> bool:
    return user.belongs_to(organisation.id)


def _participant(user, proposal) -> bool:
    return any(p.organisation_id == user.organisation_id for p in proposal.participants)


@dataclass(frozen=True)
class Rule:
    roles: frozenset[str]
    message: str
    member_if: Callable[[Any, Any], bool] | None = None
    system: bool = False


def _rule(*roles: str, message: str, member_if=None, system: bool = False) -> Rule:
    return Rule(frozenset(roles), message, member_if, system)


STAFF = (COORDINATOR, ADMIN)
READERS = (AUDITOR, COORDINATOR, ADMIN)

POLICY: dict[str, Rule] = {
    # accounts
    "user.manage": _rule(ADMIN, system=True,
                         message="Only an administrator may manage users."),
    # the market
    "organisation.manage": _rule(*STAFF, system=True,
                                 message="Only coordinators and administrators may do this."),
    "organisation.edit_profile": _rule(*STAFF, member_if=_member_of_organisation, system=True,
                                       message="You may only edit your own organisation's "
                                               "profile."),
    "organisation.see_private": _rule(*READERS, member_if=_member_of_organisation,
                                      message="Only its members may see this."),
    "currency.manage": _rule(ADMIN, system=True, message="Only administrators may do this."),
    "settings.manage": _rule(ADMIN, system=True, message="Only administrators may do this."),
    "organisation.own": _rule(member_if=_has_organisation,
                              message="Only members have an organisation of their own."),
    "listing.post": _rule(member_if=_has_organisation, system=True,
                          message="Only members of an organisation post its offers and needs; "
                                  "nobody posts on behalf of another organisation."),
    "listing.write": _rule(member_if=_member_of_listing, system=True,
                           message="Only members of its organisation may change a listing."),
    # matching runs and proposals
    "run.start": _rule(COORDINATOR, system=True, message="Only coordinators run the matcher."),
    "run.read": _rule(*READERS, message="Members do not see matching runs."),
    "proposal.review": _rule(COORDINATOR, message="Your role may not do this."),
    "proposal.answer": _rule(member_if=_any_member, message="Your role may not do this."),
    "proposal.read": _rule(*READERS, member_if=_participant, message="No such proposal."),
    "proposal.read_all": _rule(*READERS, message="Your role may not do this."),
    # the ledger and trust
    "ledger.read_all": _rule(*READERS, system=True,
                             message="Only auditors, coordinators and admins may see the whole "
                                     "ledger."),
    "ledger.reverse": _rule(COORDINATOR, message="Only a coordinator may reverse a ledger entry."),
    # the audit log of administrative actions (app.auth.admin_log)
    "admin_log.read": _rule(*READERS, system=True,
                            message="Only auditors, coordinators and admins may see the log of "
                                    "administrative actions."),
}


def _authenticated(user) -> bool:
    return user is not None and getattr(user, "is_authenticated", False)


def role_may(user, action: str) -> bool:
    """May `user`'s role do `action` on some object (members: on objects that qualify)?
    For the pages and the API before the object is loaded."""
    rule = POLICY[action]
    if user is None:
        return rule.system
    if not _authenticated(user):
        return False
    return user.role in rule.roles or (user.role == MEMBER and rule.member_if is not None)


def allows(user, action: str, obj: Any = None) -> bool:
    """May `user` (None: the system) do `action` on `obj`?"""
    rule = POLICY[action]
    if user is None:
        return rule.system
    if not _authenticated(user):
        return False
    if user.role in rule.roles:
        return True
    return user.role == MEMBER and rule.member_if is not None and bool(rule.member_if(user, obj))


def require(user, action: str, obj: Any = None, message: str | None = None) -> None:
    """Forbidden (403) unless `allows(user, action, obj)`."""
    if not allows(user, action, obj):
        if user is not None and not _authenticated(user):
            raise Forbidden("You must be logged in.")
        raise Forbidden(message or POLICY[action].message)


def roles_for(action: str) -> tuple[str, ...]:
    """The roles that may do `action` (members included when some member may)."""
    rule = POLICY[action]
    return tuple(role for role in Role.ALL
                 if role in rule.roles or (role == MEMBER and rule.member_if is not None))
