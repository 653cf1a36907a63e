"""Throughput of the transformers backend: diffs/s and tokens/s at several batch sizes.

The model is randomly initialised (no weights can be downloaded here) with a tokenizer
trained on the spot, so the figures measure the machinery and the architecture, not a
model's quality. End-of-text is disabled so every sample has exactly --new-tokens tokens.
The prompts are diff-model prompts (<NME>/<BEF>/<MSG>/<DFF>) around a seed program.

    python benchmarks/llm_generate.py                       # GPT-2 6 layers d256, CPU
    python benchmarks/llm_generate.py --config codegen-350m --batch-sizes 1,32,128,512
    python benchmarks/llm_generate.py --model elm-diff-1m --prompt sodarace   # a trained model
    python benchmarks/llm_generate.py --model elm-diff-1m --decoders auto,generate   # both loops, interleaved
    python benchmarks/llm_generate.py --model MODEL_DIR --prompt start --new-tokens 512 --batch-sizes 32,64,128,256
                                       # a Stage-2 model writing programs from nothing, as `elm sample` asks

With --model (a shipped model's name or a model directory) the model is loaded as the diff
mutator loads it and samples end where the model ends them (end-of-text), so the figures
are diffs/s as a run sees them; tokens/s counts the tokens it really wrote.

--decoders names the sampling loops to time (the backend's `decoder`: auto is elm's loop
with a preallocated cache for GPT-2 models, generate is transformers' generate); with
several, their rounds alternate and the last column is each loop's median time over the
first's.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import tempfile
import time

import torch

from elm_llm.backend import SamplingParams
from elm_llm.hf_backend import TransformersBackend
from elm_llm.prompts import DIFF_STOPS, diff_prompt
from elm_llm.random_models import CODEGEN_350M, save_random_model
from elm_seeds import read_seed

CONFIGS = {
    "gpt2-6l-256": ("gpt2", dict(n_layer=6, n_embd=256, n_head=8, n_positions=2048)),
    "codegen-350m": ("codegen", dict(CODEGEN_350M)),
}
PROMPT_SEEDS = {"parity": ("parity", "parity_bugs_1", "parity.py", "Fixed bugs"),
                "sodarace": ("sodarace", "square", "walker.py", "Changed make_walker function.")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", choices=sorted(CONFIGS), default="gpt2-6l-256")
    parser.add_argument("--model", default=None, help="a trained model (shipped name or directory) instead of "
                                                      "a random --config")
    parser.add_argument("--batch-sizes", default="1,8,32", help="comma-separated")
    parser.add_argument("--new-tokens", type=int, default=64, help="tokens generated per sample")
    parser.add_argument("--prompt", choices=sorted(PROMPT_SEEDS) + ["start"], default="parity",
                        help="a diff prompt around a seed, or start: the start of a document (Stage-2 sampling)")
    parser.add_argument("--rounds", type=int, default=3, help="timed generate calls per batch size")
    parser.add_argument("--decoders", default="auto", help="comma-separated: auto, generate")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--dtype", default="auto")
    args = parser.parse_args()
    batch_sizes = [int(b) for b in args.batch_sizes.split(",") if b.strip()]

    kind, sizes = CONFIGS[args.config]
    if args.prompt != "start":
        domain, seed_name, file_name, message = PROMPT_SEEDS[args.prompt]
        prompt = diff_prompt(file_name, read_seed(domain, seed_name), message)
    decoders = [d.strip() for d in args.decoders.split(",") if d.strip()]
    build_start = time.perf_counter()
    backends = {}
    if args.model:
        for decoder in decoders:
            backends[decoder] = TransformersBackend(args.model, device=args.device, dtype=args.dtype,
                                                    forward_batch=max(batch_sizes), decoder=decoder)
        name = f"{args.model} (trained)"
    else:
        with tempfile.TemporaryDirectory() as tmp:
            save_random_model(tmp, kind, **sizes)
            for decoder in decoders:
                backends[decoder] = TransformersBackend(tmp, device=args.device, dtype=args.dtype,
                                                        forward_batch=max(batch_sizes), decoder=decoder)
        for backend in backends.values():
            backend.eos_ids = set()
            backend.model.generation_config.eos_token_id = None
        name = f"{args.config} ({kind}, random init)"
    backend = backends[decoders[0]]
    build_seconds = time.perf_counter() - build_start
    if args.prompt == "start":
        prompt = backend.start_text
    parameters = sum(p.numel() for p in backend.model.parameters())
    prompt_tokens = len(backend.tokenizer(prompt)["input_ids"])
    # a trained model is sampled as the diff mutator samples it: its stop strings, up to --new-tokens
    params = SamplingParams(temperature=0.8, top_p=0.95, max_new_tokens=args.new_tokens,
                            stop=DIFF_STOPS if args.model and args.prompt != "start" else ())

    print(f"machine: {platform.processor() or platform.machine()}, {torch.get_num_threads()} torch threads, "
          f"torch {torch.__version__}, cuda: {torch.cuda.get_device_name() if torch.cuda.is_available() else 'none'}")
    print(f"model: {name}, {parameters / 1e6:.1f}M parameters, "
          f"{', '.join(b.describe() for b in backends.values())}, built and loaded in {build_seconds:.1f} s")
    per_sample = "up to " if args.model else ""
    print(f"prompt: {args.prompt} {'(start of a document)' if args.prompt == 'start' else 'diff prompt'}, "
          f"{prompt_tokens} tokens; {per_sample}{args.new_tokens} new tokens "
          f"per sample; "
          f"{args.rounds} timed rounds per batch size after one warm-up")
    print("per batch size: seconds of one generate call (median and best of the rounds); "
          "samples/s and tokens/s from the median (best in brackets)")
    print(f"{'decoder':>8} {'batch':>6} {'median s':>9} {'best s':>8} {'samples/s':>16} {'tokens/s':>18} "
          f"{'time ratio':>10}")
    for batch in batch_sizes:
        prompts = [prompt] * batch
        times: dict[str, list[float]] = {d: [] for d in decoders}
        tokens: dict[str, list[int]] = {d: [] for d in decoders}
        for decoder, each in backends.items():
            each.forward_batch = batch
            each.generate(prompts, params, seed=0)  # warm-up: kernels, caches
        for r in range(args.rounds):
            for decoder, each in backends.items():  # interleaved: the machine's noise falls on both
                start = time.perf_counter()
                tokens[decoder].append(sum(c.tokens for c in each.generate(prompts, params, seed=r + 1)))
                if torch.cuda.is_available():
                    torch.cuda.synchronize()
                times[decoder].append(time.perf_counter() - start)
        first = statistics.median(times[decoders[0]])
        for decoder in decoders:
            median, best = statistics.median(times[decoder]), min(times[decoder])
            made = statistics.mean(tokens[decoder])
            print(f"{decoder:>8} {batch:>6} {median:>9.3f} {best:>8.3f} {batch / median:>8.2f} ({batch / best:>5.2f}) "
                  f"{made / median:>9.1f} ({made / best:>6.1f}) {median / first:>10.2f}")


if __name__ == "__main__":
    main()
