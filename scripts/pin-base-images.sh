#!/usr/bin/env bash
# Pins every FROM line of a Dockerfile to the digest its registry answers now:
#   scripts/pin-base-images.sh [Dockerfile]
# Needs registry access and `crane` (go-containerregistry) or `docker buildx`. A line already
# pinned is re-pinned to today's digest; `${VAR}` in an image is expanded from the file's ARG
# defaults. Review the diff before committing it.
set -euo pipefail
file=${1:-Dockerfile}

digest_of() {
  if command -v crane >/dev/null; then crane digest "$1"
  elif command -v docker >/dev/null; then docker buildx imagetools inspect "$1" --format '{{json .Manifest}}' | sed -n 's/.*"digest":"\(sha256:[0-9a-f]*\)".*/\1/p'
  else echo "pin-base-images: needs crane or docker buildx" >&2; exit 2
  fi
}

declare -A args=()
while IFS= read -r line; do
  if [[ $line =~ ^ARG[[:space:]]+([A-Za-z_][A-Za-z0-9_]*)=(.*)$ ]]; then args[${BASH_REMATCH[1]}]=${BASH_REMATCH[2]}; fi
done < "$file"

out=$(mktemp)
while IFS= read -r line; do
  if [[ $line =~ ^FROM[[:space:]]+([^[:space:]]+)(.*)$ ]]; then
    image=${BASH_REMATCH[1]%@sha256:*}
    rest=${BASH_REMATCH[2]}
    resolved=$image
    for k in "${!args[@]}"; do resolved=${resolved//\$\{$k\}/${args[$k]}}; done
    d=$(digest_of "$resolved")
    [[ $d =~ ^sha256:[0-9a-f]{64}$ ]] || { echo "pin-base-images: no digest for $resolved (got '$d')" >&2; exit 1; }
    echo "FROM ${resolved}@${d}${rest}" >> "$out"
    echo "pinned $resolved -> $d" >&2
  else
    printf '%s\n' "$line" >> "$out"
  fi
done < "$file"
mv "$out" "$file"
