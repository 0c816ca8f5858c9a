"""The tutorial's tables, reproduced from the committed capacity table."""

from benchmarks import tutorial_tables


def test_tutorial_tables_print_every_section_from_the_committed_table(capsys):
    assert tutorial_tables.main([]) == 0
    out = capsys.readouterr().out
    for heading in (
        "Depth sweep at width 32",
        "Width sweep at depth 3",
        "Five-combination grid",
    ):
        assert heading in out
    assert "58.2/ 53.1" in out  # the tutorial's depth-1 row, side by side
    assert "rank agreement" in out and "(Spearman)" in out
