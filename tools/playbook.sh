#!/usr/bin/env bash
# Run one playbook against one environment: the single entry point behind
# `make deploy/plan/destroy/...`.  Usage: tools/playbook.sh ENV PLAYBOOK [ansible-playbook args]
# Every refusal is one line on stderr with what to do, before anything starts.
set -euo pipefail
cd "$(dirname "$0")/.."

env_name="${1:-}"; playbook="${2:-}"; shift 2 || true
die() { echo "error: $*" >&2; exit 1; }

case "$env_name" in
  local|dev|production) ;;
  *) die "unknown ENV='${env_name}': use ENV=local (default), ENV=dev or ENV=production" ;;
esac
[ -f "$playbook" ] || die "no playbook '${playbook}'"
[ -x .venv/bin/ansible-playbook ] || die "no virtualenv: run 'make setup'"

vault_args=()
if [ "$env_name" = local ]; then
  # The local vault's password is committed on purpose: local-only values.
  vault_args=(--vault-password-file inventories/local/vault-password.txt)
  .venv/bin/python tools/localenv.py up >/dev/null
  eval "$(.venv/bin/python tools/localenv.py env)"
  export AWS_ENDPOINT_URL AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_DEFAULT_REGION AWS_REGION
else
  pass_file="${VAULT_PASSWORD_FILE:-${HOME}/.config/mediamind/vault-${env_name}.pass}"
  if [ -n "${VAULT_PASSWORD:-}" ]; then
    # CI hands the password in a variable: give it to ansible through a pipe-like fd, never a file.
    vault_args=(--vault-password-file tools/vault-pass-from-env.sh)
  elif [ -r "$pass_file" ]; then
    vault_args=(--vault-password-file "$pass_file")
  else
    die "no vault password for ENV=${env_name}: put it in ${pass_file} (chmod 600) or set VAULT_PASSWORD_FILE"
  fi
  [ -f "inventories/${env_name}/group_vars/all/vault.yml" ] \
    || die "inventories/${env_name}/group_vars/all/vault.yml is missing: create it from vault.yml.example and encrypt it"
fi

# MM_ANSIBLE_CONFIG: another config for the same run (benchmarks compare settings side by side).
export ANSIBLE_CONFIG="${MM_ANSIBLE_CONFIG:-$PWD/ansible.cfg}"
exec .venv/bin/ansible-playbook -i "inventories/${env_name}" "${vault_args[@]}" "$playbook" "$@"
