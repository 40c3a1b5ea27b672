"""Wait until the managed host has finished its first boot and Docker answers over SSH.

`pulumi up` runs this (pulumi-command's local Command, `python3 -c <this file>`) after the server is
created and before the Docker provider connects: cloud-init installs Docker and adds the deploy user
to the docker group, which takes a minute or two after the API reports the server running.

It uses only the standard library, since it runs from its source text, and reads its values from
the environment, so no address or key can change the command line:
  INVESTMENT_HOST         the server's address
  INVESTMENT_SSH_USER     the login (the deploy user)
  INVESTMENT_SSH_PORT     sshd's port (22)
  INVESTMENT_SSH_OPTIONS  JSON list of ssh options pinning the host key (model/host.py)
  INVESTMENT_TIMEOUT_S    how long to wait in all
On success it prints the Docker Engine version; on failure one line saying why, exit 1.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time

REMOTE = (
    "cloud-init status --wait >/dev/null 2>&1; rc=$?; "
    'if [ "$rc" -ne 0 ]; then echo "cloud-init: $(cloud-init status 2>&1 | tail -n 1)" >&2; '
    "exit 10; fi; "
    "docker info --format 'docker {{.ServerVersion}}'"
)
"""Run on the host: wait for cloud-init, then ask Docker, as the deploy user, for its version."""
RETRY_S = 5.0
FATAL = ("Host key verification failed", "REMOTE HOST IDENTIFICATION HAS CHANGED")
"""ssh errors that waiting cannot cure: the host presents another key than the pinned one."""


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else "no message"


def wait(
    host: str, user: str, port: int, options: list[str], timeout_s: float, ssh: str = "ssh"
) -> str:
    """The host's Docker version once it answers; raises RuntimeError with one line otherwise."""
    command = [
        ssh,
        "-T",
        "-o",
        "BatchMode=yes",
        "-o",
        "ConnectTimeout=10",
        *options,
        "-p",
        str(port),
        "-l",
        user,
        "--",
        host,
        REMOTE,
    ]
    deadline = time.monotonic() + timeout_s
    last = "no attempt"
    while True:
        result = subprocess.run(command, capture_output=True, text=True, stdin=subprocess.DEVNULL)
        if result.returncode == 0:
            return _last_line(result.stdout)
        last = _last_line(result.stderr)
        if any(marker in result.stderr for marker in FATAL):
            raise RuntimeError(f"{host} presents another SSH host key than the pinned one: {last}")
        if result.returncode == 10:
            raise RuntimeError(
                f"{host}'s first boot failed ({last}); see /var/log/cloud-init-output.log"
            )
        if time.monotonic() + RETRY_S > deadline:
            raise RuntimeError(f"{host} was not ready within {timeout_s:g} s: {last}")
        time.sleep(RETRY_S)


def main() -> int:
    """Read the environment, wait, print the Docker version or one line of error."""
    try:
        host = os.environ["INVESTMENT_HOST"]
        user = os.environ["INVESTMENT_SSH_USER"]
        port = int(os.environ.get("INVESTMENT_SSH_PORT", "22"))
        options = json.loads(os.environ["INVESTMENT_SSH_OPTIONS"])
        timeout_s = float(os.environ.get("INVESTMENT_TIMEOUT_S", "900"))
    except (KeyError, ValueError) as exc:
        print(f"bootstrap wait: bad environment: {exc}", file=sys.stderr)
        return 2
    ssh = shutil.which("ssh")
    if ssh is None:
        print("bootstrap wait: ssh is not installed on this machine", file=sys.stderr)
        return 1
    try:
        print(wait(host, user, port, [str(o) for o in options], timeout_s, ssh))
    except RuntimeError as exc:
        print(f"bootstrap wait: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
