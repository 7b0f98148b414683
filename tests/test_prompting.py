"""The ground floor's prompt building agrees with TRL's, which the SFT stage trains with."""

from __future__ import annotations

import pytest
from PIL import Image
from trl.data_utils import prepare_multimodal_messages

from persona_bench.prompting import prompt_completion, structured_messages

IMAGE = Image.new("RGB", (4, 4))
CASES = [
    ([{"role": "user", "content": "Who is this person?"}], [IMAGE]),
    ([{"role": "user", "content": "Who is this person?"}], []),
    ([{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Q?"},
      {"role": "assistant", "content": "A."}], [IMAGE, IMAGE]),
]


@pytest.mark.parametrize(("messages", "images"), CASES)
def test_structured_messages_match_trl(messages, images):
    assert structured_messages(messages, images) == prepare_multimodal_messages(messages, images)


def test_prompt_completion_splits_off_the_answer():
    turns = [{"role": "user", "content": "Q?"}, {"role": "assistant", "content": "A."}]
    assert prompt_completion(turns) == {"prompt": turns[:1], "completion": turns[1:]}
    with pytest.raises(ValueError, match="must end with the assistant's answer"):
        prompt_completion(turns[:1])
