"""Who may talk to support: queues, agents, organizations and their contacts."""

from __future__ import annotations

from dataclasses import dataclass


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


@dataclass(frozen=True)
class Organization:
    id: str
    name: str
    domains: tuple[str, ...] = ()
    contacts: tuple[Contact, ...] = ()


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

    def organization(self, org_id: str | None) -> Organization | None:
        return next((o for o in self.organizations if o.id == org_id), None)

    def queue(self, queue_id: str) -> Queue | None:
        return next((q for q in self.queues if q.id == queue_id), None)

    @property
    def front_desk(self) -> Queue | None:
        """The first queue listed: where a ticket goes when no rule says otherwise."""
        return self.queues[0] if self.queues else None
