"""`ticketgate rules check` checks every file the gateway loads, not the rules alone: a
bad duration in policy.yaml is caught here, with its line and column, before `serve`
would refuse it."""

from __future__ import annotations

from tests.support.gateway_process import GatewayConfig

BAD_POLICY = """\
timezone: America/Sao_Paulo
sla:
  targets:
    3: {first_response: 12 horas corridas, resolution: 3 semanas}
timers:
  waiting_customer: {reminder_after: null, resolve_after: 10 dias corridos}
"""


def test_a_bad_policy_duration_fails_the_check_with_file_line_column(
    gateway_config: GatewayConfig,
) -> None:
    policy = gateway_config.folder / "policy.yaml"
    policy.write_text(BAD_POLICY, encoding="utf-8")
    result = gateway_config.cli("rules", "check", check=False)
    assert result.returncode == 1
    stderr = result.stderr.decode()
    assert f"{policy}:4:44: sla.targets[3].resolution: " in stderr, stderr
    assert "'3 semanas' is not a duration" in stderr
    assert "1 problem(s)" in stderr  # the calendar-time forms beside it are fine


def test_every_file_is_checked_even_when_one_is_broken(gateway_config: GatewayConfig) -> None:
    directory = gateway_config.folder / "directory.yaml"
    directory.write_text(directory.read_text().replace("can_open_tickets: true", "can: 1", 1))
    policy = gateway_config.folder / "policy.yaml"
    policy.write_text("business_hours: {mon: '08:00-24:30'}\n", encoding="utf-8")
    result = gateway_config.cli("rules", "check", check=False)
    stderr = result.stderr.decode()
    assert result.returncode == 1
    assert f"{directory}:" in stderr and "unknown key 'can'" in stderr
    assert f"{policy}:1:" in stderr and "24:00 closes at midnight" in stderr
    assert "2 problem(s)" in stderr


def test_a_valid_setup_names_each_file_it_checked(gateway_config: GatewayConfig) -> None:
    policy = gateway_config.folder / "policy.yaml"
    policy.write_text(
        "business_hours: {mon: '00:00-24:00', tue: '08:00-18:00'}\n"
        "sla: {targets: {3: {first_response: 12hc, next_response: null}}}\n",
        encoding="utf-8",
    )
    result = gateway_config.cli("rules", "check")
    out = result.stdout.decode()
    assert f"{gateway_config.path}: valid" in out
    assert "directory.yaml: valid" in out and f"policy ({policy}): valid" in out


def test_labels_yaml_is_checked_with_file_line_column(gateway_config: GatewayConfig) -> None:
    """An unknown locale, kind or id, or a label that is not text, is refused: queue ids
    against directory.yaml's queues."""
    labels = gateway_config.folder / "labels.yaml"
    labels.write_text(
        "pt_BR:\n"
        "  status: {waiting_customer: 'aguardando sua resposta'}\n"
        "  agent_status: {aguardando: 'cliente'}\n"
        "  queue: {n1: 'Atendimento', n7: 'Sétima'}\n"
        "  priority: {0: [urgente]}\n"
        "es: {}\n",
        encoding="utf-8",
    )
    result = gateway_config.cli("rules", "check", check=False)
    stderr = result.stderr.decode()
    assert result.returncode == 1
    assert f"{labels}:3:18: unknown agent_status 'aguardando' (known: closed, new, " in stderr
    assert f"{labels}:4:30: unknown queue 'n7' (known: n1, n2)" in stderr
    assert f"{labels}:5:14: the label of priority '0' must be text in quotes, not list" in stderr
    assert f"{labels}:6:1: unknown locale 'es' (use pt_BR or en)" in stderr
    assert "4 problem(s)" in stderr
    labels.write_text("pt_BR:\n  queue: {n1: 'Atendimento'}\n", encoding="utf-8")
    result = gateway_config.cli("rules", "check")
    assert f"labels ({labels}): valid" in result.stdout.decode()
