#!/usr/bin/env bash
# `make run`: first run writes ./tern.toml and ./data/ (domain localhost, self-signed certificate),
# then Tern serves in the foreground until Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."
tern=./build/tern
if [ ! -f tern.toml ]; then
  "$tern" init --config tern.toml
  cat <<TXT

Tern is set up. Add a user and send a test message (in another terminal):
  echo 'a-password' | $tern user add you@localhost
  swaks --server 127.0.0.1:2525 --to you@localhost --from me@example.test
  $tern message list you@localhost

TXT
fi
exec "$tern" serve --config tern.toml
