#!/usr/bin/env bash
# Install what the project needs on a fresh Debian/Ubuntu machine: OpenSSH server, MariaDB, nginx, Graphviz, Java,
# Subversion (and Apache's mod_dav_svn for http:// repositories), OpenSSL, and a Python venv with the pinned requirements. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."
SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
need=()
for c in sshd:openssh-server ssh:openssh-client ssh-keygen:openssh-client mariadbd:mariadb-server \
         mariadb:mariadb-client sudo:sudo svnadmin:subversion svnserve:subversion svn:subversion openssl:openssl git:git nginx:nginx dot:graphviz \
         java:default-jre-headless keytool:default-jre-headless apache2:apache2 faketime:faketime; do
  bin=${c%%:*}; pkg=${c#*:}
  command -v "$bin" >/dev/null 2>&1 || [ -x "/usr/sbin/$bin" ] || need+=("$pkg")
done
[ -f /usr/lib/apache2/modules/mod_dav_svn.so ] || need+=(libapache2-mod-svn)  # the http:// SvnUrl of the guide
python3 -c 'import venv, ensurepip' 2>/dev/null || need+=(python3-venv)
if [ ${#need[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  $SUDO mkdir -p /usr/share/man/man1  # slim images lack it, and the JRE's postinst links its man pages there
  $SUDO apt-get update
  $SUDO apt-get install -y --no-install-recommends $(printf '%s\n' "${need[@]}" | sort -u)
fi
$SUDO mkdir -p /run/sshd
if [ ! -x .venv/bin/python ]; then python3 -m venv .venv; fi
.venv/bin/pip install -q --disable-pip-version-check -r requirements.txt
# the project's own bytecode, as pip compiles an installed package's: every fab process (the tests start hundreds)
# otherwise compiles its modules again where PYTHONDONTWRITEBYTECODE is set (a stale .pyc is ignored by mtime)
.venv/bin/python -m compileall -q -j 0 fabfile.py tasks tests bench >/dev/null
