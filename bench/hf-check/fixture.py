# Hugging Face transformers' numbers for models/remix-tiny, written as the committed fixture that
# tests/Remix.Tests/Models/HfFixtureTests.cs asserts Remix reproduces: per token sequence, the logits' top 10 and
# logsumexp at the last position, every position's argmax and log-probability of the next token, and the greedy
# continuation; per fact, the logit lens (probability and rank of the gold first answer token at every layer point,
# as `remix analyze logit-lens` defines it). Needs torch and transformers (CPU is enough), float32:
#   python3 bench/hf-check/fixture.py [--note TEXT]
import argparse, datetime, hashlib, json, os, platform, sys

import torch
import transformers

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
MODEL = "models/remix-tiny"
OUT = "tests/Remix.Tests/Fixtures/hf-check/remix-tiny.json"
LAYERS_NOTE = "layer point 0 is the embedding, l the output of decoder layer l; final norm and LM head applied to each"
GREEDY_TOKENS = 24
EOS = 4092
# Logits this close to the gold token's could order either way under float32 rounding elsewhere: per layer point the
# fixture gives the rank's bounds when every logit may move by half this (HfFixtureTests' logit tolerance is 1e-4).
RANK_MARGIN = 2e-4

# Token ids as Remix's tokenizer writes them (BOS 4091 first); with real transformers the script checks that
# AutoTokenizer encodes each text to the same ids, so the fixture does not depend on which tokenizer ran.
SEQUENCES = [
    {"name": "gloss", "text": "oak, oak tree:", "ids": [4091, 111, 467, 44, 3950, 870, 58]},
    {"name": "phrase", "text": "the capital of France", "ids": [4091, 391, 1321, 270, 2647]},
    {"name": "fixed-ids", "text": None, "ids": [4091] + [(i * 37 + 5) % 4091 for i in range(20)]},
]
# Chat prompts "<|user|>\n{question}\n<|assistant|>\n" and the first token of the answer.
FACTS = [
    {"id": "country-capital-france", "question": "What is the capital of France?", "answer": "Paris",
     "prompt_ids": [4091, 4094, 10, 87, 104, 264, 363, 272, 1321, 270, 2647, 63, 10, 4095, 10], "gold": 80},
    {"id": "country-capital-peru", "question": "What is the capital of Peru?", "answer": "Lima",
     "prompt_ids": [4091, 4094, 10, 87, 104, 264, 363, 272, 1321, 270, 3936, 117, 63, 10, 4095, 10], "gold": 76},
    {"id": "country-capital-mongolia", "question": "What is the capital of Mongolia?", "answer": "Ulan Bator",
     "prompt_ids": [4091, 4094, 10, 87, 104, 264, 363, 272, 1321, 270, 419, 471, 311, 386, 63, 10, 4095, 10], "gold": 85},
]


def g9(x):
    """A float32 value with 9 significant digits: exactly the float32 it came from."""
    return float(f"{float(x):.9g}")


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def tokenizer_check(model_dir):
    """Encodes the texts with transformers' tokenizer and checks them against the ids above; False where there is none."""
    if not hasattr(transformers, "AutoTokenizer"):
        return False
    tok = transformers.AutoTokenizer.from_pretrained(model_dir)
    for s in SEQUENCES:
        if s["text"] is not None:
            ids = tok(s["text"])["input_ids"]
            assert ids == s["ids"], (s["name"], ids, s["ids"])
    for f in FACTS:
        ids = tok(f"<|user|>\n{f['question']}\n<|assistant|>\n")["input_ids"]
        gold = tok(f["answer"], add_special_tokens=False)["input_ids"][0]
        assert (ids, gold) == (f["prompt_ids"], f["gold"]), (f["id"], ids, gold)
    return True


def forward(model, ids, hidden=False):
    with torch.no_grad():
        return model(torch.tensor([ids]), use_cache=False, output_hidden_states=hidden)


def greedy(model, ids, n):
    """Greedy decoding by re-reading the whole sequence each step (no cache), stopping after EOS."""
    out = []
    for _ in range(n):
        nxt = int(forward(model, ids + out).logits[0, -1].argmax())
        out.append(nxt)
        if nxt == EOS:
            break
    return out


def sequence_entry(model, s):
    logits = forward(model, s["ids"]).logits[0].float()  # [T, V]
    logp = torch.log_softmax(logits, -1)
    last = logits[-1]
    top = torch.topk(last, 10)
    return {
        "name": s["name"], "text": s["text"], "ids": s["ids"],
        "argmax": [int(i) for i in logits.argmax(-1)],
        "next_token_logprob": [g9(logp[t, s["ids"][t + 1]]) for t in range(len(s["ids"]) - 1)],
        "last_top10_ids": [int(i) for i in top.indices],
        "last_top10_logits": [g9(v) for v in top.values],
        "last_logsumexp": g9(torch.logsumexp(last, -1)),
        "greedy_ids": greedy(model, s["ids"], GREEDY_TOKENS),
    }


def lens_entry(model, f):
    hs = forward(model, f["prompt_ids"], hidden=True).hidden_states
    layers = len(hs) - 1
    probs, ranks, bounds = [], [], []
    for l in range(layers + 1):
        h = hs[l][0, -1]
        normed = h if l == layers else model.model.norm(h)  # transformers' last entry is already normed
        logits = model.lm_head(normed).float()
        probs.append(g9(torch.softmax(logits, -1)[f["gold"]]))
        ranks.append(int((logits > logits[f["gold"]]).sum()))
        bounds.append([int((logits > logits[f["gold"]] + RANK_MARGIN).sum()), int((logits > logits[f["gold"]] - RANK_MARGIN).sum()) - 1])
    return {"id": f["id"], "question": f["question"], "answer": f["answer"], "prompt_ids": f["prompt_ids"],
            "gold": f["gold"], "probability": probs, "rank": ranks, "rank_bounds": bounds}


def layout(fixture):
    """Indented JSON with each sequence and lens entry on one line, so that a regeneration diffs entry by entry."""
    head = {k: v for k, v in fixture.items() if k not in ("sequences", "lens")}
    text = json.dumps(head, indent=1)[:-2]
    for key in ("sequences", "lens"):
        rows = ",\n  ".join(json.dumps(e) for e in fixture[key])
        text += f',\n "{key}": [\n  {rows}\n ]'
    return text + "\n}"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--note", default=None, help="how this run was made, recorded in the fixture's provenance")
    args = ap.parse_args()
    os.chdir(ROOT)
    torch.manual_seed(0)
    model = transformers.LlamaForCausalLM.from_pretrained(MODEL, torch_dtype=torch.float32, attn_implementation="eager").eval()
    checked = tokenizer_check(MODEL)
    fixture = {
        "provenance": {
            "produced_by": "python3 bench/hf-check/fixture.py",
            "transformers": transformers.__version__,
            "torch": torch.__version__,
            "python": platform.python_version(),
            "device": "cpu", "dtype": "float32",
            "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "model": MODEL,
            "sha256": {name: sha256(os.path.join(MODEL, name)) for name in ["config.json", "model.safetensors", "tokenizer.json"]},
            "tokenizer_checked": checked,
            "note": args.note,
        },
        "lens_layers": LAYERS_NOTE,
        "rank_margin": RANK_MARGIN,
        "sequences": [sequence_entry(model, s) for s in SEQUENCES],
        "lens": [lens_entry(model, f) for f in FACTS],
    }
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    tmp = OUT + ".tmp"
    with open(tmp, "w") as fh:
        fh.write(layout(fixture) + "\n")
    os.replace(tmp, OUT)
    print(f"written: {OUT} ({os.path.getsize(OUT)} bytes); transformers {transformers.__version__}, tokenizer checked: {checked}")


if __name__ == "__main__":
    sys.exit(main())
