"""Mail to the admins named in the config when something they edited is refused.

Queued through the outbox like every other mail, in its own short
transaction (never inside a message's), so an admin learns about a broken
rules file even when no customer mail is flowing.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from gateway.domain import Clock, MailKind
from outbound.compose import Addressing, Templates, compose
from rules.sourcefile import SourceFileError
from storage.db import Database
from storage.repository import Outbox

log = logging.getLogger(__name__)


class AdminAlerts:
    def __init__(
        self,
        db: Database,
        templates: Templates,
        *,
        locale: str,
        support_address: str,
        admins: Sequence[str],
        clock: Clock,
    ) -> None:
        self.db = db
        self.templates = templates
        self.locale = locale
        self.support_address = support_address
        self.admins = tuple(admins)
        self.clock = clock

    def file_refused(self, what: str, error: SourceFileError) -> None:
        if not self.admins:
            log.warning(
                "no [gateway] admins configured: nobody is mailed about the refused %s", what
            )
            return
        rendered = self.templates.render(
            "admin_alert", self.locale, {"what": what, "problems": [str(p) for p in error.problems]}
        )
        now = self.clock.now()
        mail = compose(
            MailKind.ADMIN_ALERT,
            rendered,
            Addressing(
                from_address=self.support_address,
                from_name="ticketgate",
                to=[("", admin) for admin in self.admins],
            ),
            now,
        )
        with self.db.transaction() as session:
            Outbox(session).enqueue(mail, now)
