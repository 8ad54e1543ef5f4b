"""The TOML configuration and the directory, validated on load.

Start-up reads the one TOML file DESIGN.md describes and the YAML files it names;
anything unknown or invalid stops start-up with `file:line: message`. Relative paths
are resolved against the config file's folder ([limits] lives in limits.py).
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

from gateway.config.limits import LimitsSection
from gateway.config.sections import (
    HttpSection,
    ImapSection,
    LoggingSection,
    PathsSection,
    RelaySection,
    RetentionSection,
    SmtpSection,
    StorageSection,
)
from gateway.domain import Agent, Contact, Directory, DomainPolicy, Organization, Queue
from gateway.domain.signing import SigningKey, is_key_id
from rules.sourcefile import Located, Problem, SourceFileError, load_toml, load_yaml, validate


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _is_address(value: str) -> str:
    local, at, domain = value.strip().rpartition("@")
    if not at or not local or "." not in domain or " " in value.strip():
        raise ValueError(f"'{value}' is not an email address")
    return value.strip().lower()


Address = Annotated[str, AfterValidator(_is_address)]


def _is_domain(value: str) -> str:
    domain = value.strip().lower()
    if "@" in domain or "." not in domain.strip(".") or " " in domain:
        raise ValueError(f"'{value}' is not a mail domain (write it as alfa.edu.br)")
    return domain


MailDomain = Annotated[str, AfterValidator(_is_domain)]


def _is_key_id(value: str) -> str:
    if not is_key_id(value):
        raise ValueError(f"key id '{value}' must be 1-8 lower-case letters or digits")
    return value


KeyId = Annotated[str, AfterValidator(_is_key_id)]


class OldKey(_Strict):
    """A retired signing key: still verifies tokens and links already in mail, signs nothing."""

    id: KeyId
    secret_env: str


class GatewaySection(_Strict):
    support_addresses: list[Address] = Field(min_length=1)
    locale: Literal["pt_BR", "en"] = "pt_BR"
    timezone: str = "America/Sao_Paulo"
    secret_env: str = "TICKETGATE_SECRET"
    key_id: KeyId = ""  # carried by new signatures; "" = unversioned (configs before rotation)
    old_keys: list[OldKey] = []
    data_dir: str = "var"
    trusted_authserv_ids: list[str] = []
    admins: list[Address] = []
    # The company and signature mail is signed with ("" = the locale's "Support Team").
    company_name: str = ""
    signature: str = ""

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone '{value}' (use an IANA name)") from exc
        return value


class ConfigFile(_Strict):
    gateway: GatewaySection
    storage: StorageSection = StorageSection()
    smtp: SmtpSection = SmtpSection()
    imap: list[ImapSection] = []
    relay: RelaySection = RelaySection()
    http: HttpSection = HttpSection()
    paths: PathsSection = PathsSection()
    limits: LimitsSection = LimitsSection()
    logging: LoggingSection = LoggingSection()
    retention: RetentionSection = RetentionSection()


@dataclass(frozen=True)
class Settings:
    """The loaded configuration with every path made absolute."""

    source: Path
    file: ConfigFile
    data_dir: Path
    storage_url: str
    directory_path: Path
    rules_path: Path
    policy_path: Path
    templates_path: Path
    relay_pickup_dir: Path | None
    labels_path: Path

    @property
    def gateway(self) -> GatewaySection:
        return self.file.gateway

    @property
    def support_address(self) -> str:
        """The address gateway mail comes from: the first official channel."""
        return self.file.gateway.support_addresses[0]

    def secret(self) -> bytes:
        """The key that signs reply tokens; from the environment or `data_dir/secret`."""
        if value := os.environ.get(self.gateway.secret_env):
            return value.encode()
        stored = self.data_dir / "secret"
        if stored.exists():
            return stored.read_bytes().strip()
        raise self._problem(
            f"no signing secret: set the environment variable {self.gateway.secret_env} "
            f"or write one to {stored}"
        )

    def signing_keys(self) -> tuple[SigningKey, list[SigningKey]]:
        """The current key (signs and verifies) and the old ones (verify only)."""
        old = []
        for entry in self.gateway.old_keys:
            if not (value := os.environ.get(entry.secret_env)):
                raise self._problem(
                    f"old key '{entry.id}': set the environment variable {entry.secret_env}"
                )
            old.append(SigningKey(entry.id, value.encode()))
        current = SigningKey(self.gateway.key_id, self.secret())
        if any(key.key_id == current.key_id for key in old):
            raise self._problem(f"key id '{current.key_id}' is both current and old")
        return current, old

    def _problem(self, message: str) -> SourceFileError:
        return SourceFileError([Problem(self.source, 1, 1, message)])


def load_settings(path: Path) -> Settings:
    located = load_toml(path)
    parsed = validate(ConfigFile, located)
    base = path.parent.resolve()
    data_dir = (base / parsed.gateway.data_dir).resolve()
    url = parsed.storage.url or f"sqlite:///{data_dir / 'ticketgate.db'}"
    if url.startswith("sqlite:///") and not url.startswith("sqlite:////"):
        url = f"sqlite:///{(base / url.removeprefix('sqlite:///')).resolve()}"
    return Settings(
        source=path,
        file=parsed,
        data_dir=data_dir,
        storage_url=url,
        directory_path=(base / parsed.paths.directory).resolve(),
        rules_path=(base / parsed.paths.rules).resolve(),
        policy_path=(base / parsed.paths.policy).resolve(),
        templates_path=(base / parsed.paths.templates).resolve(),
        relay_pickup_dir=(base / pickup).resolve() if (pickup := parsed.relay.pickup_dir) else None,
        labels_path=(base / parsed.paths.labels).resolve(),
    )


def ensure_secret_file(data_dir: Path) -> None:
    """Create a random signing secret for the demo, readable by its owner only."""
    stored = data_dir / "secret"
    if stored.exists():
        return
    data_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(stored, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(secrets.token_urlsafe(32))


def ensure_signing_key(settings: Settings) -> Path | None:
    """With no key in the environment, a random one in `data_dir/secret` (made once), so a
    new deployment's `serve` starts as it is; processes sharing a database need the env's."""
    if os.environ.get(settings.gateway.secret_env) or (settings.data_dir / "secret").exists():
        return None
    ensure_secret_file(settings.data_dir)
    return settings.data_dir / "secret"


# --- directory.yaml ---------------------------------------------------------------


class QueueEntry(_Strict):
    id: str = Field(pattern=r"^[a-z0-9_\-]+$")
    name: str
    escalates_to: str | None = None


class AgentEntry(_Strict):
    email: Address
    name: str
    queues: list[str] = []


class ContactEntry(_Strict):
    email: Address
    name: str = ""
    can_open_tickets: bool = False
    can_follow: bool | None = None  # left out: as can_open_tickets (seed 001)
    can_reply: bool | None = None  # left out: as can_open_tickets (seed 001)


class OrganizationEntry(_Strict):
    id: str
    name: str
    domains: list[MailDomain] = []
    domain_policy: DomainPolicy = DomainPolicy.CONTACTS_ONLY
    rejection_note: str = ""
    contacts: list[ContactEntry] = []

    @model_validator(mode="after")
    def _open_needs_domains(self) -> OrganizationEntry:
        if self.domain_policy is DomainPolicy.OPEN and not self.domains:
            raise ValueError(
                f"organization '{self.id}' has domain_policy: open but no domains; "
                "list them (domains: [alfa.edu.br]) or leave domain_policy out"
            )
        return self


class DirectoryFile(_Strict):
    queues: list[QueueEntry] = Field(min_length=1)
    agents: list[AgentEntry] = []
    organizations: list[OrganizationEntry] = []

    @model_validator(mode="after")
    def _references(self) -> DirectoryFile:
        queue_ids = [q.id for q in self.queues]
        if len(set(queue_ids)) != len(queue_ids):
            raise ValueError("queue ids must be unique")
        for queue in self.queues:
            if queue.escalates_to and queue.escalates_to not in queue_ids:
                raise ValueError(f"queue '{queue.id}' escalates to unknown queue")
        for agent in self.agents:
            unknown = [q for q in agent.queues if q not in queue_ids]
            if unknown:
                raise ValueError(f"agent {agent.email} names unknown queue(s) {unknown}")
        return self


def load_directory(path: Path) -> Directory:
    """Load and check `directory.yaml`; errors name the file and line."""
    located = load_yaml(path)
    parsed = validate(DirectoryFile, located)
    problems = _directory_reference_problems(parsed, located)
    if problems:
        raise SourceFileError(problems)
    return Directory(
        queues=tuple(Queue(q.id, q.name, q.escalates_to) for q in parsed.queues),
        agents=tuple(Agent(a.email, a.name, tuple(a.queues)) for a in parsed.agents),
        organizations=tuple(_organization(o) for o in parsed.organizations),
    )


def _organization(entry: OrganizationEntry) -> Organization:
    return Organization(
        id=entry.id,
        name=entry.name,
        domains=tuple(entry.domains),
        contacts=tuple(
            Contact(c.email, c.name, c.can_open_tickets, c.can_follow, c.can_reply)
            for c in entry.contacts
        ),
        domain_policy=entry.domain_policy,
        rejection_note=entry.rejection_note.strip(),
    )


def _directory_reference_problems(parsed: DirectoryFile, located: Located) -> list[Problem]:
    problems: list[Problem] = []
    seen: dict[str, str] = {}
    for oi, org in enumerate(parsed.organizations):
        for ci, contact in enumerate(org.contacts):
            if contact.email in seen:
                problems.append(
                    located.problem(
                        ("organizations", oi, "contacts", ci, "email"),
                        f"contact {contact.email} is already listed in organization "
                        f"'{seen[contact.email]}'; a contact belongs to one organization",
                    )
                )
            seen[contact.email] = org.id
    return problems + _open_domain_problems(parsed, located)


def _open_domain_problems(parsed: DirectoryFile, located: Located) -> list[Problem]:
    """An open domain belongs to one organization: its strangers' tickets must land in one."""
    problems: list[Problem] = []
    opened: dict[str, str] = {}
    for oi, org in enumerate(parsed.organizations):
        if org.domain_policy is not DomainPolicy.OPEN:
            continue
        for di, domain in enumerate(org.domains):
            if domain in opened:
                problems.append(
                    located.problem(
                        ("organizations", oi, "domains", di),
                        f"domain {domain} is already opened by organization "
                        f"'{opened[domain]}'; an open domain belongs to one organization",
                    )
                )
            opened[domain] = org.id
    return problems
