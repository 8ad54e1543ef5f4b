"""Who may talk to support: queues, agents, organizations and their contacts."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Permission(StrEnum):
    """What an address may do for an organization (seed 001's official channel)."""

    OPEN = "open"  # open tickets
    FOLLOW = "follow"  # receive public mail of the organization's tickets when added to one
    REPLY = "reply"  # write on the organization's tickets


EVERYTHING = frozenset(Permission)
NOTHING: frozenset[Permission] = frozenset()


class DomainPolicy(StrEnum):
    """Who at an organization's `domains` may speak without being listed as a contact."""

    CONTACTS_ONLY = "contacts_only"  # only the listed contacts, each by their own roles
    OPEN = "open"  # any address there, like a contact who may open tickets (seed 004)


@dataclass(frozen=True)
class Queue:
    id: str
    name: str
    escalates_to: str | None = None


@dataclass(frozen=True)
class Agent:
    email: str
    name: str
    queues: tuple[str, ...] = ()


@dataclass(frozen=True)
class Contact:
    email: str
    name: str
    can_open_tickets: bool = False
    # None: as can_open_tickets. The official channel (seed 001): whoever may open a
    # ticket may follow and answer one; a colleague without permission does neither.
    can_follow: bool | None = None
    can_reply: bool | None = None

    @property
    def permissions(self) -> frozenset[Permission]:
        granted = {
            Permission.OPEN: self.can_open_tickets,
            Permission.FOLLOW: _or_default(self.can_follow, self.can_open_tickets),
            Permission.REPLY: _or_default(self.can_reply, self.can_open_tickets),
        }
        return frozenset(p for p, allowed in granted.items() if allowed)


def _or_default(explicit: bool | None, default: bool) -> bool:
    return default if explicit is None else explicit


def domain_of(address: str) -> str:
    return address.rpartition("@")[2].lower()


@dataclass(frozen=True)
class Organization:
    id: str
    name: str
    domains: tuple[str, ...] = ()
    contacts: tuple[Contact, ...] = ()
    domain_policy: DomainPolicy = DomainPolicy.CONTACTS_ONLY
    # The organization's own instructions, added to the polite rejection its people get.
    rejection_note: str = ""

    def owns(self, address: str) -> bool:
        """The address is at one of the organization's domains."""
        return domain_of(address) in self.domains

    def opens_domain_to(self, address: str) -> bool:
        return self.domain_policy is DomainPolicy.OPEN and self.owns(address)


@dataclass(frozen=True)
class Directory:
    """Who may talk to support: queues, agents, and customer organizations."""

    queues: tuple[Queue, ...] = ()
    agents: tuple[Agent, ...] = ()
    organizations: tuple[Organization, ...] = ()

    def agent(self, email: str) -> Agent | None:
        email = email.lower()
        return next((a for a in self.agents if a.email.lower() == email), None)

    def contact(self, email: str) -> tuple[Organization, Contact] | None:
        email = email.lower()
        for org in self.organizations:
            for contact in org.contacts:
                if contact.email.lower() == email:
                    return org, contact
        return None

    def organization_of(self, address: str) -> Organization | None:
        """The organization an address speaks for: its contact entry's, else the one whose
        domains hold it (an open domain first, so a ticket lands where it may be read)."""
        found = self.contact(address)
        if found:
            return found[0]
        owners = [o for o in self.organizations if o.owns(address)]
        return next((o for o in owners if o.opens_domain_to(address)), None) or next(
            iter(owners), None
        )

    def permissions(self, address: str, org_id: str | None) -> frozenset[Permission]:
        """What this address may do for this organization: its contact entry's roles, plus
        everything when the organization opens the address's domain. Nothing for another
        organization's contact, an unknown organization, or no organization at all."""
        org = self.organization(org_id)
        if org is None:
            return NOTHING
        if org.opens_domain_to(address):
            return EVERYTHING
        found = self.contact(address)
        if found is None or found[0].id != org.id:
            return NOTHING
        return found[1].permissions

    def may(self, address: str, org_id: str | None, permission: Permission) -> bool:
        return permission in self.permissions(address, org_id)

    def organization(self, org_id: str | None) -> Organization | None:
        return next((o for o in self.organizations if o.id == org_id), None)

    def queue(self, queue_id: str) -> Queue | None:
        return next((q for q in self.queues if q.id == queue_id), None)

    @property
    def front_desk(self) -> Queue | None:
        """The first queue listed: where a ticket goes when no rule says otherwise."""
        return self.queues[0] if self.queues else None
