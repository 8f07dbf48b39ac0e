#!/usr/bin/env bash
# Installs what the integration tests need from the machine (Debian): OpenSSH's server and
# client for the SFTP upload test, and the unprivileged account `kravflyt-sftp` it logs in as.
# Idempotent: a machine that has them is left as it is. Needs root (or password-less sudo).
set -euo pipefail

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo -n "$@"; fi
}

if [ ! -x /usr/sbin/sshd ] || ! command -v sftp >/dev/null || ! command -v ssh-keygen >/dev/null; then
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        openssh-server openssh-client >/dev/null
fi

if ! id kravflyt-sftp >/dev/null 2>&1; then
    as_root useradd --system --no-create-home --shell /usr/sbin/nologin kravflyt-sftp
fi
# A system account is created locked ("!"), and sshd refuses locked accounts even for key
# logins; "*" means "no password" without locking it.
as_root usermod -p '*' kravflyt-sftp
