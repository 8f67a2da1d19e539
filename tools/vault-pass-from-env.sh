#!/usr/bin/env bash
# ansible-vault password "file" that reads the password from $VAULT_PASSWORD (CI secret).
[ -n "${VAULT_PASSWORD:-}" ] || { echo "VAULT_PASSWORD is empty" >&2; exit 1; }
printf '%s\n' "$VAULT_PASSWORD"
