"""Parsing HAProxy's show stat."""

from __future__ import annotations

from heroes_infra.haproxy_stat import ready_others, servers, writer

HEADER = "# pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,dreq,dresp,ereq,econ,eresp,wretr,wredis," \
         "status,weight,act,bck,chkfail,chkdown,lastchg,downtime,qlimit,pid,iid,sid,throttle,lbtot,tracked," \
         "type,rate,rate_lim,rate_max,check_status,check_code,check_duration,hrsp_1xx,agent_status,\n"


def row(px: str, sv: str, scur: int, status: str, bck: int, weight: int = 1) -> str:
    fields = [px, sv, "0", "0", str(scur), "0", "150", "0", "0", "0", "", "", "", "0", "0", "0", "0",
              status, str(weight), str(1 - bck), str(bck), "0", "0", "5", "0", "", "1", "2", "1", "", "0", "",
              "2", "0", "", "0", "L4OK", "", "0", "", "L7OK", ""]
    return ",".join(fields) + "\n"


STAT = (HEADER + row("mysql_write", "FRONTEND", 3, "OPEN", 0)
        + row("galera_write", "db1", 2, "DRAIN", 0, 0) + row("galera_write", "db2", 1, "UP", 1)
        + row("galera_write", "db3", 0, "DOWN", 1) + row("galera_write", "BACKEND", 3, "UP", 0)
        + row("galera_read", "db1", 0, "UP", 0))


def test_servers_of_one_backend_in_order() -> None:
    result = servers(STAT, "galera_write")
    assert [s["name"] for s in result] == ["db1", "db2", "db3"]
    assert result[0] == {"name": "db1", "status": "DRAIN", "scur": 2, "backup": False, "weight": 0,
                         "check_status": "L4OK", "agent_status": "L7OK"}
    assert result[1]["backup"] is True


def test_ready_others_excludes_the_server_and_drained_or_down_ones() -> None:
    assert ready_others(STAT, "galera_write", "db1") == ["db2"]
    assert ready_others(STAT, "galera_write", "db2") == []
    assert ready_others(STAT, "galera_read", "db1") == []


def test_unknown_backend_is_empty() -> None:
    assert servers(STAT, "nope") == []
    assert servers("", "galera_write") == []


def test_writer_is_the_first_active_server_up_else_the_first_backup_up() -> None:
    # db1 (active) drained: the first backup that is UP takes the writes
    assert writer(STAT, "galera_write") == "db2"
    back = STAT.replace("galera_write,db1,0,0,2,0,150,0,0,0,,,,0,0,0,0,DRAIN,0",
                        "galera_write,db1,0,0,2,0,150,0,0,0,,,,0,0,0,0,UP,1")
    assert back != STAT
    assert writer(back, "galera_write") == "db1"
    nobody = (HEADER + row("galera_write", "db1", 0, "DOWN", 0) + row("galera_write", "db2", 0, "MAINT", 1)
              + row("galera_write", "db3", 0, "UP", 1))
    assert writer(nobody, "galera_write") == "db3"
    assert writer(nobody.replace(",UP,", ",DOWN,"), "galera_write") == ""
