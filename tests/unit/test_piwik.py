"""heroes_infra.piwik: where the move off the Piwik names stands, its statements and its checks."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import pytest

from heroes_infra import piwik

TABLES = ["piwik_log_visit", "piwik_option", "piwik_site"]


def rows(old: Sequence[str] = (), old_views: Sequence[str] = (), new: Sequence[str] = (),
         new_views: Sequence[str] = ()) -> list[dict[str, str]]:
    out = [{"TABLE_SCHEMA": "piwik", "TABLE_NAME": t, "TABLE_TYPE": "BASE TABLE"} for t in old]
    out += [{"TABLE_SCHEMA": "piwik", "TABLE_NAME": t, "TABLE_TYPE": "VIEW"} for t in old_views]
    out += [{"TABLE_SCHEMA": "matomo", "TABLE_NAME": t, "TABLE_TYPE": "BASE TABLE"} for t in new]
    out += [{"TABLE_SCHEMA": "matomo", "TABLE_NAME": t, "TABLE_TYPE": "VIEW"} for t in new_views]
    return out


def state(found: list[dict[str, str]], config: str = "piwik", old_schema: bool = True,
          migrated: bool = False) -> dict[str, Any]:
    return piwik.state(piwik.Objects.from_rows(found, "piwik", "matomo"), "piwik_", config, "piwik",
                       "matomo", old_schema, migrated)


def test_nothing_done_yet_is_legacy_with_every_table_to_view_and_move() -> None:
    s = state(rows(old=TABLES))
    assert (s["state"], s["to_view"], s["to_move"]) == ("legacy", TABLES, TABLES)


def test_views_made_or_the_config_switched_is_bridged() -> None:
    assert state(rows(old=TABLES, new_views=TABLES[:1]))["state"] == "bridged"
    s = state(rows(old=TABLES, new_views=TABLES), config="matomo")
    assert (s["state"], s["to_view"]) == ("bridged", [])


def test_tables_moved_with_the_views_aside_is_moved_until_the_clean_up() -> None:
    aside = [piwik.VIEW_PREFIX + t for t in TABLES]
    s = state(rows(new=TABLES, new_views=aside), config="matomo", migrated=True)
    assert (s["state"], s["stray_views"]) == ("moved", aside)
    # stopped between the RENAME and the marker: the old database and the views tell
    assert state(rows(new=TABLES, new_views=aside), config="matomo")["state"] == "moved"
    assert state(rows(new=TABLES), config="matomo", old_schema=False, migrated=True)["state"] == "done"


def test_a_matomo_that_never_was_piwik_is_none_even_with_the_old_prefix() -> None:
    assert state(rows(new=TABLES), config="matomo", old_schema=False)["state"] == "none"
    assert state(rows(), config="", old_schema=False)["state"] == "none"


def test_a_table_in_both_databases_is_a_conflict() -> None:
    s = state(rows(old=TABLES, new=TABLES[1:2]))
    assert (s["state"], s["conflicts"]) == ("conflict", ["piwik_option"])


def test_tables_without_the_prefix_stay_and_are_named() -> None:
    s = state(rows(old=[*TABLES, "wiki_pages"]))
    assert (s["to_move"], s["others"]) == (TABLES, ["wiki_pages"])


def test_the_swap_is_one_statement_views_aside_then_tables_in() -> None:
    sql = piwik.swap_statement("piwik", "matomo", ["piwik_site", "piwik_option"])
    assert sql == ("RENAME TABLE `matomo`.`piwik_site` TO `matomo`.`__piwik_view_piwik_site`, "
                   "`piwik`.`piwik_site` TO `matomo`.`piwik_site`, "
                   "`matomo`.`piwik_option` TO `matomo`.`__piwik_view_piwik_option`, "
                   "`piwik`.`piwik_option` TO `matomo`.`piwik_option`")
    with pytest.raises(ValueError):
        piwik.swap_statement("piwik", "matomo", [])


def test_views_and_names_are_quoted() -> None:
    assert piwik.view_statements("piwik", "matomo", ["a`b"]) == [
        "CREATE OR REPLACE SQL SECURITY DEFINER VIEW `matomo`.`a``b` AS SELECT * FROM `piwik`.`a``b`"]
    dropped = piwik.drop_views_statement("matomo", ["__piwik_view_x"])
    assert dropped == "DROP VIEW IF EXISTS `matomo`.`__piwik_view_x`"


def test_counts_and_checksums_are_measured_per_table() -> None:
    assert piwik.counts_statement(["piwik_site"], "piwik") == (
        "SELECT 'piwik_site' AS name, COUNT(*) AS n FROM `piwik`.`piwik_site`")
    measured = piwik.measure([[{"name": "piwik_site", "n": 2}],
                              [{"Table": "piwik.piwik_site", "Checksum": 77}]])
    assert measured == {"piwik_site": {"rows": 2, "checksum": 77}}


def measure(**tables: tuple[int, int]) -> dict[str, dict[str, int]]:
    return {name: {"rows": rows, "checksum": checksum} for name, (rows, checksum) in tables.items()}


def test_compare_accepts_the_same_rows_and_rows_the_tracker_added() -> None:
    before = measure(piwik_site=(2, 5), piwik_log_visit=(10, 7))
    after = measure(piwik_site=(2, 5), piwik_log_visit=(13, 9))
    assert piwik.compare(before, after, "piwik_") == {
        "same": ["piwik_site"], "grown": {"piwik_log_visit": 3}, "problems": []}


@pytest.mark.parametrize(("after", "problem"), [
    (measure(piwik_site=(2, 6), piwik_log_visit=(10, 7)),
     "piwik_site: 2 rows (checksum 5) before, 2 (checksum 6)"),
    (measure(piwik_site=(2, 5), piwik_log_visit=(9, 7)), "piwik_log_visit: 10 rows"),
    (measure(piwik_log_visit=(10, 7)), "piwik_site: not in the new database"),
])
def test_compare_refuses_a_changed_table_the_tracker_does_not_write_lost_rows_and_a_missing_table(
        after: dict[str, dict[str, int]], problem: str) -> None:
    before = measure(piwik_site=(2, 5), piwik_log_visit=(10, 7))
    problems = piwik.compare(before, after, "piwik_")["problems"]
    assert len(problems) == 1 and problems[0].startswith(problem)


def test_the_database_section_is_read_without_the_password() -> None:
    text = ('; <?php exit; ?> DO NOT REMOVE THIS LINE\n[database]\nhost = "10.0.0.5"\n'
            'username = "piwik"\n'
            'password = "s3cret;x"\ndbname = \'piwik\'\ntables_prefix = "piwik_"\n\n'
            '[General]\ndbname = "no"\n')
    assert piwik.ini_database(text) == {"host": "10.0.0.5", "username": "piwik", "dbname": "piwik",
                                        "tables_prefix": "piwik_"}
    assert piwik.ini_database("") == {}


class Unresolvable(Mapping[str, Any]):
    """Like Ansible's hostvars: a value may fail to resolve."""

    def __init__(self, values: dict[str, Any]) -> None:
        self.data = values

    def __getitem__(self, key: str) -> Any:
        if key == "broken_piwik_thing":
            raise RuntimeError("undefined")
        return self.data[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self.data)

    def __len__(self) -> int:
        return len(self.data)


def test_inventory_variables_naming_piwik_are_left_or_kept_and_private_ones_skipped() -> None:
    variables = Unresolvable({
        "matomo_legacy_server_names": ["piwik.example.org"],
        "stats_vhost": {"names": ["Piwik.example.org"]},
        "broken_piwik_thing": None,
        "__matomo_piwik": {"x": "piwik"},
        "ansible_host": "piwik",
        "matomo_piwik": {"database": "piwik"},
        "unrelated": "matomo",
    })
    places = piwik.inventory_places(variables, {"matomo_legacy_server_names": "old names answer"})
    assert places == [
        {"kind": "inventory variable", "name": "broken_piwik_thing", "note": "left"},
        {"kind": "inventory variable", "name": "matomo_legacy_server_names",
         "note": "kept: old names answer"},
        {"kind": "inventory variable", "name": "stats_vhost", "note": "left"},
    ]


def test_the_report_puts_what_is_left_first_and_says_when_nothing_is() -> None:
    places = [{"host": "app1", "kind": "file", "name": "/x", "note": "kept: why", "contact": "c"},
              {"host": "db1", "kind": "database", "name": "piwik", "note": "left", "contact": "d"}]
    assert piwik.report_lines(places) == ["LEFT db1 | database | piwik | contact: d",
                                          "kept app1 | file | /x | why | contact: c"]
    assert piwik.report_lines(places[:1]) == ["nothing is left named piwik",
                                              "kept app1 | file | /x | why | contact: c"]
