"""The command line: one JSON result on stdout; bad input -> message on stderr, exit code 2."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from matching_engine.__main__ import main

GRAPH = {"nodes": [{"id": "1"}, {"id": "2", "offers": ["2a", "2b"]}, {"id": "9", "gift": True}],
         "arcs": [{"from": "1", "to": "2", "weight": 1.0},
                  {"from": "2", "to": "1", "offer": "2b", "weight": 3.0},
                  {"from": "9", "to": "1"}]}


def write(tmp_path, content, name="doc.json") -> str:
    path = tmp_path / name
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    return str(path)


def test_solve_prints_one_json_result(tmp_path, capsys):
    assert main(["solve", write(tmp_path, GRAPH)]) == 0
    out = capsys.readouterr().out
    result = json.loads(out)
    assert result["objective"] == 4.0 and result["optimal"] is True
    assert result["exchanges"][0]["nodes"] == ["1", "2"]


def test_flags_override_the_document(tmp_path, capsys):
    doc = dict(GRAPH, settings={"max_cycle": 3, "max_chain": 3})
    assert main(["solve", write(tmp_path, doc), "--max-cycle", "2", "--max-chain", "0",
                 "--time-limit", "5", "--compact"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["stats"]["max_cycle"] == 2 and result["stats"]["max_chain"] == 0


def test_market_document_from_stdin(monkeypatch, capsys):
    from .test_engine_market import reciprocal

    monkeypatch.setattr(sys, "stdin", __import__("io").StringIO(json.dumps(reciprocal())))
    assert main(["solve", "-"]) == 0
    assert json.loads(capsys.readouterr().out)["mode"] == "market"


@pytest.mark.parametrize(
    ("content", "args", "message"),
    [
        ("{not json", [], "not valid JSON"),
        ('{"nodes": [], "arcs": [], "x": NaN}', [], "not valid JSON"),
        ("[1, 2]", [], "must be a JSON object"),
        ({"nodes": [{"id": "1"}], "arcs": [{"from": "1", "to": "7"}]}, [], "unknown node id"),
        ({"nodes": [{"id": "1"}, {"id": "2"}], "arcs": [{"from": "1", "to": "2",
                                                        "weight": -3}]}, [], "weight"),
        ({"nodes": [{"id": "1"}, {"id": "1"}], "arcs": []}, [], "duplicate id"),
        (GRAPH, ["--max-cycle", "9"], "max_cycle must be between 2 and 6"),
        (GRAPH, ["--max-chain", "-1"], "max_chain"),
        (GRAPH, ["--time-limit", "0"], "time_limit"),
        ({"organisations": [], "currencies": [], "listings": [{"id": "1"}]}, [],
         "missing field organisation"),
    ],
)
def test_bad_input_exits_2_with_a_message(tmp_path, capsys, content, args, message):
    assert main(["solve", write(tmp_path, content), *args]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("error: ") and message in captured.err
    assert "Traceback" not in captured.err


def test_missing_file_and_bad_usage(tmp_path, capsys):
    assert main(["solve", str(tmp_path / "nope.json")]) == 2
    assert "cannot read" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        main(["solve"])
    assert exc.value.code == 2
    with pytest.raises(SystemExit) as exc:
        main(["solve", "x.json", "--max-cycle", "three"])
    assert exc.value.code == 2


def test_module_entry_point_in_a_subprocess(tmp_path):
    good = subprocess.run([sys.executable, "-m", "matching_engine", "solve",
                           write(tmp_path, GRAPH)], capture_output=True, text=True, check=False)
    assert good.returncode == 0 and json.loads(good.stdout)["objective"] == 4.0
    bad = subprocess.run([sys.executable, "-m", "matching_engine", "solve",
                          write(tmp_path, "{oops", "bad.json")], capture_output=True, text=True,
                         check=False)
    assert bad.returncode == 2 and bad.stdout == ""
    assert "error:" in bad.stderr and "Traceback" not in bad.stderr


def test_nice_out_of_range_is_refused(tmp_path, capsys):
    assert main(["solve", write(tmp_path, GRAPH), "--nice", "20"]) == 2
    assert "--nice must be between 0 and 19, not 20" in capsys.readouterr().err


@pytest.mark.skipif(not hasattr(__import__("os"), "nice"), reason="nice levels are POSIX")
def test_nice_lowers_the_process_and_its_own_session_group(tmp_path):
    """In a process that leads its own session (as the app starts it) both levels are lowered
    and reported; the document is solved as without the flag."""
    import os

    path = write(tmp_path, GRAPH)
    done = subprocess.run([sys.executable, "-m", "matching_engine", "solve", path, "--nice", "6",
                           "--compact"], capture_output=True, text=True, timeout=120,
                          start_new_session=True, check=True)
    result = json.loads(done.stdout)
    ours = os.nice(0)
    assert result["objective"] == 4.0
    assert result["stats"]["priority"]["nice"] == max(6, ours)
    grouped = os.path.exists("/proc/self/autogroup")
    assert result["stats"]["priority"]["group_nice"] == (max(6, ours) if grouped else None)


def test_nice_leaves_a_session_it_does_not_lead_alone(tmp_path):
    """Run from a terminal or a server's session, only the process itself is lowered."""
    done = subprocess.run([sys.executable, "-m", "matching_engine", "solve",
                           write(tmp_path, GRAPH), "--nice", "6", "--compact"],
                          capture_output=True, text=True, timeout=120, check=True)
    assert json.loads(done.stdout)["stats"]["priority"]["group_nice"] is None
