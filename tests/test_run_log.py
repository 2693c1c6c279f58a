"""The one log format under every study, killed for real: a writer process gets SIGKILL at several points
while it appends, and the log reopened and completed equals an uninterrupted run's, record for record.

Records are megabytes long so that a kill often lands inside a write (the kernel stops a large write between
pages: about half of such kills left a torn tail when measured here); the deterministic torn-tail test below
pins the repair whatever the timing."""
import json
import os
import re
import signal
import subprocess
import sys
import time

import pytest

from llm_bridge.studies.run_log import KeyedLog, RunLog

N = 16
SIZE = 4_000_000
WRITER = r"""
import sys
from llm_bridge.studies.run_log import KeyedLog, RunLog
kind, path, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
log = KeyedLog(path) if kind == "keyed" else RunLog(path, {"study": "kill-test", "n": n})
for i in range(n):
    if f"r{i}" not in log.done:
        log.add({"key": f"r{i}", "i": i, "payload": "x" * (4_000_000 + 7 * i)})
"""


def record(i):
    return {"key": f"r{i}", "i": i, "payload": "x" * (SIZE + 7 * i)}


def open_log(kind, path):
    return KeyedLog(path) if kind == "keyed" else RunLog(path, {"study": "kill-test", "n": N})


def lines_of(path):
    return sum(1 for _ in open(path, "rb"))


@pytest.mark.parametrize("kind", ["keyed", "run"])
def test_a_log_killed_at_several_points_resumes_to_the_uninterrupted_records(kind, tmp_path):
    path = tmp_path / "log.jsonl"
    env = {**os.environ, "PYTHONPATH": os.getcwd() + os.pathsep + os.environ.get("PYTHONPATH", "")}
    header = 0 if kind == "keyed" else 1
    for stop_after in (2, 7, 12):                         # kill once at least this many records are down
        proc = subprocess.Popen([sys.executable, "-c", WRITER, kind, str(path), str(N)], env=env)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and proc.poll() is None:
            if path.exists() and path.stat().st_size >= stop_after * SIZE:
                break
            time.sleep(0.001)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        log = open_log(kind, path)                         # cuts a torn tail, if the kill left one
        keys = list(log.done)
        assert keys == [f"r{i}" for i in range(len(keys))]     # a prefix, every record whole
        assert all(log.done[k] == record(int(k[1:])) for k in keys)
    subprocess.run([sys.executable, "-c", WRITER, kind, str(path), str(N)], env=env, check=True)
    resumed = open_log(kind, path).done
    whole = tmp_path / "whole.jsonl"
    subprocess.run([sys.executable, "-c", WRITER, kind, str(whole), str(N)], env=env, check=True)
    assert list(resumed.items()) == list(open_log(kind, whole).done.items())
    # and on disk: one line per record, nothing glued to a torn line
    assert lines_of(path) == N + header
    assert [json.loads(l)["key"] for l in list(open(path))[header:]] == [f"r{i}" for i in range(N)]


def test_a_torn_tail_is_cut_before_the_next_append(tmp_path):
    path = tmp_path / "log.jsonl"
    KeyedLog(path).add({"key": "a"})
    with open(path, "a") as fh:
        fh.write('{"key": "b", "half')
    log = KeyedLog(path)
    log.add({"key": "c"})
    assert list(KeyedLog(path).done) == ["a", "c"]
    with pytest.raises(ValueError, match="key"):
        log.add({"nokey": 1})


@pytest.mark.parametrize("damage, fault", [('{"key": "b", "p": 0.5}\nnot json\n', "record 4 (its non-empty lines, from 1) is not JSON"),
                                           ('[1, 2]\n', "record 3 is not a JSON object"),
                                           ('{"p": 0.5}\n', "record 3 has no 'key'")])
def test_a_damaged_whole_record_names_the_file_and_the_record(tmp_path, damage, fault):
    """A whole line that is not a record (an edit, a damaged disk) ended in a bare JSONDecodeError or KeyError."""
    path = tmp_path / "log.jsonl"
    RunLog(path, {"n": 1}).add({"key": "a", "p": 0.25})
    with open(path, "a") as fh:
        fh.write(damage)
    with pytest.raises(ValueError, match=rf"RunLog: {re.escape(str(path))} {re.escape(fault)}"):
        RunLog(path, {"n": 1})


def test_another_runs_log_is_read_without_being_cut(tmp_path):
    """Decisions reused from another run were read with the cutting reader (which truncates a torn tail:
    that run may be alive, its line still being written) and parsed with a bare json.loads."""
    from llm_bridge.studies.review_experiment import Log
    source = tmp_path / "theirs.jsonl"
    KeyedLog(source).add_many([{"key": "a", "input": "d1"}, {"key": "b", "input": "d2", "reused_from": "a"}])
    with open(source, "a") as fh:
        fh.write('{"key": "c", "input": "d3", "hal')
    before = source.read_bytes()
    log = Log(tmp_path / "mine.jsonl", [source])
    assert source.read_bytes() == before                       # not cut
    assert set(log.by_input) == {"d1"}                         # whole, first-hand decisions only
    with open(source, "a") as fh:
        fh.write('": 1}\nnot json\n')                   # the tail completes: record 3
    with pytest.raises(ValueError, match=rf"reuse_decisions_from: {re.escape(str(source))} record 4 "):
        Log(tmp_path / "mine.jsonl", [source])


def test_one_reader_serves_plain_and_packed_logs_and_cuts_only_its_own(tmp_path):
    """read_records: the AfD pools, hint_values, engine_agreement and the reused decisions read through it.
    A packed log is read whole; a plain one loses its torn tail, cut off the file only where cut=True."""
    import gzip

    from llm_bridge.studies.run_log import read_records
    recs = [{"key": "a"}, {"key": "b", "p": 0.5}]
    packed = tmp_path / "log.jsonl.gz"
    with gzip.open(packed, "wt") as fh:
        fh.write("".join(json.dumps(r) + "\n\n" for r in recs))     # blank lines are not records
    assert read_records(packed, "who") == recs
    plain = tmp_path / "log.jsonl"
    plain.write_text("".join(json.dumps(r) + "\n" for r in recs) + '{"key": "c", "p')
    before = plain.read_bytes()
    assert read_records(plain, "who", cut=False) == recs and plain.read_bytes() == before
    ends_whole = tmp_path / "by_hand.jsonl"                          # whole, but no newline after the last
    ends_whole.write_text("\n".join(json.dumps(r) for r in recs))
    assert read_records(ends_whole, "who", cut=False) == recs
    assert read_records(plain, "who") == recs and plain.read_bytes() == before[:before.rindex(b"\n") + 1]
    with open(plain, "a") as fh:
        fh.write("[1]\n")
    with pytest.raises(ValueError, match=rf"^who: {re.escape(str(plain))} record 3 is not a JSON object"):
        read_records(plain, "who")
