"""The [storage], [smtp], [imap], [relay], [http], [logging], [paths] and [retention]
sections of ticketgate.toml: the plain settings of one edge each, validated on load
(`settings.py` assembles them with [gateway] and [limits] into the whole file).
"""

from __future__ import annotations

import os
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator


class Strict(BaseModel):
    """A table of the config: unknown keys are errors, values never change after load."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class StorageSection(Strict):
    url: str | None = None


class SmtpSection(Strict):
    host: str = "127.0.0.1"
    port: int = Field(2525, ge=0, le=65535)
    max_message_bytes: int = Field(26214400, ge=1024)
    # Processes sharing the port (SO_REUSEPORT); left out: one per core.
    workers: int | None = None

    @field_validator("workers", mode="before")
    @classmethod
    def _workers(cls, value: object) -> object:
        # Checked before pydantic's coercion: `workers = true` or `2.5` is a mistake, not 1 or 2.
        if value is not None and (type(value) is not int or value < 1):
            raise ValueError(
                f"workers must be a whole number of processes, 1 or more (got {value!r}); "
                "leave it out for one per core"
            )
        return value

    def processes(self) -> int:
        """How many SMTP worker processes `serve` runs: `workers`, else one per core."""
        return self.workers or os.cpu_count() or 1


class ImapSection(Strict):
    host: str
    port: int = Field(993, ge=1, le=65535)
    tls: bool = True
    starttls: bool = False
    username: str
    password_env: str = "IMAP_PASSWORD"
    folder: str = "INBOX"
    done_folder: str = "Processed"
    # Beyond DESIGN.md (see README "IMAP mailboxes"):
    error_folder: str = "Errors"  # where a message goes after max_attempts failures
    mark_as: Literal["move", "flag"] = "move"  # move to done_folder, or set done_flag
    done_flag: str = "$Ticketgate"
    idle: bool = True  # IDLE (RFC 2177) where offered, else poll
    poll_seconds: float = Field(60.0, gt=0)
    batch_size: int = Field(100, ge=1, le=10000)
    max_attempts: int = Field(3, ge=1)
    ca_file: str | None = None  # PEM of a private CA; relative to the config file
    oauth2_token_command: str | None = None  # prints an XOAUTH2 access token
    oauth2_token_file: str | None = None  # holds one (kept fresh by some other tool)

    @model_validator(mode="after")
    def _one_way(self) -> ImapSection:
        if self.tls and self.starttls:
            raise ValueError(
                "starttls = true needs tls = false: either TLS from the first byte (port 993, "
                "tls = true) or STARTTLS on a plain port (143, tls = false, starttls = true)"
            )
        if self.oauth2_token_command and self.oauth2_token_file:
            raise ValueError("set oauth2_token_command or oauth2_token_file, not both")
        return self


class RelaySection(Strict):
    host: str = "127.0.0.1"
    port: int = Field(25, ge=1, le=65535)
    starttls: bool = False
    username: str | None = None
    password_env: str | None = None
    pickup_dir: str | None = None  # not in DESIGN.md: the demo writes mail to a folder


class HttpSection(Strict):
    host: str = "127.0.0.1"
    port: int = Field(8025, ge=0, le=65535)
    public_url: str = "https://support.example.com"
    link_days: int = Field(60, ge=1, le=3650)  # how long a link in a mail opens its page
    read_timeout: float = Field(15.0, gt=0, le=300)  # seconds for headers or a body to arrive
    max_body_bytes: int = Field(16_384, ge=1024, le=1_048_576)  # a page's form, at most
    rate_per_link: int = Field(30, ge=1)  # requests a minute to one link
    rate_per_address: int = Field(300, ge=1)  # requests a minute from one client address


class LoggingSection(Strict):
    format: Literal["text", "json"] = "text"  # json: an object per line, for log pipelines


class PathsSection(Strict):
    directory: str = "directory.yaml"
    rules: str = "rules"
    policy: str = "policy.yaml"
    templates: str = "templates"  # the admin's template overrides, e.g. pt_BR/*.txt.j2
    labels: str = "labels.yaml"  # the admin's names of statuses, queues, categories…


class RetentionSection(Strict):
    closed_ticket_days: int | None = Field(None, ge=0)  # raw mail of tickets closed N days ago
