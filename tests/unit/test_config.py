"""Config and directory files: valid ones load, every mistake points at its line."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from gateway.config.settings import load_directory, load_settings
from gateway.domain import DomainPolicy, Permission
from rules.sourcefile import SourceFileError

GOOD = """\
[gateway]
support_addresses = ["Suporte@Example.com"]
data_dir = "data"

[smtp]
port = 2600
"""


def write(tmp_path: Path, text: str, name: str = "ticketgate.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def problems(exc: pytest.ExceptionInfo[SourceFileError]) -> list[str]:
    return [str(p) for p in exc.value.problems]


def test_defaults_fill_every_section_and_paths_are_relative_to_the_file(tmp_path: Path) -> None:
    settings = load_settings(write(tmp_path, GOOD))
    assert settings.gateway.support_addresses == ["suporte@example.com"]
    assert settings.gateway.locale == "pt_BR"
    assert settings.file.smtp.port == 2600
    assert settings.file.smtp.max_message_bytes == 26214400
    assert settings.data_dir == (tmp_path / "data").resolve()
    assert settings.storage_url == f"sqlite:///{(tmp_path / 'data' / 'ticketgate.db').resolve()}"
    assert settings.directory_path == (tmp_path / "directory.yaml").resolve()


def test_unknown_key_is_reported_with_file_and_line(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD + "max_conections = 5\n")
    with pytest.raises(SourceFileError) as exc:
        load_settings(path)
    assert problems(exc) == [f"{path}:7:1: unknown key 'max_conections'"]


def test_bad_values_name_their_line(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        '[gateway]\nsupport_addresses = ["not-an-address"]\nlocale = "fr"\n'
        'timezone = "Mars/Olympus"\n',
    )
    with pytest.raises(SourceFileError) as exc:
        load_settings(path)
    found = problems(exc)
    assert found[0].startswith(f"{path}:2:1: gateway.support_addresses")
    assert "not an email address" in found[0]
    assert found[1].startswith(f"{path}:3:1: gateway.locale")
    assert found[2].startswith(f"{path}:4:1: gateway.timezone") and "Mars/Olympus" in found[2]


def test_toml_syntax_error_points_at_line_and_column(tmp_path: Path) -> None:
    path = write(tmp_path, '[gateway]\nsupport_addresses = ["a@b.com"\n')
    with pytest.raises(SourceFileError) as exc:
        load_settings(path)
    [problem] = exc.value.problems
    assert (problem.path, problem.line) == (path, 3)
    assert "TOML syntax error" in problem.message


def test_missing_gateway_section_is_an_error(tmp_path: Path) -> None:
    path = write(tmp_path, "[smtp]\nport = 25\n")
    with pytest.raises(SourceFileError) as exc:
        load_settings(path)
    assert "gateway" in problems(exc)[0] and "Field required" in problems(exc)[0]


def test_smtp_workers_default_to_one_per_core_and_take_a_count(tmp_path: Path) -> None:
    assert load_settings(write(tmp_path, GOOD)).file.smtp.processes() == (os.cpu_count() or 1)
    assert load_settings(write(tmp_path, GOOD + "workers = 3\n")).file.smtp.processes() == 3


@pytest.mark.parametrize("value", ["0", "-2", "true", "1.5", '"4"'])
def test_smtp_workers_below_one_or_not_a_count_name_their_line(tmp_path: Path, value: str) -> None:
    path = write(tmp_path, GOOD + f"workers = {value}\n")
    with pytest.raises(SourceFileError) as exc:
        load_settings(path)
    [problem] = problems(exc)
    assert problem.startswith(f"{path}:7:1: smtp.workers")
    assert "1 or more" in problem and "one per core" in problem


def test_imap_array_of_tables_errors_point_into_the_right_entry(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        GOOD + '\n[[imap]]\nhost = "a"\nusername = "u"\n\n[[imap]]\nhost = "b"\nusernme = "u"\n',
    )
    with pytest.raises(SourceFileError) as exc:
        load_settings(path)
    assert f"{path}:14:1: unknown key 'usernme'" in problems(exc)


DIRECTORY = """\
queues:
  - {id: n1, name: "Nível 1"}
agents:
  - {email: ana@example.com, name: Ana, queues: [n1]}
organizations:
  - id: alfa
    name: Escola Alfa
    domains: [Alfa.edu.br]
    contacts:
      - {email: Maria@Alfa.edu.br, name: Maria, can_open_tickets: true}
"""


def test_directory_loads_into_domain_values(tmp_path: Path) -> None:
    directory = load_directory(write(tmp_path, DIRECTORY, "directory.yaml"))
    assert directory.front_desk is not None and directory.front_desk.id == "n1"
    found = directory.contact("MARIA@alfa.edu.br")
    assert found is not None and found[0].id == "alfa" and found[1].can_open_tickets
    assert directory.agent("ana@example.com") is not None
    assert directory.organizations[0].domains == ("alfa.edu.br",)


@pytest.mark.parametrize(
    ("edit", "line", "needle"),
    [
        (("can_open_tickets: true", "can_open_tickets: maybe"), 10, "valid boolean"),
        (("queues: [n1]", "queues: [n9]"), 1, "unknown queue"),
        (("name: Escola Alfa", "nome: Escola Alfa"), 7, "unknown key 'nome'"),
        (("- {id: n1", "- {id: N 1"), 2, "pattern"),
        (("domains: [Alfa.edu.br]", "domains: [Alfa.edu.br"), 9, "YAML syntax error"),
    ],
)
def test_directory_mistakes_point_at_their_line(
    tmp_path: Path, edit: tuple[str, str], line: int, needle: str
) -> None:
    path = write(tmp_path, DIRECTORY.replace(*edit), "directory.yaml")
    with pytest.raises(SourceFileError) as exc:
        load_directory(path)
    matching = [p for p in exc.value.problems if needle in p.message]
    assert matching, exc.value
    assert matching[0].path == path and matching[0].line == line, str(matching[0])


ROLES = """\
queues:
  - {id: n1, name: "Nível 1"}
organizations:
  - id: alfa
    name: Escola Alfa
    domains: [alfa.edu.br]
    rejection_note: |
      Peça à secretaria (ramal 2001) o seu cadastro.
    contacts:
      - {email: maria@alfa.edu.br, name: Maria, can_open_tickets: true}
      - {email: joao@alfa.edu.br, name: João, can_open_tickets: false}
      - {email: lia@alfa.edu.br, name: Lia, can_follow: true}
      - {email: olga@alfa.edu.br, name: Olga, can_open_tickets: true, can_reply: false}
  - id: gama
    name: Gama
    domains: [Gama.org]
    domain_policy: open
"""


def test_roles_default_to_the_official_channel_and_domains_may_be_opened(
    tmp_path: Path,
) -> None:
    directory = load_directory(write(tmp_path, ROLES, "directory.yaml"))
    may = directory.permissions
    assert may("maria@alfa.edu.br", "alfa") == set(Permission)  # opens, so follows and replies
    assert may("joao@alfa.edu.br", "alfa") == set()  # no permission: nothing (seed 001)
    assert may("lia@alfa.edu.br", "alfa") == {Permission.FOLLOW}
    assert may("olga@alfa.edu.br", "alfa") == {Permission.OPEN, Permission.FOLLOW}
    assert may("maria@alfa.edu.br", "gama") == set()  # another organization's contact
    assert may("anyone@gama.org", "gama") == set(Permission)  # seed 004
    assert may("anyone@alfa.edu.br", "alfa") == set()  # a domain listed, not opened
    organization = directory.organization_of("Novo@Gama.org")
    assert organization is not None and organization.domain_policy is DomainPolicy.OPEN
    alfa = directory.organization("alfa")
    assert alfa is not None
    assert alfa.rejection_note == "Peça à secretaria (ramal 2001) o seu cadastro."


@pytest.mark.parametrize(
    ("edit", "line", "needle"),
    [
        (("domain_policy: open", "domain_policy: everyone"), 17, "'contacts_only' or 'open'"),
        (("can_follow: true", "can_follow: often"), 12, "valid boolean"),
        (("domains: [Gama.org]", "domains: [gama]"), 16, "not a mail domain"),
        (("domains: [Gama.org]", "domains: []"), 14, "domain_policy: open but no domains"),
        (("rejection_note: |", "rejection_notes: |"), 7, "unknown key 'rejection_notes'"),
        (("can_reply: false", "can_answer: false"), 13, "unknown key 'can_answer'"),
    ],
)
def test_role_and_domain_mistakes_point_at_their_line(
    tmp_path: Path, edit: tuple[str, str], line: int, needle: str
) -> None:
    path = write(tmp_path, ROLES.replace(*edit), "directory.yaml")
    with pytest.raises(SourceFileError) as exc:
        load_directory(path)
    matching = [p for p in exc.value.problems if needle in p.message]
    assert matching, exc.value
    assert matching[0].path == path and matching[0].line == line, str(matching[0])


def test_an_open_domain_belongs_to_one_organization(tmp_path: Path) -> None:
    text = ROLES + "  - id: delta\n    name: Delta\n    domains: [x.org, gama.org]\n"
    text += "    domain_policy: open\n"
    path = write(tmp_path, text, "directory.yaml")
    with pytest.raises(SourceFileError) as exc:
        load_directory(path)
    [problem] = exc.value.problems
    assert problem.line == 20 and "already opened by organization 'gama'" in problem.message
    assert str(problem).startswith(f"{path}:20:")


def test_a_contact_in_two_organizations_is_refused(tmp_path: Path) -> None:
    text = DIRECTORY + (
        "  - id: beta\n    name: Beta\n    contacts:\n"
        "      - {email: maria@alfa.edu.br, name: Maria}\n"
    )
    path = write(tmp_path, text, "directory.yaml")
    with pytest.raises(SourceFileError) as exc:
        load_directory(path)
    [problem] = exc.value.problems
    assert problem.line == 14 and "already listed in organization 'alfa'" in problem.message


def test_signing_keys_come_from_the_environment_with_their_ids(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A rotated config: the current key signs with its id; old ones are listed to verify."""
    path = write(
        tmp_path,
        GOOD.replace(
            'data_dir = "data"\n',
            'data_dir = "data"\nkey_id = "k2"\nold_keys = [{id = "k1", secret_env = "OLD_K1"}]\n',
        ),
    )
    monkeypatch.setenv("TICKETGATE_SECRET", "current-secret-0123456789")
    monkeypatch.delenv("OLD_K1", raising=False)
    settings = load_settings(path)
    with pytest.raises(SourceFileError) as exc:
        settings.signing_keys()
    assert "OLD_K1" in problems(exc)[0]
    monkeypatch.setenv("OLD_K1", "old-secret-0123456789abcdef")
    current, old = settings.signing_keys()
    assert (current.key_id, current.secret) == ("k2", b"current-secret-0123456789")
    assert [(key.key_id, key.secret) for key in old] == [("k1", b"old-secret-0123456789abcdef")]


def test_a_config_without_key_ids_signs_as_before(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TICKETGATE_SECRET", "current-secret-0123456789")
    current, old = load_settings(write(tmp_path, GOOD)).signing_keys()
    assert current.key_id == "" and old == []


def test_a_bad_key_id_names_its_line(tmp_path: Path) -> None:
    path = write(
        tmp_path, GOOD.replace('data_dir = "data"\n', 'data_dir = "data"\nkey_id = "K-2"\n')
    )
    with pytest.raises(SourceFileError) as exc:
        load_settings(path)
    assert problems(exc)[0].startswith(f"{path}:4:")
