"""The longer texts of gateway/mail/labels.py, per locale: an agent's mistakes, the
survey page and the ticket pages. Kept apart only for the modules' size limit; nothing
reads them but `Words` in labels.py, which stays the one way to the locale's words."""

from __future__ import annotations

# An agent's mistake (gateway/domain/faults.py codes), told in the locale; `{value}` is what
# the agent wrote, `{word}` the command, `{known}` the choices there are.
FAULTS = {
    "pt_BR": {
        "unknown_command": "comando desconhecido '#{word}'",
        "take_no_value": "'#{word}' não leva valor (para passar o chamado a outro: #atribuir)",
        "bad_tag": "uma etiqueta é uma só palavra (letras, dígitos, - _ . :)",
        "not_a_contact": "{value} não é um contato do diretório",
        "not_authorized": "{value} não está autorizado(a) a abrir chamados",
        "queue_keep": "depois da fila só pode vir 'manter'",
        "no_queue": "não há fila '{value}' (filas: {known})",
        "not_a_date": "'{value}' não é uma data (escreva dd/mm/aaaa, dd/mm/aaaa hh:mm, "
        "aaaa-mm-dd ou aaaa-mm-ddThh:mm)",
        "past_date": "'{value}' já passou; o prazo combinado precisa estar no futuro",
        "no_outcomes": "nenhum desfecho está configurado (outcomes: em policy.yaml)",
        "unknown_outcome": "desfecho desconhecido '{value}' (use {known})",
        "unknown_status": "situação desconhecida '{value}' (use aberto, aguardando_cliente, "
        "aguardando_terceiro, resolvido ou fechado)",
        "bad_priority": "a prioridade é 0, 1, 2 ou 3, não '{value}'",
        "unknown_category": "categoria desconhecida '{value}' (use question, problem, "
        "service_request ou suggestion)",
        "unknown_environment": "ambiente desconhecido '{value}' (use producao ou homologacao)",
        "not_an_agent": "{value} não é um(a) analista do diretório",
        "no_value_here": "'#{word}' não leva valor aqui",
        "no_next_level": "#escalar: a fila '{value}' não tem próximo nível (escalates_to em "
        "directory.yaml)",
        "unsigned": "para agir num chamado, responda ao e-mail de notificação dele (o endereço "
        "de resposta assinado prova que a resposta é sua); nada foi feito. Segue uma nova "
        "notificação com os seus endereços assinados",
        "not_authenticated": "a sua mensagem não passou na autenticação do remetente "
        "(DKIM/SPF/DMARC) no nosso servidor de e-mail, então não pode agir pelo suporte; "
        "nada foi feito",
        "no_ticket": "esta mensagem não indica nenhum chamado: responda ao e-mail de um "
        "chamado, ou comece uma nova com '#solicitante cliente@exemplo.com.br' para abrir "
        "um chamado para esse cliente",
    },
    "en": {},  # the English text each fault carries is already the English words
}

# What the agents read when a customer asks for escalation from a page without a text.
LINK_REQUEST = {
    "pt_BR": "(pedido pelo link do e-mail de status, sem texto)",
    "en": "(asked through the link in a status email, no text)",
}

# Why a mail looked machine-made (gateway/domain/flood.py `LoopSignal`), in the admins' alert.
LOOP_SIGNALS = {
    "pt_BR": {
        "References carry our own Message-IDs outside a live thread": (
            "o References traz Message-IDs nossos fora de uma conversa em andamento"
        ),
        "quotes our own mail back outside a live thread": (
            "cita de volta uma mensagem nossa fora de uma conversa em andamento"
        ),
        "the same text again": "o mesmo texto de novo",
        "the same answer on another ticket": "a mesma resposta em outro chamado",
    },
    "en": {},  # each signal's value is already its English words
}
# A limit's window (calendar time, `[limits]`), largest whole unit first: singular, plural.
SPAN_UNITS = {
    "pt_BR": (("dia", "dias"), ("hora", "horas"), ("minuto", "minutos"), ("segundo", "segundos")),
    "en": (("day", "days"), ("hour", "hours"), ("minute", "minutes"), ("second", "seconds")),
}
