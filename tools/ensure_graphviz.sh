#!/usr/bin/env bash
# Makes `dot -Tsvg` work on this machine (tests/test_diagram.py, make diagram).
# A fresh Debian machine may lack Graphviz, or have it with its plugin
# registry (/usr/lib/<arch>/graphviz/config6a) never written: `dot` then knows
# no output format and exits non-zero ("Format: "svg" not recognized").
# `dot -c` writes that registry; it needs root, as apt-get does.
set -euo pipefail

probe() { echo 'digraph{a->b}' | dot -Tsvg >/dev/null 2>&1; }

if ! command -v dot >/dev/null; then
  if [ "$(id -u)" != 0 ]; then
    echo "error: Graphviz's dot is missing: sudo apt-get install graphviz" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq graphviz >/dev/null
fi
probe && exit 0
if [ "$(id -u)" != 0 ]; then
  echo "error: Graphviz cannot render SVG (plugins not registered): run 'sudo dot -c' once" >&2
  exit 1
fi
dot -c
probe || { echo "error: 'dot -Tsvg' still fails after 'dot -c': reinstall graphviz" >&2; exit 1; }
