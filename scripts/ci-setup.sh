#!/usr/bin/env bash
# Installs what the integration tests need from the machine (Debian): OpenSSH's server and
# client for the SFTP upload test, and the unprivileged account `kravflyt-sftp` it logs in as;
# PostgreSQL's server for the tests of the PostgreSQL store (scripts/pg-test-cluster.sh starts
# a throwaway cluster of it, as the package's unprivileged `postgres` account).
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

if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
    as_root apt-get update -qq
    # The server package alone: the cluster the package would create and start is not used
    # (the tests start their own in a temporary folder), so it is stopped if it started.
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        postgresql >/dev/null
    as_root sh -c 'command -v pg_ctlcluster >/dev/null && for c in /etc/postgresql/*/main; do [ -d "$c" ] && pg_ctlcluster "$(basename "$(dirname "$c")")" main stop || true; done' || true
fi

if ! id kravflyt-sftp >/dev/null 2>&1; then
    as_root useradd --system --no-create-home --shell /usr/sbin/nologin kravflyt-sftp
fi
# A system account is created locked ("!"), and sshd refuses locked accounts even for key
# logins; "*" means "no password" without locking it.
as_root usermod -p '*' kravflyt-sftp
