"""Cluster: machines, leader, members, stats, version, health."""

import re

import pytest

import etcdc


def test_machines(client, endpoint):
    assert client.machines == [endpoint]


def test_members_and_leader(client, endpoint):
    members = client.members
    assert len(members) == 1
    (mid, m), = members.items()
    assert m["id"] == mid and re.fullmatch(r"[0-9a-f]+", mid)
    assert m["name"] == "n1"
    assert m["clientURLs"] == [endpoint]
    assert m["peerURLs"] and m["peerURLs"][0].startswith("http://127.0.0.1:")
    leader = client.leader
    assert leader == m
    assert set(leader) == {"id", "name", "peerURLs", "clientURLs"}


def test_stats(client):
    s = client.stats
    assert s["name"] == "n1" and s["state"] == "StateLeader"
    assert s["leaderInfo"]["leader"] == s["id"]
    ls = client.leader_stats
    assert ls["leader"] == s["id"] and ls["followers"] == {}
    st = client.store_stats
    assert "getsSuccess" in st and "watchers" in st


def test_version_and_health(client):
    assert re.fullmatch(r"3\.\d+\.\d+", client.version)
    assert re.fullmatch(r"3\.\d+\.\d+", client.cluster_version)
    assert client.health is True


def test_member_update_and_remove(client):
    (mid, m), = client.members.items()
    client.update_member(mid, m["peerURLs"])  # the same URLs: a no-op change
    assert client.members[mid]["peerURLs"] == m["peerURLs"]
    with pytest.raises(etcdc.EtcdKeyNotFound) as ei:  # python-etcd: any 404
        client.remove_member("123456789abcdef")  # no such member
    # The payload has etcd's own words (etcdc_error.server_message).
    assert ei.value.payload["status"] == 404
    assert ei.value.payload["message"].startswith("No such member")
    assert ei.value.status == etcdc._lib.ERR_HTTP_STATUS
    with pytest.raises(etcdc.EtcdInvalidArgument):
        client.remove_member("not hex")
