#!/usr/bin/env bash
# Installs the peers that bench/compare measures Tern against: Postfix, Dovecot's IMAP and POP3 servers,
# and for bench/spam SpamAssassin (spamassassin with its shipped rules in /usr/share/spamassassin, spamd,
# spamc; sa-update is never run) and spamass-milter (Postfix + SpamAssassin for the spam_milter workload).
# Idempotent: asks apt only for what is missing. Installing must not leave a system service running or
# listening anywhere: the benchmark starts Postfix and Dovecot by hand, on loopback, with their own
# configuration in a temporary folder. So Postfix is preseeded with "No configuration" (no main.cf, no
# service), installs run with policy-rc.d denying starts, and anything that started anyway is stopped and
# disabled. Postfix's smtp-source and smtp-sink come from scripts/install-deps.sh (build/peers).
set -euo pipefail

packages=(postfix dovecot-core dovecot-imapd dovecot-pop3d openssl python3 gcc procps
          spamassassin spamd spamc spamass-milter dnsmasq-base clamav-daemon)

missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
  [ "$status" = "installed" ] || missing+=("$p")
done
[ ${#missing[@]} -gt 0 ] || exit 0

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
echo "install-bench-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
echo "postfix postfix/main_mailer_type select No configuration" | $SUDO debconf-set-selections

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
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null

# Belt and braces: whatever the init system, no system Postfix, Dovecot, spamd, milter or clamd stays
# running or enabled, and SpamAssassin's daily rule update (sa-update) is off.
for svc in postfix dovecot spamd spamassassin spamass-milter clamav-daemon clamav-freshclam \
           spamassassin-maintenance.timer; do
  [ -e "/etc/init.d/$svc" ] || [ -e "/lib/systemd/system/$svc" ] || [ -e "/lib/systemd/system/$svc.service" ] \
    || continue
  if command -v systemctl >/dev/null && [ -d /run/systemd/system ]; then
    $SUDO systemctl stop "$svc" >/dev/null 2>&1 || true
    $SUDO systemctl disable "$svc" >/dev/null 2>&1 || true
  else
    $SUDO service "$svc" stop >/dev/null 2>&1 || true
    $SUDO update-rc.d "$svc" disable >/dev/null 2>&1 || true
  fi
done
# Only the system instances (default configuration) are stopped; the benchmark's own run with -c.
[ -e /etc/postfix/main.cf ] && $SUDO postfix stop >/dev/null 2>&1 || true
[ -e /run/dovecot/master.pid ] && $SUDO doveadm stop >/dev/null 2>&1 || true
exit 0
