"""`[[imap]]` entries: validation, and where the password or XOAUTH2 token comes from."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.config.settings import load_settings
from gateway.runtime.imap_runner import all_mailboxes
from inbound.imap import CredentialUnavailable, OAuth2Token, Password
from rules.sourcefile import SourceFileError

GATEWAY = '[gateway]\nsupport_addresses = ["suporte@example.com"]\n'


def mailbox_config(tmp_path: Path, entry: str) -> Path:
    path = tmp_path / "ticketgate.toml"
    path.write_text(GATEWAY + '\n[[imap]]\nhost = "imap.example.com"\nusername = "u"\n' + entry)
    return path


def test_defaults_and_relative_paths(tmp_path: Path) -> None:
    path = mailbox_config(tmp_path, 'ca_file = "ca.pem"\n')
    [mailbox] = all_mailboxes(load_settings(path))
    assert (mailbox.port, mailbox.tls, mailbox.folder) == (993, True, "INBOX")
    assert (mailbox.done_folder, mailbox.error_folder, mailbox.mark_as) == (
        "Processed",
        "Errors",
        "move",
    )
    assert mailbox.ca_file == str(tmp_path.resolve() / "ca.pem")
    assert mailbox.label == "u@imap.example.com:993/INBOX"


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ("starttls = true\n", "starttls = true needs tls = false"),
        (
            'oauth2_token_command = "a"\noauth2_token_file = "b"\n',
            "oauth2_token_command or oauth2_token_file, not both",
        ),
        ('mark_as = "delete"\n', "mark_as"),
        ("batch_size = 0\n", "batch_size"),
    ],
)
def test_contradictions_are_config_errors(tmp_path: Path, entry: str, message: str) -> None:
    with pytest.raises(SourceFileError) as caught:
        load_settings(mailbox_config(tmp_path, entry))
    assert message in str(caught.value)


def test_password_comes_from_the_environment_at_each_connection(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    [mailbox] = all_mailboxes(load_settings(mailbox_config(tmp_path, 'password_env = "PW"\n')))
    monkeypatch.delenv("PW", raising=False)
    with pytest.raises(CredentialUnavailable, match="environment variable PW"):
        mailbox.credential()
    monkeypatch.setenv("PW", "s3cret")
    assert mailbox.credential() == Password("s3cret")
    assert mailbox.credential_hint == "the password in $PW"


def test_token_from_a_file_is_read_fresh(tmp_path: Path) -> None:
    [mailbox] = all_mailboxes(
        load_settings(mailbox_config(tmp_path, 'oauth2_token_file = "token.txt"\n'))
    )
    with pytest.raises(CredentialUnavailable, match="cannot read oauth2_token_file"):
        mailbox.credential()
    (tmp_path / "token.txt").write_text("ya29.first\n")
    assert mailbox.credential() == OAuth2Token("ya29.first")
    (tmp_path / "token.txt").write_text("ya29.second\n")
    assert mailbox.credential() == OAuth2Token("ya29.second")


def test_token_command_output_and_failures(tmp_path: Path) -> None:
    def credential(command: str) -> object:
        entry = f"oauth2_token_command = {command!r}\n".replace("'", '"')
        [mailbox] = all_mailboxes(load_settings(mailbox_config(tmp_path, entry)))
        return mailbox.credential()

    assert credential("echo ya29.token") == OAuth2Token("ya29.token")
    with pytest.raises(CredentialUnavailable, match="exited 1 without printing a token"):
        credential("false")
    with pytest.raises(CredentialUnavailable, match="could not run"):
        credential("/nonexistent/token-helper")
