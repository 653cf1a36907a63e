#!/usr/bin/env bash
# Reproduces the GP curves of the paper's Figure 1 (4-Parity) and Figure 2 (Quadratic):
# 100,000 single mutations per operator and bug count. Writes results.{json,csv,md,png}
# under examples/compare/parity and examples/compare/quadratic. Takes minutes on 2 cores.
set -euo pipefail
cd "$(dirname "$0")"
WORKERS="${WORKERS:-2}"

elm compare --domain parity --mutators gp,gp-tree --bugs 1-5 --trials 100000 \
    --workers "$WORKERS" --seed 0 --out parity
elm compare --domain quadratic --mutators gp,gp-tree --bugs 1-2 --trials 100000 \
    --workers "$WORKERS" --seed 0 --out quadratic

# The paper tuned its GP's mutation rate by hand: gp-tree at two higher rates, as labelled
# operators (NAME:TAG) with their own settings.
for domain in parity quadratic; do
    bugs=$([ "$domain" = parity ] && echo 1-5 || echo 1-2)
    elm compare --domain "$domain" --mutators gp-tree:rate25,gp-tree:rate40 --bugs "$bugs" \
        --set gp-tree:rate25.rate=0.25 --set gp-tree:rate40.rate=0.4 --trials 100000 \
        --workers "$WORKERS" --seed 0 --out "$domain-rates"
done

# With language models (none can be downloaded here; see README.md): add the LLM operators,
# fewer trials for them, and where each model is, e.g.
#   elm compare --domain parity --mutators gp,gp-tree,diff,prompt,edit --bugs 1-5 \
#       --trials 100000 --trials diff=3200 --trials prompt=3200 --trials edit=3200 \
#       --set diff.model=CarperAI/diff-codegen-350m-v2 --batch-size diff=64 \
#       --set prompt.base_url=http://localhost:8000/v1 --set prompt.model=codegen-2B-mono \
#       --set edit.base_url=http://localhost:8000/v1 --set edit.model=qwen2.5-coder-7b-instruct \
#       --set edit.temperature=0.8 --workers 2 --out parity-llm
