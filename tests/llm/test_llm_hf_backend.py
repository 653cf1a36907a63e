"""The transformers backend on a tiny random model loaded by path: batching, seeding,
sampling parameters and the one-line errors."""

from __future__ import annotations

import pytest

from elm_llm.backend import LLMError, SamplingParams
from elm_llm.hf_backend import TransformersBackend
from elm_llm.runtime import looks_like_path

PROMPTS = ["<NME> parity.py\n<BEF> def parity(b1, b2, b3, b4):\n", "def f():", "x = 1\n" * 5, "import math\n",
           "<MSG> Fixed bugs\n<DFF>"]


@pytest.fixture(scope="module", params=["auto", "generate"])
def backend(tiny_model, request):
    """Both sampling loops: elm's cached one (auto, for GPT-2) and transformers' generate."""
    made = TransformersBackend(tiny_model, forward_batch=4, decoder=request.param)
    assert (made.decoder is not None) == (request.param == "auto")
    return made


def test_generation_is_batched(backend, monkeypatch):
    """generate: left-padded batches of forward_batch rows; elm's loop: every prompt in one
    queue (unpadded) worked through forward_batch rows at a time."""
    calls = []
    if backend.decoder is not None:
        original_sample = backend.decoder.sample_prompts

        def spy(prompts, *args, slots, **kwargs):
            calls.append((len(prompts), slots))
            assert all(ids and ids[0] != backend.tokenizer.pad_token_id for ids in prompts)  # no padding
            return original_sample(prompts, *args, slots=slots, **kwargs)

        monkeypatch.setattr(backend.decoder, "sample_prompts", spy)
        expected = [(5, 4)]
    else:
        original = backend.model.generate

        def spy(**kwargs):
            calls.append(kwargs["input_ids"].shape[0])
            mask = kwargs["attention_mask"]
            assert bool((mask[:, -1] == 1).all())  # left padding: every row ends with a real token
            return original(**kwargs)

        monkeypatch.setattr(backend.model, "generate", spy)
        expected = [4, 1]
    out = backend.generate(PROMPTS, SamplingParams(max_new_tokens=8), seed=3)
    assert calls == expected
    assert [c.prompt_index for c in out] == [0, 1, 2, 3, 4]
    assert all(c.ok and 0 < c.tokens <= 8 for c in out)


def test_same_seed_same_samples_other_seed_other_samples(backend):
    params = SamplingParams(temperature=1.0, top_p=1.0, max_new_tokens=12)
    first = [c.text for c in backend.generate(PROMPTS, params, seed=11)]
    again = [c.text for c in backend.generate(PROMPTS, params, seed=11)]
    other = [c.text for c in backend.generate(PROMPTS, params, seed=12)]
    assert first == again
    assert first != other


def test_greedy_ignores_the_seed(backend):
    params = SamplingParams(temperature=0.0, max_new_tokens=6)
    assert [c.text for c in backend.generate(PROMPTS[:2], params, seed=1)] == \
        [c.text for c in backend.generate(PROMPTS[:2], params, seed=2)]


def test_several_samples_per_prompt_come_back_prompt_major(backend):
    out = backend.generate(PROMPTS[:2], SamplingParams(max_new_tokens=4, n=3), seed=0)
    assert [c.prompt_index for c in out] == [0, 0, 0, 1, 1, 1]


def test_stop_strings_cut_the_text(backend):
    out = backend.generate(PROMPTS, SamplingParams(temperature=1.0, max_new_tokens=30, stop=("e", "a")), seed=5)
    assert all("e" not in c.text and "a" not in c.text for c in out)


def test_prompt_longer_than_the_context_fails_alone(backend):
    long_prompt = "bit_sum = sum([b1, b2, b3, b4])\n" * 400
    out = backend.generate([PROMPTS[0], long_prompt], SamplingParams(max_new_tokens=4), seed=0)
    assert out[0].ok
    assert not out[1].ok and "context of 1024" in out[1].error


def test_chat_needs_a_chat_template(backend, tiny_chat_model):
    conversation = [[{"role": "user", "content": "Fix the bugs."}]]
    with pytest.raises(LLMError, match="no chat template"):
        backend.chat(conversation, SamplingParams(max_new_tokens=4))
    chat = TransformersBackend(tiny_chat_model, forward_batch=2)
    assert chat.supports_chat
    assert len(chat.chat(conversation * 3, SamplingParams(max_new_tokens=4), seed=0)) == 3


def test_missing_directory_is_one_clear_line(tmp_path):
    with pytest.raises(LLMError) as info:
        TransformersBackend(str(tmp_path / "no-such-model"))
    message = str(info.value)
    assert "\n" not in message and "is not a directory" in message and "--model PATH" in message


def test_directory_without_a_model_is_one_clear_line(tmp_path):
    with pytest.raises(LLMError) as info:
        TransformersBackend(str(tmp_path))
    assert "\n" not in str(info.value) and "cannot load model" in str(info.value)


def test_unreachable_hub_id_is_one_clear_line(monkeypatch):
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    with pytest.raises(LLMError) as info:
        TransformersBackend("CarperAI/diff-codegen-350m-v2")
    message = str(info.value)
    assert "\n" not in message
    assert "'CarperAI/diff-codegen-350m-v2'" in message and "--model PATH" in message


def test_gpu_requested_without_gpu(tiny_model):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    with pytest.raises(LLMError, match="no GPU"):
        TransformersBackend(tiny_model, device="cuda")


def test_hub_ids_and_paths_are_told_apart(tmp_path):
    assert not looks_like_path("CarperAI/diff-codegen-350m-v2")
    assert looks_like_path(str(tmp_path)) and looks_like_path("./models/diff") and looks_like_path("a/b/c")


def test_new_tokens_shrink_to_the_context_and_the_models_own_limit(backend, monkeypatch):
    prompt = "bit_sum = sum([b1, b2, b3, b4])\n" * 400
    ids = backend.tokenizer(prompt)["input_ids"][:backend.context_length - 100]
    near_end = backend.tokenizer.decode(ids)
    room = backend.context_length - len(backend.tokenizer(near_end)["input_ids"])
    assert 64 <= room < 512
    [out] = backend.generate([near_end], SamplingParams(temperature=1.0, max_new_tokens=512), seed=0)
    assert out.ok and 0 < out.tokens <= room  # generated in the room left, not refused
    monkeypatch.setattr(backend, "model_max_new_tokens", 3)  # as a trained model's generation_config sets it
    outs = backend.generate(PROMPTS[:2], SamplingParams(temperature=1.0, max_new_tokens=50), seed=0)
    assert all(c.ok and c.tokens <= 3 for c in outs)
