"""The SFT loss projects the answer positions only, on the CPU too.

TRL's fused LM head (`trl.trainer.utils.add_fused_lm_head`) gives the loss the per-token
log-probabilities of the labelled positions. On Triton devices it projects those positions
only; elsewhere it projects every position and zeroes the unlabelled ones afterwards (a fixed
tile shape spares devices such as Neuron a recompile per batch). A CPU compiles nothing, and
there the full projection costs the most: a persona-bench prompt is some 35 (portrait) to 70
(description) tokens for an answer of 2 to 5, and the softmax statistics over the vocabulary
are folded in eager torch ops. Loss, gradients and logged metrics are the same either way (the
unlabelled positions are zero in both); `bench/bench_pretrain.py` measures the step time.
"""

from __future__ import annotations

import torch
import trl.trainer.utils as trl_utils

_MARK = "persona_bench_answer_positions"


def project_answer_positions_on_cpu() -> bool:
    """Make TRL's fused LM head take its labelled-positions-only path on the CPU as well.

    Idempotent. Returns False, changing nothing, when the installed TRL has no such switch
    (a release that moved it trains as before, only slower on the CPU)."""
    chooser = getattr(trl_utils, "_use_triton", None)
    if chooser is None:
        return False
    if getattr(chooser, _MARK, False):
        return True

    def compact(device: torch.device) -> bool:
        return device.type == "cpu" or chooser(device)

    setattr(compact, _MARK, True)
    trl_utils._use_triton = compact
    return True
