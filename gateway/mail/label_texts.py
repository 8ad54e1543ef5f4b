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

PAGE_TEXT = {
    "pt_BR": {
        "title": "Pesquisa de satisfação",
        "q1": "Como você avalia o atendimento prestado pelo(a) analista neste ticket?",
        "q2": "Falando sobre a situação reportada neste ticket, nosso suporte atendeu a sua "
        "expectativa?",
        "yes": "Sim",
        "no": "Não",
        "comment": "Comentário (opcional)",
        "send": "Enviar",
        "thanks": "Obrigado! Sua resposta foi registrada.",
        "recorded": "Respostas registradas",
        "invalid": "Este link de pesquisa não é válido.",
        "ticket": "Chamado",
    },
    "en": {
        "title": "Satisfaction survey",
        "q1": "How do you rate the service the analyst gave you on this ticket?",
        "q2": "Thinking of the situation you reported, did our support meet your expectation?",
        "yes": "Yes",
        "no": "No",
        "comment": "Comment (optional)",
        "send": "Send",
        "thanks": "Thank you! Your answer was recorded.",
        "recorded": "Recorded answers",
        "invalid": "This survey link is not valid.",
        "ticket": "Ticket",
    },
}

# The pages of the links in status mail (gateway/runtime/ticket_pages.py); `{…}` are filled.
TICKET_PAGE_TEXT = {
    "pt_BR": {
        "resolution": "Aprovação da solução",
        "escalation": "Escalonamento do chamado",
        "ticket": "Chamado",
        "ask_approved": "O problema foi resolvido? Ao confirmar, o chamado será encerrado e "
        "você receberá a pesquisa de satisfação.",
        "ask_not_solved": "O problema continua? Ao confirmar, o chamado será reaberto e volta "
        "para a nossa equipe.",
        "button_approved": "Sim, foi resolvido: encerrar o chamado",
        "button_not_solved": "Não foi resolvido: reabrir o chamado",
        "ask_escalation": "Pedir que o chamado seja levado ao próximo nível de atendimento? "
        "Faça isso quando o atendimento atual não resolveu a sua necessidade.",
        "button_escalation": "Pedir escalonamento",
        "approved": "Obrigado! A solução foi aprovada e o chamado, encerrado.",
        "not_solved": "O chamado foi reaberto e a nossa equipe responderá em breve. Se "
        "quiser, responda ao e-mail contando o que ainda acontece.",
        "not_awaiting": "Este chamado não está aguardando a sua aprovação (situação: {status}).",
        "escalated": "Pedido registrado: o chamado foi encaminhado para {level}.",
        "too_soon": "O chamado já foi escalonado em {earlier} e esse nível já foi avisado. Um "
        "novo pedido será possível a partir de {next_allowed}.",
        "closed": "Este chamado está fechado. Para continuar, responda ao e-mail do chamado.",
        "invalid": "Este link não é válido.",
        "link_request": "(pedido pelo link do e-mail de status, sem texto)",
    },
    "en": {
        "resolution": "Approving the solution",
        "escalation": "Escalating the ticket",
        "ticket": "Ticket",
        "ask_approved": "Is the problem solved? Once you confirm, the ticket is closed and "
        "you will get the satisfaction survey.",
        "ask_not_solved": "Does the problem persist? Once you confirm, the ticket is reopened "
        "and goes back to our team.",
        "button_approved": "Yes, it is solved: close the ticket",
        "button_not_solved": "It is not solved: reopen the ticket",
        "ask_escalation": "Ask for the ticket to go to the next support level? Do so when "
        "the current level has not met your need.",
        "button_escalation": "Ask for escalation",
        "approved": "Thank you! The solution is approved and the ticket closed.",
        "not_solved": "The ticket is reopened and our team will answer soon. You may reply "
        "to the email to tell us what still happens.",
        "not_awaiting": "This ticket is not waiting for your approval (status: {status}).",
        "escalated": "Request recorded: the ticket went to {level}.",
        "too_soon": "The ticket was already escalated on {earlier} and that level was told. "
        "You may ask again from {next_allowed}.",
        "closed": "This ticket is closed. To go on, reply to the ticket's email.",
        "invalid": "This link is not valid.",
        "link_request": "(asked through the link in a status email, no text)",
    },
}
