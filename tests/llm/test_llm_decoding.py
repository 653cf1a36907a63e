"""The GPT-2 sampling loop with a preallocated cache (elm_llm.decoding) computes what the
model computes: the same logits as the model's forward pass on left-padded prompts, the same
greedy completions as ``generate``, and samples that follow the seed."""

from __future__ import annotations

import pytest
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

from elm_llm import decoding
from elm_llm.decoding import GPT2Decoder, supports

from tiny_models import build_tiny_model

PROMPTS = ["def parity(b1, b2, b3, b4):\n    return", "x = 1\n", "import math\n\ndef area(r):\n    return math.pi * r"]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    path = build_tiny_model(tmp_path_factory.mktemp("decoding") / "model", seed=3)
    tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
    tokenizer.padding_side = "left"
    model = AutoModelForCausalLM.from_pretrained(path, local_files_only=True).eval()
    return tokenizer, model


def padded(tokenizer, prompts):
    batch = tokenizer(prompts, padding=True, return_tensors="pt")
    return batch["input_ids"], batch["attention_mask"]


def test_logits_match_the_model_on_left_padded_prompts(tiny) -> None:
    tokenizer, model = tiny
    ids, mask = padded(tokenizer, PROMPTS)
    assert bool((mask == 0).any())  # the prompts differ in length: there is padding to get right
    decoder = GPT2Decoder(model)
    with torch.inference_mode():
        ours = decoder.logits(ids, mask)
        positions = (mask.cumsum(-1) - 1).clamp(min=0)
        theirs = model(input_ids=ids, attention_mask=mask, position_ids=positions).logits
    real = mask.bool()
    assert torch.allclose(ours[real], theirs[real], atol=1e-4, rtol=1e-4)


def test_greedy_completions_are_those_of_generate(tiny) -> None:
    tokenizer, model = tiny
    ids, mask = padded(tokenizer, PROMPTS)
    eos = tokenizer.eos_token_id
    with torch.inference_mode():
        reference = model.generate(input_ids=ids, attention_mask=mask, max_new_tokens=24, do_sample=False,
                                   pad_token_id=eos, eos_token_id=eos)[:, ids.shape[1]:].tolist()
    ours = GPT2Decoder(model).sample(ids, mask, 24, temperature=0.0, top_p=1.0, end_ids={eos})
    for row, mine in zip(reference, ours):
        expected = row[:row.index(eos) + 1] if eos in row else row
        assert mine == expected


def test_sampling_follows_the_seed_and_stops_where_asked(tiny) -> None:
    tokenizer, model = tiny
    ids, mask = padded(tokenizer, PROMPTS * 4)
    decoder = GPT2Decoder(model)
    eos = tokenizer.eos_token_id

    def draw(seed, **kwargs):
        generator = torch.Generator().manual_seed(seed)
        return decoder.sample(ids, mask, 40, temperature=1.0, top_p=0.9, end_ids={eos},
                              generator=generator, **kwargs)

    first, again, other = draw(1), draw(1), draw(2)
    assert first == again and first != other
    assert all(1 <= len(row) <= 40 for row in first)
    assert len({tuple(row) for row in first}) > 1  # the rows are sampled, not copies
    # a stop check that ends every row once it has 9 tokens: rows end within the check interval
    stopped = draw(1, stop_check=lambda tokens: len(tokens) >= 9)
    assert all(len(row) <= 16 for row in stopped)
    assert all(row == full[:len(row)] for row, full in zip(stopped, first))


def test_only_plain_gpt2_is_taken(tiny) -> None:
    _, model = tiny
    assert supports(model)
    model.config.scale_attn_by_inverse_layer_idx = True
    try:
        assert not supports(model)
        with pytest.raises(ValueError):
            GPT2Decoder(model)
    finally:
        model.config.scale_attn_by_inverse_layer_idx = False


def test_rows_write_the_same_whatever_the_slots_and_refills(tiny, monkeypatch) -> None:
    """Prompts queued for fewer slots than rows (a finished row hands its slot to the next
    prompt; repeated prompts share one prefill) write what each prompt writes alone, also when
    a stop check ends some rows early; sampling follows the seed."""
    tokenizer, model = tiny
    eos = tokenizer.eos_token_id
    decoder = GPT2Decoder(model)
    encoded = [tokenizer(p)["input_ids"] for p in PROMPTS]
    alone = [decoder.sample_prompts([ids], 24, 0.0, 1.0, {eos}, slots=1)[0] for ids in encoded]
    queued = [encoded[i % 3] for i in range(11)]
    expected = [alone[i % 3] for i in range(11)]
    first = alone[0]

    def stop(tokens: list[int]) -> bool:  # rows of the first prompt end early
        return len(tokens) >= 8 and tokens[:8] == first[:8]

    for slots in (1, 2, 4, 11, 32):
        assert decoder.sample_prompts(queued, 24, 0.0, 1.0, {eos}, slots=slots) == expected
        stopped = decoder.sample_prompts(queued, 24, 0.0, 1.0, {eos}, stop_check=stop, slots=slots)
        assert [len(row) for row in stopped[::3]] == [8] * 4 and stopped[1] == expected[1]
        assert stopped[2] == expected[2]
    sampled = [decoder.sample_prompts(queued, 24, 1.0, 0.9, {eos}, generator=torch.Generator().manual_seed(5),
                                      slots=4) for _ in range(2)]
    assert sampled[0] == sampled[1] and len({tuple(row) for row in sampled[0]}) > 3
    # a budget larger than the context leaves: each row stops where the context ends, also a
    # short prompt that entered padded to a long one's length (its cache places must not run out)
    pair = [tokenizer(PROMPTS[2] * 12)["input_ids"], encoded[1]]
    context = len(pair[0]) + 30
    assert len(pair[0]) > len(pair[1]) + 100
    step = decoding._Batch.step

    def checked(batch, token):
        live = [batch.at[i] for i, row in enumerate(batch.rows) if row >= 0]
        assert all(at < batch.valid.shape[1] for at in live), "a row ran out of cache places"
        step(batch, token)

    monkeypatch.setattr(decoding._Batch, "step", checked)
    together = decoder.sample_prompts(pair, 1000, 0.0, 1.0, set(), slots=2, context=context)
    assert [len(row) for row in together] == [context - len(ids) for ids in pair]
    assert together == [decoder.sample_prompts([ids], 1000, 0.0, 1.0, set(), slots=1, context=context)[0]
                        for ids in pair]


def test_nucleus_draws_follow_the_cut_distribution() -> None:
    generator = torch.Generator().manual_seed(0)
    logits = torch.tensor([2.0, 1.0, 0.5, 0.0, -1.0, -3.0])
    probs = logits.softmax(-1)  # cumulative 0.56, 0.77, 0.89, 0.97: top_p 0.9 keeps four tokens
    draws = GPT2Decoder._choose(logits.repeat(40000, 1), 1.0, 0.9, generator)
    seen = torch.bincount(draws, minlength=6).float() / len(draws)
    assert seen[4:].sum() == 0
    assert torch.allclose(seen[:4], probs[:4] / probs[:4].sum(), atol=0.01)
    # no cut: every token, in proportion
    seen = torch.bincount(GPT2Decoder._choose(logits.repeat(40000, 1), 1.0, 1.0, generator), minlength=6) / 40000
    assert torch.allclose(seen, probs, atol=0.01)
    # a nucleus wider than the partial sort: rarer tokens are still drawn, and only from that row
    flat = torch.zeros(2, 4096)
    flat[1, 7] = 50.0  # the second row's nucleus is one token
    wide = torch.stack([GPT2Decoder._choose(flat, 1.0, 0.95, generator) for _ in range(200)])
    assert int(wide[:, 0].max()) >= 1000 and set(wide[:, 1].tolist()) == {7}
    assert GPT2Decoder._choose(logits[None], 0.0, 0.9, generator).tolist() == [0]
