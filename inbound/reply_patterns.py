"""What mail clients write around a reply, per client and language: the one table to extend.

`inbound/reply_text.py` finds where a reply's quoted history starts with these
patterns and nothing else, so teaching it a new client or language is a new
row here (and a fixture in tests/unit/test_reply_text.py written as that client
writes it). Each row is a `Pattern(kind, language, client, regex)`; the regex
is matched case-insensitively against one line stripped of surrounding spaces
(or, for ATTRIBUTION_VERB and ATTRIBUTION_START, against the end or start of an
attribution that may be wrapped over up to four lines).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum


class Kind(Enum):
    """What a row recognises, and so what the extractor does with it."""

    # Last words of "On <date>, <who> wrote:" - the line(s) that introduce a quote.
    ATTRIBUTION_VERB = "attribution_verb"
    # First words of such an attribution (to find where a wrapped one starts).
    ATTRIBUTION_START = "attribution_start"
    # A mail header field name in a quoted header block ("From:", "De :", "Von:").
    FROM_FIELD = "from_field"  # opens a block (From, De, Von...)
    DATE_FIELD = "date_field"  # Sent/Date: also opens a block
    FIELD = "field"  # any other header of such a block (To, Subject, Cc...)
    # A separator line that only ever opens an old message ("-----Original Message-----").
    SEPARATOR = "separator"
    # A separator that opens a forwarded message: the forward is kept (see reply_text.py).
    FORWARD = "forward"
    # "Sent from my iPhone": dropped at the end, and everything below it is history.
    MOBILE_SIGNATURE = "mobile_signature"
    # "Regards," / "Atenciosamente,": a sign-off after a quote is not an inline answer.
    SIGN_OFF = "sign_off"
    # A mailing-list footer under a rule line ("riak-users mailing list").
    LIST_FOOTER = "list_footer"


@dataclass(frozen=True)
class Pattern:
    kind: Kind
    language: str  # ISO 639-1, or "*" for every language
    client: str  # the client or family that writes it
    regex: str


P = Pattern
K = Kind
# "<https://aka.ms/...>" or "(http://...)" that clients put after a signature
_LINK = r"\s*(?:<[^<>\s]*>|\[[^\]\s]*\]|\(https?://[^)\s]*\))?"

PATTERNS: tuple[Pattern, ...] = (
    # --- "On <date>, <who> wrote:" attributions: how the line ends ---------------------
    P(K.ATTRIBUTION_VERB, "en", "Gmail, Apple Mail, Thunderbird", r"wrote"),
    P(K.ATTRIBUTION_VERB, "en", "Polymail, some webmails", r"sent"),
    P(K.ATTRIBUTION_VERB, "pt", "Gmail, Apple Mail, Thunderbird", r"escreveu"),
    P(K.ATTRIBUTION_VERB, "es", "Gmail, Apple Mail", r"escribi[oó]"),
    P(K.ATTRIBUTION_VERB, "fr", "Gmail, Apple Mail", r"a [ée]crit"),
    P(K.ATTRIBUTION_VERB, "de", "Gmail, Apple Mail", r"schrieb|geschrieben"),
    P(K.ATTRIBUTION_VERB, "nl", "Gmail, Apple Mail", r"schreef|het volgende geschreven"),
    P(K.ATTRIBUTION_VERB, "it", "Gmail, Apple Mail", r"ha scritto"),
    P(K.ATTRIBUTION_VERB, "da/no/sv", "Gmail, Apple Mail", r"skrev"),
    P(K.ATTRIBUTION_VERB, "fi", "Gmail", r"kirjoitti"),
    P(K.ATTRIBUTION_VERB, "pl", "Gmail, Thunderbird", r"napisa[łl](?:\(a\)|a)?"),
    P(K.ATTRIBUTION_VERB, "ru", "Gmail (Android)", r"написал(?:\(а\)|а)?"),
    P(K.ATTRIBUTION_VERB, "vi", "Gmail", r"đã viết"),
    # --- how an attribution starts (a wrapped one is joined from its first line) --------
    P(K.ATTRIBUTION_START, "en", "Gmail, Apple Mail, Thunderbird", r"On"),
    P(K.ATTRIBUTION_START, "pt", "Gmail, Apple Mail, Thunderbird", r"Em|No dia"),
    P(K.ATTRIBUTION_START, "es", "Gmail, Apple Mail", r"El"),
    P(K.ATTRIBUTION_START, "fr", "Gmail, Apple Mail", r"Le"),
    P(K.ATTRIBUTION_START, "de", "Gmail, Apple Mail", r"Am"),
    P(K.ATTRIBUTION_START, "nl", "Gmail, Apple Mail", r"Op"),
    P(K.ATTRIBUTION_START, "it", "Gmail, Apple Mail", r"Il|In data"),
    P(K.ATTRIBUTION_START, "da/no/sv", "Gmail, Apple Mail", r"Den|På"),
    P(K.ATTRIBUTION_START, "pl", "Gmail, Thunderbird", r"W dniu|Dnia"),
    P(K.ATTRIBUTION_START, "vi", "Gmail", r"Vào"),
    # --- Outlook-style quoted header blocks ("From:/Sent:/To:/Subject:") -----------------
    P(K.FROM_FIELD, "en", "Outlook, Outlook.com, Gmail forward", r"From"),
    P(K.DATE_FIELD, "en", "Outlook, Outlook.com, Gmail forward", r"Sent|Date"),
    P(K.FIELD, "en", "Outlook, Outlook.com", r"To|Cc|Bcc|Subject|Reply-To|Importance"),
    P(K.FROM_FIELD, "pt", "Outlook", r"De"),
    P(K.DATE_FIELD, "pt", "Outlook", r"Enviad[oa](?: em)?|Data"),
    P(K.FIELD, "pt", "Outlook", r"Para|Cc|Cco|Assunto|Import[aâ]ncia"),
    P(K.DATE_FIELD, "es", "Outlook", r"Fecha"),
    P(K.FIELD, "es", "Outlook", r"Asunto|CC"),
    P(K.DATE_FIELD, "fr", "Outlook, Hotmail, La Poste", r"Envoy[ée](?: le)?|Date|Message du"),
    P(K.FIELD, "fr", "Outlook, Hotmail", r"À|A|Objet|Sujet|Copie à|Cc"),
    P(K.FROM_FIELD, "de", "Outlook", r"Von"),
    P(K.DATE_FIELD, "de", "Outlook", r"Gesendet|Datum"),
    P(K.FIELD, "de", "Outlook", r"An|Betreff|Cc"),
    P(K.FROM_FIELD, "it", "Outlook", r"Da"),
    P(K.DATE_FIELD, "it", "Outlook", r"Inviato|Data"),
    P(K.FIELD, "it", "Outlook", r"A|Oggetto|Cc"),
    P(K.FROM_FIELD, "nl", "Outlook", r"Van"),
    P(K.DATE_FIELD, "nl", "Outlook", r"Verzonden|Datum"),
    P(K.FIELD, "nl", "Outlook", r"Aan|Onderwerp|Cc"),
    P(K.FROM_FIELD, "da/no", "Outlook", r"Fra"),
    P(K.DATE_FIELD, "da/no", "Outlook", r"Sendt|Dato"),
    P(K.FIELD, "da/no", "Outlook", r"Til|Emne|Cc"),
    P(K.FROM_FIELD, "sv", "Outlook", r"Från"),
    P(K.DATE_FIELD, "sv", "Outlook", r"Skickat|Datum"),
    P(K.FIELD, "sv", "Outlook", r"Till|Ämne|Kopia"),
    P(K.FROM_FIELD, "pl", "Outlook", r"Od"),
    P(K.DATE_FIELD, "pl", "Outlook", r"Wysłano|Data"),
    P(K.FIELD, "pl", "Outlook", r"Do|Temat|DW"),
    P(K.FROM_FIELD, "ru", "Outlook, Windows Mail", r"От"),
    P(K.DATE_FIELD, "ru", "Outlook, Windows Mail", r"Отправлено|Дата"),
    P(K.FIELD, "ru", "Outlook, Windows Mail", r"Кому|Тема|Копия"),
    # --- separators that open the old message -----------------------------------------
    P(K.SEPARATOR, "en", "Outlook", r"-{2,}\s*Original Message\s*-{2,}"),
    P(K.SEPARATOR, "en", "Outlook (older)", r"-{2,}\s*Reply Message\s*-{2,}"),
    P(K.SEPARATOR, "pt", "Outlook", r"-{2,}\s*Mensagem original\s*-{2,}"),
    P(K.SEPARATOR, "es", "Outlook", r"-{2,}\s*Mensaje original\s*-{2,}"),
    P(K.SEPARATOR, "fr", "Outlook, Android", r"-{2,}\s*Message d'origine\s*-{2,}"),
    P(K.SEPARATOR, "de", "Outlook", r"-{2,}\s*(?:Ursprüngliche|Antwort) Nachricht\s*-{2,}"),
    P(K.SEPARATOR, "it", "Outlook", r"-{2,}\s*Messaggio originale\s*-{2,}"),
    P(K.SEPARATOR, "nl", "Outlook", r"-{2,}\s*Oorspronkelijk bericht\s*-{2,}"),
    P(K.SEPARATOR, "da", "Outlook, Android", r"-{2,}\s*Oprindelig (?:meddelelse|besked)\s*-{2,}"),
    P(K.SEPARATOR, "sv", "Outlook", r"-{2,}\s*Ursprungligt meddelande\s*-{2,}"),
    P(
        K.SEPARATOR,
        "*",
        "Zoho, Android: '---- On <date> <who> wrote ----'",
        r"-{2,}.*\b(?:wrote|escreveu|a [ée]crit|schrieb|skrev|ha scritto)\s*:?\s*-{2,}",
    ),
    # --- separators that open a forwarded message --------------------------------------
    P(K.FORWARD, "en", "Gmail, Thunderbird", r"-{2,}\s*Forwarded message\s*-{2,}"),
    P(K.FORWARD, "en", "Apple Mail", r"Begin forwarded message\s*:"),
    P(K.FORWARD, "pt", "Gmail, Thunderbird", r"-{2,}\s*Mensagem encaminhada\s*-{2,}"),
    P(K.FORWARD, "pt", "Apple Mail", r"In[ií]cio da mensagem encaminhada\s*:"),
    P(K.FORWARD, "es", "Gmail", r"-{2,}\s*Mensaje reenviado\s*-{2,}"),
    P(K.FORWARD, "fr", "Gmail", r"-{2,}\s*Message transf[ée]r[ée]\s*-{2,}"),
    P(K.FORWARD, "de", "Gmail", r"-{2,}\s*Weitergeleitete Nachricht\s*-{2,}"),
    # --- mobile signatures -------------------------------------------------------------
    P(K.MOBILE_SIGNATURE, "en", "iPhone, iPad, Android", r"Sent from my [\w .'-]{1,40}"),
    P(K.MOBILE_SIGNATURE, "pt", "iPhone, iPad, Android", r"Enviad[oa] d[oe] meu [\w .'-]{1,40}"),
    P(K.MOBILE_SIGNATURE, "es", "iPhone, Android", r"Enviado desde mi [\w .'-]{1,40}"),
    P(K.MOBILE_SIGNATURE, "fr", "iPhone", r"Envoy[ée] de mon [\w .'-]{1,40}"),
    P(K.MOBILE_SIGNATURE, "de", "iPhone", r"Gesendet von meinem [\w .'-]{1,40}"),
    P(K.MOBILE_SIGNATURE, "it", "iPhone", r"Inviato da(?: il mio)? [\w .'-]{1,40}"),
    P(K.MOBILE_SIGNATURE, "en", "Outlook iOS/Android", r"(?:Sent from|Get) Outlook for \w+"),
    P(K.MOBILE_SIGNATURE, "pt", "Outlook iOS/Android", r"Enviado do Outlook para \w+"),
    P(K.MOBILE_SIGNATURE, "pt", "Outlook iOS/Android", r"(?:Obter|Obtenha) o Outlook para \w+"),
    P(K.MOBILE_SIGNATURE, "fr", "Outlook iOS/Android", r"Envoy[ée] à partir de Outlook pour \w+"),
    P(K.MOBILE_SIGNATURE, "fr", "Outlook iOS/Android", r"Obtenir Outlook pour \w+"),
    P(K.MOBILE_SIGNATURE, "de", "Outlook iOS/Android", r"Gesendet von Outlook für \w+"),
    P(K.MOBILE_SIGNATURE, "de", "Outlook iOS/Android", r"Holen Sie sich Outlook für \w+"),
    P(K.MOBILE_SIGNATURE, "en", "Windows Mail", r"Sent from Mail for Windows(?: 10)?"),
    P(K.MOBILE_SIGNATURE, "pt", "Windows Mail", r"Enviado do Email para Windows(?: 10)?"),
    P(K.MOBILE_SIGNATURE, "en", "Yahoo Mail app", r"Sent from Yahoo Mail (?:for|on) \w+"),
    P(K.MOBILE_SIGNATURE, "pt", "Yahoo Mail app", r"Enviado do Yahoo Mail (?:para|no) \w+"),
    P(K.MOBILE_SIGNATURE, "en", "TypeApp", r"Sent from TypeApp"),
    P(K.MOBILE_SIGNATURE, "en", "Acompli", r"Sent from Acompli"),
    P(K.MOBILE_SIGNATURE, "en", "Sparrow", r"Sent with Sparrow"),
    # --- sign-offs (a sign-off after a quote does not make the quote an inline answer) ---
    P(K.SIGN_OFF, "en", "*", r"(?:Best |Kind |Warm )?Regards|Best|Cheers|Sincerely"),
    P(K.SIGN_OFF, "en", "*", r"Thanks|Thank you"),
    P(K.SIGN_OFF, "pt", "*", r"Atenciosamente|Att|Abs|Abra[çc]os?|Cordialmente"),
    P(K.SIGN_OFF, "pt", "*", r"Obrigad[oa]|Sauda[çc][õo]es"),
    P(K.SIGN_OFF, "es", "*", r"Saludos|Gracias|Atentamente"),
    P(K.SIGN_OFF, "fr", "*", r"Cordialement|Merci|Bien à vous"),
    P(K.SIGN_OFF, "de", "*", r"(?:Mit )?freundlichen Grüßen|Viele Grüße|Grüße|Danke"),
    # --- mailing-list footers (Mailman) ------------------------------------------------
    P(K.LIST_FOOTER, "en", "Mailman", r".*\bmailing list\b.*"),
    P(K.LIST_FOOTER, "pt", "Mailman", r".*\blista de discuss[ãa]o\b.*"),
    P(K.LIST_FOOTER, "*", "Mailman", r"\S*/listinfo/\S*"),
)


def _words(kind: Kind) -> str:
    return "|".join(f"(?:{p.regex})" for p in PATTERNS if p.kind is kind)


def _line(kind: Kind, suffix: str = "") -> re.Pattern[str]:
    return re.compile(rf"^(?:{_words(kind)}){suffix}$", re.IGNORECASE)


# Compiled once from the table above; reply_text.py uses only these.
ATTRIBUTION_END_RE = re.compile(rf"\b(?:{_words(Kind.ATTRIBUTION_VERB)})\s*:?\s*$", re.IGNORECASE)
ATTRIBUTION_START_RE = re.compile(rf"^(?:{_words(Kind.ATTRIBUTION_START)})\s", re.IGNORECASE)
# "...in the middle of a line, On <date> ... wrote:" (a reply joined to its attribution).
JOINED_ATTRIBUTION_RE = re.compile(
    rf"(?:^|(?<=\S)-*\s+|-{{2,}}\s*)((?-i:{_words(Kind.ATTRIBUTION_START)})\s.*"
    rf"\b(?:{_words(Kind.ATTRIBUTION_VERB)})\s*:\s*)$",
    re.IGNORECASE,
)
_FIELD = r"^\*?(?:{})\*?\s*:"
FROM_FIELD_RE = re.compile(_FIELD.format(_words(Kind.FROM_FIELD)), re.IGNORECASE)
DATE_FIELD_RE = re.compile(_FIELD.format(_words(Kind.DATE_FIELD)), re.IGNORECASE)
ANY_FIELD_RE = re.compile(
    _FIELD.format("|".join(_words(k) for k in (Kind.FROM_FIELD, Kind.DATE_FIELD, Kind.FIELD))),
    re.IGNORECASE,
)
SEPARATOR_RE = _line(Kind.SEPARATOR)
FORWARD_RE = _line(Kind.FORWARD)
MOBILE_SIGNATURE_RE = _line(Kind.MOBILE_SIGNATURE, _LINK + r"\s*")
SIGN_OFF_RE = re.compile(rf"^(?:{_words(Kind.SIGN_OFF)})\b[\s,.!]*(?:\S.{{0,40}})?$", re.IGNORECASE)
LIST_FOOTER_RE = _line(Kind.LIST_FOOTER)
