"""benchmarks/outside_timing.py: progress-bar redraws into step times, the quiet-machine
check from /proc/stat, peak memory, and one timed run of a stand-in command."""

from __future__ import annotations

import sys
import textwrap

import pytest


@pytest.fixture(scope="module")
def vs(benchmark_script):
    return benchmark_script("outside_timing")


def test_redraws_of_the_training_bar_only_first_arrival_kept(vs):
    chunks = [
        (0.5, "Map: 100%|██████████| 450/450 [00:01<00:00, 300 examples/s]\n"),
        (1.0, "\r  0%|          | 0/5 [00:00<?, ?it/s]"),
        (3.0, "\r 20%|██        | 1/5 [00:02<00:08,  2.00s/it]"),
        (4.0, "\r 40%|████      | 2/5 [00:03<00:0"),  # a redraw cut in two
        (4.1, "4,  1.50s/it]\r 60%|██████    | 3/"),
        (5.5, "5 [00:04<00:03,  1.40s/it]"),
        (5.6, "{'loss': 1.0}\n\r 60%|██████    | 3/5 [00:04<00:03,  1.40s/it]"),  # tqdm.write
        (7.5, "\r100%|██████████| 5/5 [00:06<00:00,  1.30s/it]"),  # 4 skipped by the bar
        (8.0, "\r 43%|████▎     | 3/7 [00:00<00:00, 9.1it/s]"),  # evaluation bar
    ]
    redraws = vs.redraw_times(chunks, total=5)
    assert redraws == {0: 1.0, 1: 3.0, 2: 4.0, 3: 5.5, 5: 7.5}


def test_a_redraw_split_inside_its_numbers_is_found_once_complete(vs):
    scanner = vs.BarScanner(total=30)
    scanner.feed(1.0, "\rstage1:  40%|████      | 1")
    assert scanner.times == {}
    scanner.feed(2.0, "2/30 [00:03<00:04]")
    assert scanner.times == {12: 2.0}


def test_step_times_drop_step_one_and_share_skipped_redraws(vs):
    steps = vs.step_times({0: 1.0, 1: 3.0, 2: 4.0, 3: 5.5, 5: 7.5})
    assert steps == pytest.approx({2: 1.0, 3: 1.5, 4: 1.0, 5: 1.0})
    # no redraw of step 1: what comes before the first redraw seen is dropped with it
    assert vs.step_times({0: 0.0, 3: 3.0, 4: 3.5}) == pytest.approx({4: 0.5})


PROC_STAT = """\
cpu  {user} 0 {system} {idle} {iowait} 0 0 0 0 0
cpu0 1 0 1 1 0 0 0 0 0 0
cpu1 1 0 1 1 0 0 0 0 0 0
intr 12345
"""


def test_busy_cores_from_proc_stat(vs):
    before = vs.parse_proc_stat(PROC_STAT.format(user=100, system=50, idle=1000, iowait=10))
    # one second on 2 CPUs at 100 jiffies/s: 200 jiffies, of which 30 busy (iowait is idle)
    after = vs.parse_proc_stat(PROC_STAT.format(user=120, system=60, idle=1160, iowait=20))
    assert before == (150, 1160, 2)
    assert vs.busy_cores(before, after) == pytest.approx(30 / 200 * 2)
    assert vs.busy_cores(after, after) == 0.0
    with pytest.raises(ValueError):
        vs.parse_proc_stat("intr 1\n")


def test_quiet_needs_the_whole_streak_below_the_threshold(vs):
    assert vs.quiet_streak_reached([0.9, 0.1, 0.1, 0.1, 0.1, 0.1], 0.2, 5)
    assert not vs.quiet_streak_reached([0.1, 0.1, 0.1, 0.3, 0.1, 0.1], 0.2, 5)
    assert not vs.quiet_streak_reached([0.1] * 4, 0.2, 5)


def test_waiting_for_quiet_gives_up_with_a_warning(vs, capsys):
    never = vs.wait_until_quiet(-1.0, 2, timeout=0.0, sleep=lambda s: None)
    assert never["quiet"] is False and "did not become quiet" in capsys.readouterr().err
    # no time passes between readings: nothing busy, quiet after the two samples
    assert vs.wait_until_quiet(0.2, 2, timeout=60, sleep=lambda s: None)["quiet"] is True


def test_cpu_description(vs):
    cpuinfo = (
        "processor\t: 0\nmodel name\t: Intel Xeon\nflags\t\t: fpu avx512_bf16 amx_bf16\n\n"
        "processor\t: 1\nmodel name\t: Intel Xeon\nflags\t\t: fpu avx512_bf16 amx_bf16\n"
    )
    info = vs.cpu_description(cpuinfo, "MemTotal:       25165824 kB\n")
    assert info == {
        "cpu": "Intel Xeon",
        "logical_cpus": 2,
        "avx512_bf16": True,
        "amx_bf16": True,
        "memory_gib": 24.0,
    }


BARS = textwrap.dedent(
    """
    import subprocess, sys, time
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(2)"])
    print("hello on stdout")
    for k in range(5):
        sys.stderr.write(f"\\rtrain: {k * 25}%|##| {k}/4 [00:00<00:00]")
        sys.stderr.flush()
        time.sleep(0.3)
    child.kill()
    """
)


def test_a_run_is_timed_from_its_progress_bar(vs, tmp_path):
    log = tmp_path / "logs" / "run.log"
    result = vs.run_one([sys.executable, "-c", BARS], {}, tmp_path / "run", 4, log, timeout=60)
    assert result["returncode"] == 0 and not result["timed_out"]
    assert sorted(result["redraw_s"]) == [0, 1, 2, 3, 4]
    assert sorted(result["step_s"]) == [2, 3, 4]
    assert all(0.2 < s < 1.5 for s in result["step_s"].values())
    assert result["peak_rss_mib"] > 1
    # the process tree: the script and its child, both a Python
    assert result["peak_tree_rss_mib"] > result["peak_rss_mib"]
    assert result["peak_tree_pss_mib"] is None, "PSS is read only when asked for"
    assert "4/4 [" in log.read_text()
    assert (tmp_path / "run" / "stdout.log").read_text() == "hello on stdout\n"


def test_peak_rss_from_the_report_of_usr_bin_time(vs):
    report = '\tCommand being timed: "python x.py"\n\tMaximum resident set size (kbytes): 7235\n'
    assert vs.time_max_rss_kib(report) == 7235
    assert vs.time_max_rss_kib("Command terminated by signal 9\n") is None


def test_a_run_past_its_timeout_is_stopped(vs, tmp_path):
    command = [sys.executable, "-c", "import time; time.sleep(60)"]
    result = vs.run_one(command, {}, tmp_path, 4, tmp_path / "run.log", timeout=0.5)
    assert result["timed_out"] and result["returncode"] != 0 and result["wall_s"] < 30


def test_the_tree_pss_is_polled_when_asked_for(vs, tmp_path):
    log = tmp_path / "run.log"
    result = vs.run_one(
        [sys.executable, "-c", BARS], {}, tmp_path / "run", 4, log, timeout=60, tree_pss=True
    )
    # shared pages counted once: below the summed RSS of the script and its child
    assert 1 < result["peak_tree_pss_mib"] < result["peak_tree_rss_mib"]
