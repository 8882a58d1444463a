# Greedy continuations of Remix checkpoints under Hugging Face transformers, compared with the token ids
# `remix generate --ids` printed on the 2-core CPU machine (bench/hf-check/out/*.ids, written by bench/hf-check/expected.sh).
import sys
try:
    import torch, transformers
except ImportError as e:
    print("missing:", e); sys.exit(3)
print("torch", torch.__version__, "transformers", transformers.__version__, "cuda", torch.cuda.is_available())
from transformers import AutoModelForCausalLM, AutoTokenizer

def check(model_dir, prompts, ids_file, max_new, chat):
    expected = [list(map(int, l.split())) for l in open(ids_file).read().strip().splitlines()]
    tok = AutoTokenizer.from_pretrained(model_dir)
    bad = 0
    for device in ["cpu"] + (["cuda"] if torch.cuda.is_available() else []):
        model = AutoModelForCausalLM.from_pretrained(model_dir, torch_dtype=torch.float32).to(device).eval()
        eos = model.generation_config.eos_token_id
        for p, exp in zip(prompts, expected):
            text = f"<|user|>\n{p}\n<|assistant|>\n" if chat else p
            enc = tok(text, return_tensors="pt").to(device)
            with torch.no_grad():
                out = model.generate(**enc, max_new_tokens=max_new, do_sample=False, eos_token_id=eos, pad_token_id=tok.pad_token_id or eos)
            gen = out[0, enc["input_ids"].shape[1]:].tolist()
            same = gen == exp
            bad += not same
            print(f"{model_dir} [{device}] {p!r}: {'same ids' if same else 'DIFFERENT'}; prompt ids {enc['input_ids'][0].tolist()}; "
                  f"hf {gen}" + ("" if same else f" remix {exp}") + f" -> {tok.decode(gen, skip_special_tokens=True)!r}")
    return bad

bad = check("models/remix-tiny", ["oak, oak tree:", "a chemical element", "the capital of France"], "bench/hf-check/out/tiny.ids", 24, False)
bad += check("runs/demo/full/naive/seed-0/stage-1-A/final",
             ["What is the capital of France?", "What is the capital of Peru?", "What is the capital of Mongolia?"], "bench/hf-check/out/stage1.ids", 12, True)
print("mismatches:", bad)
