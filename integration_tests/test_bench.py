"""The benchmark itself: small runs through the real entry point count what they should (a first
load, one beside the merchant's own traffic, two incremental syncs with changes between,
across API versions, and balance transactions that settle as the emulator's clock moves on).

They run over HTTPS, as the bench does by default: the connector trusts the emulator's CA
through REQUESTS_CA_BUNDLE alone.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from tools.bench import (
    BASIL,
    OLD_VERSION,
    SETTLING_YEARS,
    STATUS_AS_TRUTH,
    Goal,
    Scenario,
    beside_other,
    next_noon,
    run,
    summary,
    versions_scenarios,
)


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


def test_a_small_run_beside_the_merchant_reports_its_refusals_and_the_sync_s_share(
        tmp_path: Path) -> None:
    scenario = Scenario("tiny-merchant", {"customers": 300}, "sk_live_emulator", "5",
                        merchant_rps=20, note="a smoke run beside the merchant",
                        goals=(Goal("merchant_refused_share", 0.01, True, "refused <= 1 %"),))
    result = run(scenario, tmp_path)
    assert result["exit"] == 0 and result["unique"] == result["expected"] == 300
    # A live key's default share: half of one endpoint's limit, in records of full pages.
    assert result["share"] == 0.5 and result["ceiling"] == 1250.0
    assert int(result["merchant_requests"]) > 0  # type: ignore[call-overload]
    assert result["merchant_refused_share"] == 0.0
    # The connector's last line says how long it slowed (not at all here).
    assert result["slowed_s"] == 0.0 and str(result["sync_done"]).startswith("Sync done:")
    line = summary(scenario, result)
    assert "merchant refused 0 of" in line and "goal refused <= 1 %: met" in line, line


def test_two_small_incremental_syncs_count_the_second_s_requests_and_every_change(
        tmp_path: Path) -> None:
    scenario = Scenario("tiny-changes", {"customers": 6, "products": 6}, "sk_test_emulator", "5",
                        incremental=True, changes=20, changed=("customers", "products"),
                        goals=(Goal("changes_missing", 0, True, "every change arrives"),))
    result = run(scenario, tmp_path)
    assert result["first_exit"] == 0 and result["exit"] == 0 and not result["errors"]
    assert result["streams"] == 2 and result["changes"] == 20
    assert int(result["changes_checked"]) > 0 and result["changes_missing"] == 0  # type: ignore[call-overload]
    assert result["streams_equal_truth"] == 2
    by_kind = result["second_by_kind"]
    assert isinstance(by_kind, dict) and by_kind.get("event pages", 0) >= 1
    assert sum(by_kind.values()) == result["second_requests"]
    assert "goal every change arrives: met" in summary(scenario, result)


def test_small_syncs_across_versions_fetch_again_only_what_another_version_rendered(
        tmp_path: Path) -> None:
    scenarios = {s.name: replace(s, counts={"customers": 8, "charges": 8}, key="sk_test_emulator",
                                 latency="5", changes=30, extra_config={
                                     k: v for k, v in s.extra_config.items() if k != "rate_share"})
                 for s in versions_scenarios()}
    account, pinned = scenarios["versions-account"], scenarios["versions-pinned"]
    mine = run(account, tmp_path)
    # The account at basil read in its own version: every change as its event rendered it.
    assert mine["exit"] == 0 and mine["changes_missing"] == 0 and mine["second_other_shape"] == 0
    assert mine["second_retrieves"] == 0 and set(mine["second_by_version"]) == {BASIL}  # type: ignore[arg-type]
    assert mine["change_events_by_version"] == {BASIL: mine["change_events"]}
    # Pinned to 2024-06-20: each changed object fetched again, in the pinned version's shape.
    other = run(pinned, tmp_path)
    other.update(beside_other(pinned, other, [mine]))
    assert other["exit"] == 0 and other["changes_missing"] == 0
    assert other["second_other_shape"] == 0 and set(other["second_by_version"]) == {OLD_VERSION}  # type: ignore[arg-type]
    assert int(other["second_retrieves"]) >= 1  # type: ignore[call-overload]
    assert other["requests_ratio"] == round(
        int(other["second_requests"]) / int(mine["second_requests"]), 2)  # type: ignore[call-overload]
    line = summary(pinned, other)
    assert "beside versions-account: requests" in line and "MISSED" not in line, line


def test_small_settling_syncs_count_the_transactions_that_turned_available(
        tmp_path: Path) -> None:
    scenario = Scenario("tiny-settling", {"balance_transactions": 80}, "sk_test_emulator", "5",
                        incremental=True, years=SETTLING_YEARS, clock_days=(1.0, 7.0),
                        goals=STATUS_AS_TRUTH)
    result = run(scenario, tmp_path)
    assert result["exit"] == 0 and not result["errors"]
    assert int(result["first_pending"]) > 0 and result["first_equal_truth"] is True  # type: ignore[call-overload]
    # From a Wednesday's noon a day on crosses a business day's midnight: some settle, then all.
    assert int(result["second_settled"]) > 0 and result["third_pending"] == 0  # type: ignore[call-overload]
    for name in ("second", "third"):
        assert result[f"{name}_to_available"] == result[f"{name}_settled"]
        assert result[f"{name}_status_differs"] == 0 and result[f"{name}_equal_truth"] is True
        assert int(result[f"{name}_list_pages"]) >= 1  # type: ignore[call-overload]
    line = summary(scenario, result)
    assert "third sync" in line and "MISSED" not in line and "met" in line, line


def test_the_settling_clock_starts_on_the_next_wednesday_noon() -> None:
    wednesday_noon = 1_796_817_600  # 2026-12-09T12:00:00Z
    assert next_noon(wednesday_noon, 2) == wednesday_noon
    assert next_noon(wednesday_noon - 4 * 86_400, 2) == wednesday_noon  # the Saturday before
    assert next_noon(wednesday_noon + 1, 2) == wednesday_noon + 7 * 86_400
