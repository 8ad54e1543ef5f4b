"""`/metrics` as Prometheus scrapes it from a running `serve`.

The figures an operator alerts on: mail by outcome, intake latency, outbox
depth and the age of its oldest mail, failing sends, SLA breaches and refused
edits of the admin's files. Parsed with prometheus-client's own text parser,
as a scraper would read them.
"""

from __future__ import annotations

import urllib.request
from collections.abc import Iterator

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.support.gateway_process import GatewayConfig, ServeProcess
from tests.support.mailfiles import simple_mail
from tests.support.sink import SmtpSink
from tests.support.waiting import free_port, wait_for

pytestmark = pytest.mark.e2e


@pytest.fixture
def metrics_url(gateway_config: GatewayConfig) -> Iterator[tuple[ServeProcess, str]]:
    port = free_port()
    with gateway_config.path.open("a", encoding="utf-8") as handle:
        handle.write(f'\n[http]\nhost = "127.0.0.1"\nport = {port}\n')
    serve = ServeProcess(gateway_config).start()
    try:
        yield serve, f"http://127.0.0.1:{port}/metrics"
    finally:
        serve.stop()


def scrape(url: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    with urllib.request.urlopen(url, timeout=10) as response:
        text = response.read().decode()
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def answers(url: str) -> bool:
    try:
        return bool(scrape(url))
    except OSError:
        return False


def test_metrics_show_outcomes_latency_outbox_and_refused_edits(
    gateway_config: GatewayConfig, metrics_url: tuple[ServeProcess, str], sink: SmtpSink
) -> None:
    serve, url = metrics_url
    wait_for(lambda: answers(url), 30, "/metrics to answer")
    new = simple_mail("Maria Souza <maria@alfa.edu.br>", "Métricas", "Oi.")
    stranger = simple_mail("Zé <ze@desconhecido.com>", "Oi", "Quero suporte.")
    assert serve.send(new, "maria@alfa.edu.br", "suporte@example.com")[0] == 250
    assert serve.send(new, "maria@alfa.edu.br", "suporte@example.com")[0] == 250  # again
    assert serve.send(stranger, "ze@desconhecido.com", "suporte@example.com")[0] == 250
    nameless = b"To: suporte@example.com\r\nSubject: sem remetente\r\n\r\nOi.\r\n"
    assert serve.send(nameless, "", "suporte@example.com")[0] == 250  # held, not answered
    sink.wait_for_count(1, address="maria@alfa.edu.br")
    figures = scrape(url)
    assert figures[("ticketgate_received_total", (("outcome", "created"),))] == 1
    assert figures[("ticketgate_received_total", (("outcome", "rejected"),))] == 1
    # The redelivered copy is answered from the ledger and records nothing new.
    assert ("ticketgate_received_total", (("outcome", "duplicate"),)) not in figures
    assert figures[("ticketgate_received_total", (("outcome", "quarantined"),))] == 1
    assert figures[("ticketgate_quarantine_held", ())] == 1
    assert ("ticketgate_outbox_failing", (("state", "failed"),)) not in figures
    assert figures[("ticketgate_tickets", (("status", "new"),))] == 1
    assert figures[("ticketgate_intake_seconds_count", (("channel", "smtp"),))] == 4
    assert ("ticketgate_outbox_oldest_seconds", ()) in figures
    assert figures[("ticketgate_sla_breaches_total", ())] == 0

    directory = gateway_config.folder / "directory.yaml"
    directory.write_text(directory.read_text() + "\n  - broken: [\n")  # an admin's bad edit
    refused = ("ticketgate_reloads_total", (("file", "directory.yaml"), ("result", "refused")))
    wait_for(lambda: scrape(url).get(refused) == 1, 30, "the refused edit to be counted")
