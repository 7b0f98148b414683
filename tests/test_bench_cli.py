from persona_bench.cli import COMMANDS, main


def test_unknown_command(capsys):
    assert main(["frobnicate"]) == 2
    assert "unknown command 'frobnicate'" in capsys.readouterr().err


def test_help_lists_every_command(capsys):
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    assert all(name in out for name in COMMANDS)
    assert set(COMMANDS) >= {"gen", "push", "inspect", "tiny-vlm", "train", "eval",
                             "leaderboard", "run", "demo"}
