"""`ticketgate` as the unprivileged user Postfix's pipe(8) runs it as.

pipe(8) refuses to run a command as root or as the mail owner, so the pipe
route runs as `nobody`. The venv's interpreter links into root's 0700 home,
out of nobody's reach; Debian's /usr/bin/python3 of the same minor version
(the same cpython ABI) runs the project under test instead, over the venv's
site-packages for the dependencies. Every command of the test's desk runs as
that user too, so no root-owned SQLite -wal/-shm file ever locks it out.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from tests.support.gateway_process import SECRET, GatewayConfig

USER = "nobody"
SYSTEM_PYTHON = Path("/usr/bin/python3")
ROOT = Path(__file__).resolve().parents[2]  # the project under test, not the venv's copy
DEPLOY_MASTER_CF = ROOT / "deploy" / "postfix" / "master.cf"

WRAPPER = """\
#!{python}
# ticketgate for {user}: the project at {root} over the venv's dependencies.
import site
import sys

site.addsitedir({site_packages!r})  # runs the venv's .pth files (its editable finder)
sys.path.insert(0, {root!r})  # before that finder, as PYTHONPATH would be
from gateway.cli import main

sys.exit(main(prog_name="ticketgate"))
"""


def write_wrapper(folder: Path) -> Path:
    """A `ticketgate` executable for USER in `folder`; fails, never skips, when it cannot be."""
    version = subprocess.run(
        [str(SYSTEM_PYTHON), "-c", "import sys; print(*sys.version_info[:2])"],
        capture_output=True, text=True, check=False,
    ).stdout.split()  # fmt: skip
    mine = [str(n) for n in sys.version_info[:2]]
    assert version == mine, (
        f"{SYSTEM_PYTHON} is Python {'.'.join(version) or 'missing'}, the venv's is "
        f"{'.'.join(mine)}: the pipe test runs the venv's packages under Debian's python3 "
        "(the venv's own interpreter is out of reach of the pipe user), so they must match"
    )
    site_packages = sysconfig.get_paths()["purelib"]
    wrapper = folder / "ticketgate"
    wrapper.write_text(
        WRAPPER.format(python=SYSTEM_PYTHON, user=USER, root=str(ROOT), site_packages=site_packages)
    )
    wrapper.chmod(0o755)
    probe = as_user([str(wrapper), "--help"])
    assert probe.returncode == 0, (
        f"{USER} cannot run ticketgate through {wrapper} (are {site_packages} and {ROOT} "
        f"readable by {USER}?):\n{probe.stderr.decode(errors='replace')}"
    )
    return wrapper


def as_user(
    command: list[str], env: dict[str, str] | None = None, input: bytes | None = None
) -> subprocess.CompletedProcess[bytes]:
    """Run `command` as USER (runuser(1) keeps the environment given)."""
    return subprocess.run(
        ["runuser", "-u", USER, "--", *command],
        input=input, capture_output=True, env=env, timeout=120, check=False,
    )  # fmt: skip


@dataclass
class PipeUserConfig(GatewayConfig):
    """A test desk whose every `ticketgate` command runs as USER through the wrapper."""

    wrapper: Path = field(default=Path("ticketgate"))

    def cli(
        self, *args: str, input: bytes | None = None, check: bool = True
    ) -> subprocess.CompletedProcess[bytes]:
        result = as_user([str(self.wrapper), "--config", str(self.path), *args], self.env(), input)
        if check and result.returncode != 0:
            raise AssertionError(
                f"ticketgate {' '.join(args)} as {USER} exited {result.returncode}:\n"
                f"{result.stderr.decode(errors='replace')}"
            )
        return result


def pipe_desk(db_url: str, relay_port: int) -> PipeUserConfig:
    """A desk under a fresh world-readable /tmp folder (pytest's tmp_path is root's 0700),
    its data folder USER's, with the signing secret in data_dir/secret as pipe(8) passes
    no env file; on SQLite the database lives there too, on PostgreSQL USER needs the DSN."""
    top = Path(tempfile.mkdtemp(prefix="tgpipe", dir="/tmp"))
    top.chmod(0o755)
    folder = top / "gw"
    url = (
        f"sqlite:///{folder / 'data' / 'ticketgate.db'}" if db_url.startswith("sqlite") else db_url
    )
    config = PipeUserConfig(folder=folder, storage_url=url, relay_port=relay_port)
    config.write()
    data = folder / "data"
    data.mkdir()
    (data / "secret").write_text(SECRET)
    os.chmod(data / "secret", 0o600)
    for path in (data, data / "secret"):
        shutil.chown(path, USER)
    config.wrapper = write_wrapper(top)
    config.cli("db", "upgrade")  # as a deployment does before the first mail
    return config


def pipe_service(config: PipeUserConfig) -> list[str]:
    """deploy/postfix/master.cf's service, run as USER with the test's wrapper and config."""
    lines = [line for line in DEPLOY_MASTER_CF.read_text().splitlines() if not line.startswith("#")]
    text = "\n".join(lines)
    for deployed, tested in (
        ("user=ticketgate", f"user={USER}"),
        ("/opt/ticketgate/.venv/bin/ticketgate", str(config.wrapper)),
        ("/etc/ticketgate/ticketgate.toml", str(config.path)),
    ):
        assert deployed in text, f"{DEPLOY_MASTER_CF} no longer says {deployed}: adapt the test"
        text = text.replace(deployed, tested)
    return text.splitlines()
