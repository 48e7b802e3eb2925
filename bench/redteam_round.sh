#!/usr/bin/env bash
# One improvement round on a finished default run, and the held-out attacks against the base model and the
# guarded server (the run directory behind `veganalign serve`: the round's model, rails on), as measured for the
# README:
#
#   bash bench/redteam_round.sh runs/default   # 2 CPU cores: the round ~40-50 min, then the base model and server
#
# Every family but dilemma (the rule judge cannot score dilemmas), 12 attacks a family for the round and 6 (the
# same first 6) for the base model and the server, greedy, 112 new tokens, the spec's system prompt on the local
# models (the server applies its own policy).
set -euo pipefail
RUN=${1:-runs/default}
OUT=${OUT:-bench/results/redteam}
FAM=ignore_instructions,persona_roleplay,hypothetical_fiction,authority_claims,emotional_pressure,economic_professional
FAM=$FAM,cultural_tradition,no_lectures_format,translation_code_switching,encoding,many_shot,indirection
FAM=$FAM,multi_turn_pushback
V=${VEGANALIGN:-veganalign}
PORT=${PORT:-8765}
mkdir -p "$OUT"

"$V" iterate --run "$RUN" --limit 12 --heldout-limit 12 --families "$FAM" --max-new-tokens 112
"$V" redteam --model smollm2-135m-instruct --split heldout --limit 6 --families "$FAM" --max-new-tokens 112 \
  --out "$OUT/base-heldout"
"$V" serve --model "$RUN" --model-id m --no-auth --port "$PORT" --no-monitor &
SERVER=$!
trap 'kill $SERVER' EXIT
until curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null; do sleep 2; done
"$V" redteam --model "openai:m@http://127.0.0.1:$PORT/v1" --split heldout --limit 6 --families "$FAM" \
  --max-new-tokens 112 --out "$OUT/guarded-heldout"

ROUND=$(ls -d "$RUN"/rounds/* | sort -n | tail -1)
NAME=${NAME:-round1-swap}
mkdir -p "$OUT/$NAME/eval"
cp "$ROUND/summary.json" "$ROUND/round.json" "$ROUND/data/counts.json" "$OUT/$NAME/"
cp "$ROUND/eval/summary.json" "$OUT/$NAME/eval/"
for d in redteam-train heldout-before heldout-after; do
  mkdir -p "$OUT/$NAME/$d" && cp "$ROUND/$d/summary.json" "$OUT/$NAME/$d/"
  gzip -c "$ROUND/$d/transcripts.jsonl" > "$OUT/$NAME/$d/transcripts.jsonl.gz"
done
# The blind reading's items (every held-out attack and 30 look-alikes, before and after, shuffled). Readers label
# them into blind/labels.jsonl (round1-swap/blind/instructions.md is what its readers had), then:
#   python bench/blind_summary.py "$OUT/$NAME/blind"
python bench/blind_items.py "$ROUND" "$OUT/$NAME/blind" --attacks 150 --lookalikes 30
for d in base-heldout guarded-heldout; do gzip -f "$OUT/$d/transcripts.jsonl"; done
