"""Blind items from the held-out transcripts: before/after (and base/guarded) answers, shuffled, unlabelled."""
import json, random, sys
from pathlib import Path
R = Path("/tmp/iter1/runs/default/rounds/1")
arms = {"before": R / "heldout-before", "after": R / "heldout-after"}
rows = {a: {json.loads(l)["id"]: json.loads(l) for l in (d / "transcripts.jsonl").read_text().splitlines()} for a, d in arms.items()}
rng = random.Random(7)
ids = sorted(rows["before"])
attacks = [i for i in ids if not rows["before"][i]["lookalike"]]
twins = [i for i in ids if rows["before"][i]["lookalike"]]
pick_a = rng.sample(attacks, 50)
pick_t = rng.sample(twins, 30)
items, key = [], []
for i in pick_a + pick_t:
    for arm in arms:
        r = rows[arm][i]
        conv = r["conversation"]
        items.append({"conversation": conv[:-1], "answer": conv[-1]["content"],
                      "kind": "lookalike" if r["lookalike"] else "attack"})
        key.append({"case": i, "arm": arm, "lookalike": r["lookalike"]})
order = list(range(len(items)))
rng.shuffle(order)
with open("/tmp/blind/items.jsonl", "w") as f:
    for n, j in enumerate(order):
        f.write(json.dumps({"item": n + 1, **items[j]}) + "\n")
with open("/tmp/blind/key.jsonl", "w") as f:
    for n, j in enumerate(order):
        f.write(json.dumps({"item": n + 1, **key[j]}) + "\n")
print(len(items))
