import pytest

from crosslift.data.tokenize import encode_prompt_target
from crosslift.models.build import load_tokenizer
from crosslift.models.labels import IGNORE_INDEX


@pytest.fixture(scope="module", params=["tiny:llama", "tiny:qwen2"])
def tokenizer(request):
    return load_tokenizer(request.param)


def target_text(tok, enc):
    return tok.decode(
        [t for t, label in zip(enc.input_ids, enc.labels, strict=True) if label != IGNORE_INDEX],
        skip_special_tokens=True,
    )


@pytest.mark.parametrize(
    "prompt, target",
    [
        ("### Response:\n", "The answer is 42."),
        ("Question: 3 + 4 =", " 7"),  # the boundary falls inside a word-initial space
        ("Swali: Ni kiasi gani?\nJibu:", "Jibu ni 42."),
        ("问题：多少？\n答案：", "四十二。"),
    ],
)
def test_loss_covers_exactly_the_target(tokenizer, prompt, target):
    enc = encode_prompt_target(tokenizer, prompt, target, max_length=512)
    assert enc.input_ids[-1] == tokenizer.eos_token_id and enc.labels[-1] == tokenizer.eos_token_id
    assert target_text(tokenizer, enc).strip() == target.strip()
    # every prompt-only token is masked: the masked prefix decodes to (a prefix of) the prompt
    masked = [t for t, label in zip(enc.input_ids, enc.labels, strict=True) if label == IGNORE_INDEX]
    assert prompt.startswith(tokenizer.decode(masked, skip_special_tokens=True).strip()[:3])


def test_truncation_is_reported(tokenizer):
    enc = encode_prompt_target(tokenizer, "word " * 50, "answer " * 50, max_length=32)
    assert enc.truncated and len(enc.input_ids) == 32 == len(enc.labels)


def test_boundary_inside_a_token_is_labelled_by_characters():
    """Where the tokenizer merges across the prompt/target boundary, the prompt's own token count is wrong;
    the offset rule labels the merged token (it produces target characters) and nothing before it."""
    tok = load_tokenizer("tiny:llama")
    text = "How many apples does Tom have? Tom has seven apples."
    cases = 0
    for cut in range(1, len(text)):
        prompt, target = text[:cut], text[cut:]
        full = tok(text, return_offsets_mapping=True)
        alone = tok(prompt)["input_ids"]
        if full["input_ids"][: len(alone)] == alone:
            continue  # the boundary is also a token boundary here
        cases += 1
        enc = encode_prompt_target(tok, prompt, target, max_length=128, append_eos=False)
        first = next(i for i, label in enumerate(enc.labels) if label != IGNORE_INDEX)
        start, end = full["offset_mapping"][first]
        assert start < cut < end or start == cut
        assert all(label == IGNORE_INDEX for label in enc.labels[:first])
    assert cases > 0
