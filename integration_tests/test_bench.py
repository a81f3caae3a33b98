"""The benchmark itself: a small run through the real entry point counts what it should.

It runs over HTTPS, as the bench does by default: the connector trusts the emulator's CA
through REQUESTS_CA_BUNDLE alone.
"""

from __future__ import annotations

from pathlib import Path

from tools.bench import Scenario, run, summary


def test_a_small_benchmark_run_sees_every_object_once_and_reports_its_figures(
        tmp_path: Path) -> None:
    scenario = Scenario("tiny", {"customers": 450, "prices": 120}, "sk_test_emulator", "5",
                        note="a smoke run")
    result = run(scenario, tmp_path)
    assert result["exit"] == 0 and not result["errors"]
    assert result["records"] == result["unique"] == result["expected"] == 570
    assert result["duplicates"] == 0
    assert result["ceiling"] == 2500.0  # test key: 25/s x 100, two endpoints of 25/s
    answers = result["answers"]
    assert isinstance(answers, dict) and answers["full"] >= 5  # 4 of customers, 1 of prices
    assert set(result["stream_seconds"]) == {"customers", "prices"}  # type: ignore[arg-type]
    assert float(result["startup_s"]) > 0 and float(result["shutdown_s"]) >= 0  # type: ignore[arg-type]
    assert sum(result["requests_each_second"]) == result["requests"]  # type: ignore[arg-type]
    # Every connection the connector opened was a completed handshake; it opened some, and
    # kept them for more than one request each.
    assert result["tls"] is True
    connections = int(result["connections"])  # type: ignore[call-overload]
    assert 1 <= connections < int(result["requests"])  # type: ignore[call-overload]
    assert result["tls_handshakes"] == connections
    assert f"{connections} connections (https)" in summary(scenario, result)
    assert "complete" in summary(scenario, result) and "INCOMPLETE" not in summary(scenario, result)
