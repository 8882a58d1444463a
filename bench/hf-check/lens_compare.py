# The logit lens of `remix analyze logit-lens` (CSV written on the CPU machine) recomputed with Hugging Face
# transformers: per fact and layer, probability and rank of the gold first answer token.
import csv, json, sys, torch
from transformers import AutoModelForCausalLM, AutoTokenizer
model_dir, csv_path, data = sys.argv[1], sys.argv[2], sys.argv[3]
rows = list(csv.DictReader(open(csv_path)))
facts = {}
for line in open(data):
    e = json.loads(line); facts[e["id"]] = e
tok = AutoTokenizer.from_pretrained(model_dir)
for device in ["cpu", "cuda"]:
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32).to(device).eval()
    worst_p, rank_diff = 0.0, 0
    for r in rows:
        msgs = facts[r["id"]]["messages"]
        ids = tok(f"<|user|>\n{msgs[0]['content']}\n<|assistant|>\n", return_tensors="pt")["input_ids"].to(device)
        gold = tok(msgs[1]["content"], add_special_tokens=False)["input_ids"][0]
        assert gold == int(r["gold_token"]), (r["id"], gold, r["gold_token"])
        with torch.no_grad():
            hs = model(ids, output_hidden_states=True).hidden_states
        layers = len(hs) - 1
        for l in range(layers + 1):
            h = hs[l][0, -1]
            normed = h if l == layers else model.model.norm(h)   # transformers' last entry is already normed
            logits = model.lm_head(normed).float()
            p = torch.softmax(logits, -1)[gold].item()
            rank = int((logits > logits[gold]).sum().item())
            worst_p = max(worst_p, abs(p - float(r[f"prob_{l}"])))
            rank_diff += rank != int(r[f"rank_{l}"])
    print(f"{model_dir} [{device}]: {len(rows)} facts x {layers + 1} layer points; max |p_hf - p_remix| = {worst_p:.2e}; rank disagreements: {rank_diff}")
