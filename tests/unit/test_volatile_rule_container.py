"""The lme4-spread rule for convergence messages: an outcome lme4 reaches with one rounding step of noise
passes; the same texts in another R structure (a character vector where lme4 gives a list) do not."""
from __future__ import annotations

from parity.adapter.rbuild import chr_vector, conv_messages
from parity.compare.results import ComponentResult
from parity.compare.rules import volatile_in_lme4_spread
from parity.r.values import RList

KEY = "fit@optinfo$conv$lme4$messages"
MSG = "Model is nearly unidentifiable: large eigenvalue ratio\n - Rescale variables?"


class _Spread:
    def __init__(self, runs: list[dict]) -> None:
        self.runs = runs

    def more(self) -> bool:
        return False


def _judge(py_value, run_value) -> bool:
    failed = ComponentResult(KEY, False, float("nan"), float("nan"), 0.0, 0.0, "differs")
    (res,) = volatile_in_lme4_spread([failed], {KEY: py_value}, _Spread([{KEY: run_value}]))
    return res.ok


def test_same_outcome_and_structure_passes() -> None:
    assert _judge(conv_messages([MSG]), RList(((None, chr_vector([MSG])),)))
    assert _judge(chr_vector(["Model failed to converge with max|grad| = 0.01 (tol = 0.002, component 1)"]),
                  chr_vector(["Model failed to converge with max|grad| = 0.3 (tol = 0.002, component 1)"]))


def test_same_texts_in_another_structure_fails() -> None:
    assert not _judge(chr_vector([MSG]), RList(((None, chr_vector([MSG])),)))
    assert not _judge(RList(((None, chr_vector(["x"])),)), chr_vector(["x"]))


def test_conv_messages_follows_checkhess() -> None:
    assert isinstance(conv_messages(["unable to evaluate scaled gradient", MSG]), RList)
    assert not isinstance(conv_messages(["unable to evaluate scaled gradient"]), RList)
