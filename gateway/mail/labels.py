"""Every word the gateway writes outside a template, and every date format, per locale.

Templates hold the sentences; what they are filled with (labels of
priorities, categories, statuses and SLA clocks, the support team's name,
durations, dates) comes from here, so a locale is complete in two places:
its template folder and this module. `Words` is the one date formatter:
every date a customer or agent reads is shown in the ticket's time zone.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from gateway.domain.commands import REPLY_ABOVE
from gateway.domain.directory import Directory
from gateway.domain.labels import LabelKind, LabelTable
from gateway.domain.policy import Duration
from gateway.mail.label_texts import FAULTS, LINK_REQUEST, LOOP_SIGNALS, SPAN_UNITS

LOCALES = ("pt_BR", "en")
SUPPORT_NAMES = {"pt_BR": "Suporte", "en": "Support"}
# How mail is signed when `[gateway] signature` is not set; `{company}` from company_name.
SIGNATURES = {"pt_BR": "Equipe de Suporte", "en": "The Support Team"}
COMPANY_SIGNATURES = {"pt_BR": "Equipe de Suporte {company}", "en": "The {company} Support Team"}
NO_SUBJECT = {"pt_BR": "(sem assunto)", "en": "(no subject)"}
PRIORITY_LABELS = {
    "pt_BR": {0: "crítica", 1: "alta", 2: "média", 3: "normal"},
    "en": {0: "critical", 1: "high", 2: "medium", 3: "normal"},
}
CATEGORY_LABELS = {
    "pt_BR": {
        "question": "dúvida",
        "problem": "problema / manutenção",
        "service_request": "requisição de serviço",
        "suggestion": "sugestão",
    },
    "en": {
        "question": "question",
        "problem": "problem / maintenance",
        "service_request": "service request",
        "suggestion": "suggestion",
    },
}
ENVIRONMENT_LABELS = {
    "pt_BR": {"production": "produção", "staging": "homologação"},
    "en": {"production": "production", "staging": "staging"},
}
STATUS_LABELS = {
    "pt_BR": {
        "new": "novo",
        "open": "em atendimento",
        "waiting_customer": "aguardando o seu retorno",
        "waiting_third_party": "aguardando terceiros",
        "resolved": "resolvido",
        "closed": "fechado",
    },
    "en": {
        "new": "new",
        "open": "in progress",
        "waiting_customer": "waiting for your answer",
        "waiting_third_party": "waiting for a third party",
        "resolved": "resolved",
        "closed": "closed",
    },
}
# The same statuses as an agent reads them (notifications, hand-offs, escalation notices).
AGENT_STATUS_LABELS = {
    "pt_BR": {
        "new": "novo",
        "open": "em atendimento",
        "waiting_customer": "aguardando cliente",
        "waiting_third_party": "aguardando terceiros",
        "resolved": "resolvido",
        "closed": "fechado",
    },
    "en": {
        "new": "new",
        "open": "open",
        "waiting_customer": "waiting on customer",
        "waiting_third_party": "waiting on a third party",
        "resolved": "resolved",
        "closed": "closed",
    },
}
# The label table's defaults (gateway/domain/labels.py); `labels.yaml` is laid over it.
# Queues have no built-in labels: directory.yaml names them, labels.yaml may rename them.
BUILTIN_LABELS = LabelTable(
    {
        locale: {
            LabelKind.QUEUE: {},
            LabelKind.STATUS: STATUS_LABELS[locale],
            LabelKind.AGENT_STATUS: AGENT_STATUS_LABELS[locale],
            LabelKind.CATEGORY: CATEGORY_LABELS[locale],
            LabelKind.PRIORITY: {str(p): label for p, label in PRIORITY_LABELS[locale].items()},
            LabelKind.ENVIRONMENT: ENVIRONMENT_LABELS[locale],
        }
        for locale in LOCALES
    }
)
SLA_LABELS = {
    "pt_BR": {
        "first_response": "primeira resposta",
        "next_response": "próxima resposta",
        "resolution": "solução",
    },
    "en": {
        "first_response": "first response",
        "next_response": "next response",
        "resolution": "resolution",
    },
}
# The agreed date (`#due`) in the SLA notice templates: "the … target … is due at".
AGREED_DUE_LABELS = {"pt_BR": "solução combinada com o cliente", "en": "agreed resolution"}
WHO = {
    "pt_BR": {"inbound": "Cliente", "outbound": "Suporte"},
    "en": {"inbound": "Customer", "outbound": "Support"},
}
DURATION_WORDS = {
    "pt_BR": ("dia útil", "dias úteis", "hora útil", "horas úteis"),
    "en": ("business day", "business days", "business hour", "business hours"),
}
CALENDAR_DURATION_WORDS = {  # a 24×7 duration (policy.yaml `10dc`, `12h corridas`)
    "pt_BR": ("dia corrido", "dias corridos", "hora corrida", "horas corridas"),
    "en": ("calendar day", "calendar days", "hour", "hours"),
}
# What happens next after a status change, told with the agent's answer (issue 10).
# What happens next after a status change, told with the agent's answer (issue 10);
# `{status}` is the status as the customer reads it (labels.yaml may rename it).
NEXT_STEP = {
    "pt_BR": {
        "waiting_customer_deadline": (
            "{status}; sem resposta até {deadline} ({duration}), o chamado será considerado "
            "resolvido."
        ),
        "waiting_third_party": "{status}; avisaremos assim que houver novidade.",
        "resolved_deadline": (
            "{status}; se não recebermos nova mensagem até {deadline}, o chamado será fechado."
        ),
    },
    "en": {
        "waiting_customer_deadline": (
            "{status}; without an answer by {deadline} ({duration}), the ticket will be "
            "considered resolved."
        ),
        "waiting_third_party": "{status}; we will write as soon as we hear.",
        "resolved_deadline": "{status}; unless you write by {deadline}, the ticket will be closed.",
    },
}
UNTOLD_CAUSES = frozenset({"agent command", "first agent answer", "scheduler"})
# A status change's cause as the customer reads it (gateway/lifecycle/replies.py and
# escalation.py name them); any other cause is shown as recorded.
CAUSES = {
    "pt_BR": {
        "customer replied": "recebemos a sua resposta",
        "approved by the customer": "solução aprovada por você",
        "not solved, says the customer": "você informou que o problema não foi resolvido",
        "escalated by the customer": "você pediu o escalonamento do chamado",
    },
    "en": {
        "customer replied": "we got your answer",
        "approved by the customer": "you approved the solution",
        "not solved, says the customer": "you told us the problem is not solved",
        "escalated by the customer": "you asked for the ticket to be escalated",
    },
}
# Causes that carry a policy duration (gateway/lifecycle/timers.py writes them with the
# duration as `Duration.__str__` spells it, e.g. "5d"); `{duration}` is filled in words.
TIMED_CAUSES = (
    (re.compile(r"no answer from the customer in (\S+)"), "auto_resolved"),
    (re.compile(r"no answer in (\S+) after it was resolved"), "auto_closed"),
)
TIMED_CAUSE_WORDS = {
    "pt_BR": {
        "auto_resolved": "sem o seu retorno em {duration}",
        "auto_closed": "sem nova mensagem em {duration} após a solução",
    },
    "en": {
        "auto_resolved": "no answer from you in {duration}",
        "auto_closed": "no new message in {duration} after it was resolved",
    },
}
# Past the end of the queues' escalation chain: who a customer's escalation reaches.
DIRECTION = {"pt_BR": "a direção", "en": "the management"}
DATE_FORMATS = {"pt_BR": "%d/%m/%Y %H:%M", "en": "%Y-%m-%d %H:%M"}
NO_DATE = "—"
# An SLA due time the policy switched off (`null` in policy.yaml), as an agent reads it.
NO_TARGET = {"pt_BR": "sem prazo", "en": "no target"}
# tzdata names Brazil's zones by offset ("-03"); people there write BRT and its kin.
BRAZIL_ZONES = frozenset(
    "America/" + city
    for city in (
        "Sao_Paulo",
        "Bahia",
        "Fortaleza",
        "Recife",
        "Belem",
        "Maceio",
        "Araguaina",
        "Santarem",
        "Noronha",
        "Manaus",
        "Cuiaba",
        "Campo_Grande",
        "Porto_Velho",
        "Boa_Vista",
        "Rio_Branco",
        "Eirunepe",
    )
)
BRAZIL_ABBREVIATIONS = {"-02": "FNT", "-03": "BRT", "-04": "AMT", "-05": "ACT"}


def brand(company_name: str, signature: str) -> dict[str, dict[str, str]]:
    """Per locale, the `company_name` and `signature` every template is filled with: the
    configured ones, else the locale's words (no company's name is fixed in a template)."""
    return {
        locale: {
            "company_name": company_name,
            "signature": signature
            or (
                COMPANY_SIGNATURES[locale].format(company=company_name)
                if company_name
                else SIGNATURES[locale]
            ),
        }
        for locale in LOCALES
    }


@dataclass(frozen=True)
class Words:
    """The labels and date format of one locale, in one time zone; the labels of ids from
    `table` (the built-in one, or the admin's labels.yaml laid over it)."""

    locale: str
    zone: ZoneInfo
    table: LabelTable = field(default=BUILTIN_LABELS)

    @property
    def support_name(self) -> str:
        return SUPPORT_NAMES[self.locale]

    @property
    def reply_marker(self) -> str:
        """The line above which agents write; gateway/domain/commands.py cuts there."""
        return REPLY_ABOVE[0] if self.locale == "pt_BR" else REPLY_ABOVE[1]

    @property
    def no_subject(self) -> str:
        return NO_SUBJECT[self.locale]

    def when(self, instant: datetime | None) -> str:
        """A date and time as people of the locale write it, in the ticket's zone."""
        if instant is None:
            return NO_DATE
        local = instant.astimezone(self.zone)
        return f"{local.strftime(DATE_FORMATS[self.locale])} ({self.zone_name(local)})"

    def zone_name(self, local: datetime) -> str:
        """The zone's abbreviation at that instant, so a reader in another zone is not
        misled; a bare offset tzdata gives is written the way people there write it."""
        name = local.strftime("%Z")
        if str(self.zone.key) in BRAZIL_ZONES and name in BRAZIL_ABBREVIATIONS:
            return BRAZIL_ABBREVIATIONS[name]
        return f"UTC{name}" if name.startswith(("+", "-")) else name

    def target_due(self, instant: datetime | None) -> str:
        """An SLA due time for an agent: a target switched off reads as words, not a dash."""
        return self.when(instant) if instant is not None else NO_TARGET[self.locale]

    def _label(self, kind: LabelKind, id_: str) -> str:
        found = self.table.label(self.locale, kind, id_)
        return found if found is not None else id_

    def priority(self, priority: int) -> str:
        return self._label(LabelKind.PRIORITY, str(int(priority)))

    def category(self, category: str) -> str:
        return self._label(LabelKind.CATEGORY, category)

    def environment(self, environment: str) -> str:
        return self._label(LabelKind.ENVIRONMENT, environment)

    def status(self, status: str) -> str:
        """A status as the customer reads it."""
        return self._label(LabelKind.STATUS, status)

    def agent_status(self, status: str) -> str:
        """A status as an agent reads it (labels.yaml `agent_status`)."""
        return self._label(LabelKind.AGENT_STATUS, status)

    def queue_in(self, directory: Directory, queue_id: str) -> str:
        """A queue as agents and customers read it: labels.yaml's name, else
        directory.yaml's, else its id (an agent reads "Suporte Nível 1", not "n1")."""
        found = self.table.label(self.locale, LabelKind.QUEUE, queue_id)
        if found is not None:
            return found
        queue = directory.queue(queue_id)
        return queue.name if queue else queue_id

    def sla(self, sla: str) -> str:
        return SLA_LABELS[self.locale][sla]

    @property
    def agreed_due(self) -> str:
        return AGREED_DUE_LABELS[self.locale]

    def who(self, direction: str) -> str:
        return WHO[self.locale].get(direction, direction)

    def cause(self, cause: str) -> str:
        """A status change's cause as the customer reads it; the gateway's own bookkeeping
        causes (an agent's command, the scheduler) are not the customer's business."""
        if cause in UNTOLD_CAUSES:
            return ""
        known = CAUSES[self.locale].get(cause)
        return known if known is not None else self._timed_cause(cause)

    def _timed_cause(self, cause: str) -> str:
        """A timer's cause with its duration in words; a cause no table knows is left out
        rather than shown in the gateway's own (English) bookkeeping words."""
        for pattern, key in TIMED_CAUSES:
            match = pattern.fullmatch(cause)
            if match is None:
                continue
            try:
                duration = self.duration(Duration.parse(match.group(1)))
            except ValueError:
                duration = match.group(1)
            return TIMED_CAUSE_WORDS[self.locale][key].format(duration=duration)
        return ""

    def fault(self, error: str) -> str:
        """An agent's mistake in the locale: a `Fault` by its code (prefixed with the
        command line it came from); any other error as written."""
        words = FAULTS[self.locale].get(getattr(error, "code", ""))
        if words is None:
            return str(error)
        params: Mapping[str, str] = getattr(error, "params", {})
        text = words.format_map({"value": "", "word": "", "known": "", **params})
        line = params.get("line")
        return f"{line}: {text}" if line else text

    @property
    def direction(self) -> str:
        """Who hears of an escalation past the end of the queues' chain."""
        return DIRECTION[self.locale]

    def next_step(self, status: str, deadline: datetime | None, duration: Duration | None) -> str:
        """The new status in words and what happens next, for the customer."""
        words, label = NEXT_STEP[self.locale], self.status(status)
        if deadline is not None and f"{status}_deadline" in words:
            return words[f"{status}_deadline"].format(
                status=label, deadline=self.when(deadline), duration=self.duration(duration)
            )
        return words.get(status, "{status}.").format(status=label)

    def duration(self, duration: Duration | None) -> str:
        if duration is None:
            return ""
        words = CALENDAR_DURATION_WORDS if duration.calendar_time else DURATION_WORDS
        day, days, hour, hours = words[self.locale]
        parts = []
        if duration.days:
            parts.append(f"{duration.days} {day if duration.days == 1 else days}")
        whole_hours = int(duration.time.total_seconds() // 3600)
        if whole_hours:
            parts.append(f"{whole_hours} {hour if whole_hours == 1 else hours}")
        return " + ".join(parts) or str(duration)

    def span(self, window: timedelta) -> str:
        """A limit's window in words, in the largest unit that divides it ("10 minutos")."""
        seconds = int(window.total_seconds())
        units = zip(SPAN_UNITS[self.locale], (86400, 3600, 60, 1), strict=True)
        (one, many), size = next(unit for unit in units if seconds % unit[1] == 0)
        return f"{seconds // size} {one if seconds == size else many}"

    def loop_signal(self, signal: str) -> str:
        """Why a mail looked machine-made, in the locale (the signal's value in English)."""
        return LOOP_SIGNALS[self.locale].get(signal, signal)

    def link_request(self) -> str:
        """The text agents see for an escalation asked from a page with no words of its own
        (the pages' own words live in their templates)."""
        return LINK_REQUEST[self.locale]
