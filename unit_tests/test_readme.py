"""The README's tables are printed from the code; this keeps them from drifting apart."""

from pathlib import Path

from tools.readme_tables import config_table, permission_table, stream_table

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()


def test_readme_has_the_current_config_table() -> None:
    assert config_table() in README


def test_readme_has_the_current_stream_table() -> None:
    assert stream_table() in README


def test_readme_has_the_current_permission_table() -> None:
    assert permission_table() in README
