"""The run manifest's totals."""

from __future__ import annotations

from reason2decide.training.manifest import finish_manifest, total_or_none


def test_total_or_none_sums_and_gives_none_for_a_missing_value():
    assert total_or_none([1.004, 2.0]) == 3.0
    assert total_or_none([]) == 0.0
    assert total_or_none([1.0, None, 2.0]) is None


def test_finish_manifest_totals_wall_and_cpu_time_over_stages():
    manifest = {
        "stages": {
            "stage1": {"wall_time_s": 10.0, "cpu_time_s": 19.5},
            "stage2": {"wall_time_s": 30.0, "cpu_time_s": 58.25},
        }
    }
    finish_manifest(manifest, attempt_seconds=12.0)
    assert manifest["status"] == "complete" and manifest["wall_time_s"] == 40.0
    assert manifest["cpu_time_s"] == 77.75 and manifest["last_attempt_wall_time_s"] == 12.0


def test_a_stage_from_an_earlier_version_leaves_the_cpu_total_unknown():
    # a stage finished by a version that did not record CPU time, the next one by this one
    manifest = {
        "stages": {
            "stage1": {"wall_time_s": 10.0},
            "stage2": {"wall_time_s": 30.0, "cpu_time_s": 5.0},
        }
    }
    finish_manifest(manifest, attempt_seconds=30.0)
    assert manifest["wall_time_s"] == 40.0 and manifest["cpu_time_s"] is None
