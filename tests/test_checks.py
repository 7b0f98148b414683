"""The shared checks for input from strangers (persona_bench/checks.py)."""

from __future__ import annotations

import math

import pytest

from persona_bench.checks import (
    check_finite,
    check_sha256,
    check_text,
    contained_path,
    non_negative_int,
    parse_bool,
    printable,
    strict_json_dumps,
    strict_json_loads,
)
from persona_bench.errors import UserError


@pytest.mark.parametrize("bad", ["evil\x1b[31m", "a\u202eb", "zero\u200bwidth", "tab\there",
                                 "", "   ", 7, None])
def test_check_text_refuses_control_bidi_and_invisible(bad):
    with pytest.raises(UserError) as err:
        check_text(bad, "name")
    assert "\n" not in str(err.value) and "\x1b" not in str(err.value)


def test_check_text_refuses_look_alikes_only_when_asked():
    assert check_text("Llama 3 (8B) — LoRA", "name", single_script=True)
    assert check_text("模型 7B", "name", single_script=True)
    for look_alike in ("llаma", "ｌｌａｍａ"):  # Cyrillic a; full-width letters
        assert check_text(look_alike, "id") == look_alike
        with pytest.raises(UserError, match="writing systems|normal form"):
            check_text(look_alike, "name", single_script=True)


def test_printable_escapes_what_it_cannot_show():
    assert printable("ok\x1b[2J\u202e") == "ok\\x1b[2J\\u202e"
    assert printable("x" * 100, 10) == "x" * 10 + "..."


def test_sha256_format():
    assert check_sha256("sha256:" + "0" * 64, "hash")
    for bad in ("sha256:<b>x</b>", "sha256:" + "0" * 63, "md5:" + "0" * 64, None):
        with pytest.raises(UserError, match="is not a hash"):
            check_sha256(bad, "hash")


@pytest.mark.parametrize("word, value", [("no", False), ("OFF", False), ("0", False),
                                         ("false", False), (False, False), ("yes", True),
                                         ("on", True), ("1", True), (True, True)])
def test_parse_bool(word, value):
    assert parse_bool(word, "flag") is value


def test_parse_bool_unknown_is_an_error():
    with pytest.raises(UserError, match="flag='maybe' is not a boolean"):
        parse_bool("maybe", "flag")


def test_finite_and_strict_json():
    assert check_finite({"a": [1.0, {"b": 2}]}, "x")
    for bad in (math.nan, math.inf, -math.inf):
        with pytest.raises(UserError, match=r"x\.a\[1\]: .* not a finite number"):
            check_finite({"a": [0.5, bad]}, "x")
        with pytest.raises(ValueError):
            strict_json_dumps({"v": bad})
    for text in ('{"v": NaN}', '[Infinity]', '[-Infinity]'):
        with pytest.raises(ValueError, match="numbers must be finite"):
            strict_json_loads(text)


def test_contained_path(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "f.json").write_text("{}")
    assert contained_path(tmp_path, "sub/f.json", "m") == tmp_path / "sub" / "f.json"
    outside = tmp_path.parent / f"{tmp_path.name}-outside"
    outside.mkdir(exist_ok=True)
    (tmp_path / "link").symlink_to(outside)
    (tmp_path / "sub" / "flink.json").symlink_to(tmp_path / "sub" / "f.json")
    for bad in ("../x", "/etc/passwd", str(outside), "link/f.json", "sub/flink.json", "",
                "sub/../../x"):
        with pytest.raises(UserError, match="leaves the submission|symbolic link|relative"):
            contained_path(tmp_path, bad, "manifest results_dir")


def test_bounded_argparse_types():
    assert non_negative_int("--count")("0") == 0
    for bad, match in (("-1", "--count must be at least 0, got -1"), ("x", "not a number")):
        with pytest.raises(UserError, match=match):
            non_negative_int("--count")(bad)
