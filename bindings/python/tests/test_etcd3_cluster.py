"""etcdc.etcd3, cluster and maintenance: python-etcd3 0.12.0's members,
add_member / remove_member / update_member, Member, status, hash, compact,
defragment, snapshot, create_alarm / list_alarms / disarm_alarm; against
etcd 3.4 and 3.5.1 (etcdctl 3.5.1 checks the snapshot)."""

import io
import os
import time

import pytest

import etcdc.etcd3 as etcd3
from etcdc.etcd3 import etcdrpc


def test_member_list(etcd, v3_server):
    members = list(etcd.members)
    assert len(members) == 1
    for member in etcd.members:
        assert isinstance(member, etcd3.Member)
        assert member.name == 'n1'
        assert member.peer_urls == [v3_server.peer_url]
        assert member.client_urls == [v3_server.url]
        assert isinstance(member.id, int) is True
        assert str(member) == 'Member {}: peer urls: {}, client urls: {}'.format(
            member.id, member.peer_urls, member.client_urls)


def test_members_is_a_generator(etcd):
    gen = etcd.members
    assert next(gen).name == 'n1'


def test_status_member(etcd, v3_server):
    status = etcd.status()

    assert isinstance(status.leader, etcd3.Member) is True
    assert status.leader.id in [m.id for m in etcd.members]
    assert status.version.startswith(v3_server.version + '.')
    assert status.db_size > 0
    assert status.raft_index > 0
    assert status.raft_term > 0


def test_hash(etcd):
    assert isinstance(etcd.hash(), int)


def test_compact(etcd):
    revision = etcd.put('/doot/c', 'x').header.revision
    etcd.compact(revision)
    # Again: etcd's OUT_OF_RANGE (python-etcd3: a grpc.RpcError).
    with pytest.raises(etcd3.exceptions.RpcError) as e:
        etcd.compact(revision)
    assert e.value.code() is etcd3.exceptions.StatusCode.OUT_OF_RANGE
    assert "compacted" in e.value.details()
    # Reading a compacted revision: the same.
    with pytest.raises(etcd3.exceptions.RpcError):
        list(etcd.get_prefix('/doot/', revision=revision - 1))
    etcd.compact(etcd.put('/doot/c', 'y').header.revision, physical=True)


def test_defragment(etcd):
    etcd.defragment()
    assert etcd.get('/nothing') == (None, None)


def test_snapshot(etcd, v3_server, tmp_path):
    etcd.put('/doot/snap', 'v')
    path = str(tmp_path / "snap.db")
    with open(path, 'wb') as f:
        etcd.snapshot(f)
    out = v3_server.etcdctl('-w', 'json', 'snapshot', 'status', path)
    assert out['totalKey'] >= 1
    assert os.path.getsize(path) > 0


def test_snapshot_write_error_is_raised(etcd):
    class Broken(io.RawIOBase):
        def write(self, b):
            raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        etcd.snapshot(Broken())


def test_no_alarms(etcd):
    assert list(etcd.list_alarms()) == []
    assert etcd.disarm_alarm() == []
    with pytest.raises(ValueError):
        list(etcd.list_alarms(alarm_type='fire'))


def test_create_alarm(v3_etcds, etcd_version):
    """create_alarm() raises NOSPACE (member 0 by default, as python-etcd3
    sends): puts refused, reads go on, until disarm_alarm(). On an etcd of
    its own: the shared one must keep taking writes."""
    server = v3_etcds.start(etcd_version).wait_ready()
    try:
        with etcd3.client(host=server.host, port=server.port, timeout=10) as etcd:
            etcd.put('/before', 'x')
            raised = etcd.create_alarm()
            assert [(a.alarm_type, a.member_id) for a in raised] == [(etcdrpc.NOSPACE, 0)]
            member = next(etcd.members)
            raised = etcd.create_alarm(member.id)
            assert [(a.alarm_type, a.member_id) for a in raised] == [(etcdrpc.NOSPACE, member.id)]
            listed = sorted((a.alarm_type, a.member_id) for a in etcd.list_alarms())
            assert listed == sorted([(etcdrpc.NOSPACE, 0), (etcdrpc.NOSPACE, member.id)])
            with pytest.raises(etcd3.exceptions.RpcError) as e:
                etcd.put('/during', 'x')
            assert e.value.code() is etcd3.exceptions.StatusCode.RESOURCE_EXHAUSTED
            assert etcd.get('/before')[0] == b'x'
            assert [a.member_id for a in etcd.disarm_alarm()] == [0]
            assert [a.member_id for a in etcd.disarm_alarm(member.id)] == [member.id]
            assert list(etcd.list_alarms()) == []
            etcd.put('/after', 'x')
    finally:
        server.stop()


def test_nospace_alarm(v3_etcds, etcd_version):
    """etcd raises NOSPACE itself when its quota is reached: list_alarms,
    Member.active_alarms, disarm_alarm."""
    server = v3_etcds.start(etcd_version, extra=["--quota-backend-bytes=262144"]).wait_ready()
    try:
        with etcd3.client(host=server.host, port=server.port, timeout=10) as etcd:
            # etcd checks the quota against its file's size, which grows when
            # it commits (every 100 ms): write until it refuses.
            with pytest.raises(etcd3.exceptions.RpcError) as e:
                for i in range(100):
                    etcd.put('/big%d' % i, 'x' * 100000)
                    time.sleep(0.05)
            assert e.value.code() is etcd3.exceptions.StatusCode.RESOURCE_EXHAUSTED
            member = next(etcd.members)
            alarms = list(etcd.list_alarms())
            assert [(a.alarm_type, a.member_id) for a in alarms] == [(etcdrpc.NOSPACE, member.id)]
            assert len(list(etcd.list_alarms(alarm_type='no space'))) == 1
            assert [a.member_id for a in member.active_alarms] == [member.id]
            etcd.delete_prefix('/big')
            etcd.compact(etcd.get_response('/x').header.revision, physical=True)
            etcd.defragment()
            disarmed = etcd.disarm_alarm(member.id)
            assert [(a.alarm_type, a.member_id) for a in disarmed] == [(etcdrpc.NOSPACE, member.id)]
            assert list(etcd.list_alarms()) == []
            etcd.put('/ok', 'writes again')
    finally:
        server.stop()


def test_add_update_remove_member(v3_etcds, etcd_version):
    """On a 2-member cluster of its own: add a member (never started: the
    2 running ones keep the quorum of 3), update its peer URLs, remove it
    (python-etcd3's add_member, update_member, Member.remove)."""
    from conftest import _free_ports

    ports = _free_ports(5)
    peers = 'n1=http://127.0.0.1:%d,n2=http://127.0.0.1:%d' % (ports[2], ports[3])
    servers = []
    try:
        servers = [v3_etcds.start(etcd_version, name=n, client_port=ports[i],
                                  peer_port=ports[2 + i], initial_cluster=peers)
                   for i, n in enumerate(['n1', 'n2'])]
        for server in servers:
            server.wait_ready(30)
        with etcd3.client(endpoints=[s.url for s in servers], timeout=20) as etcd:
            assert sorted(m.name for m in etcd.members) == ['n1', 'n2']
            peer_url = 'http://127.0.0.1:%d' % ports[4]
            # etcd adds a member once it has been connected to all the others
            # for 5 s; until then it refuses ("unhealthy cluster", which
            # etcdc reports as AmbiguousOutcomeError: UNAVAILABLE on a write).
            deadline = time.monotonic() + 15
            while True:
                try:
                    new = etcd.add_member([peer_url])
                    break
                except etcd3.exceptions.AmbiguousOutcomeError as e:
                    assert 'unhealthy cluster' in str(e) and time.monotonic() < deadline
                    time.sleep(0.25)
            assert isinstance(new, etcd3.Member)
            assert new.peer_urls == [peer_url]
            assert new.name == '' and new.client_urls == []
            assert new.id in [m.id for m in etcd.members]
            # A write between changes (etcd 3.5.1 may drop a change proposed
            # right after another).
            etcd.put('/x', '1')
            other_url = 'http://127.0.0.2:%d' % ports[4]
            etcd.update_member(new.id, [other_url])
            assert {m.id: m for m in etcd.members}[new.id].peer_urls == [other_url]
            etcd.put('/x', '2')
            {m.id: m for m in etcd.members}[new.id].remove()
            assert sorted(m.name for m in etcd.members) == ['n1', 'n2']
            etcd.put('/x', '3')
            with pytest.raises(etcd3.exceptions.RpcError) as e:
                etcd.remove_member(new.id)
            assert e.value.code() is etcd3.exceptions.StatusCode.NOT_FOUND
            # etcd's FAILED_PRECONDITION: python-etcd3's PreconditionFailedError.
            with pytest.raises(etcd3.exceptions.PreconditionFailedError, match="exists"):
                etcd.add_member([servers[0].peer_url])
    finally:
        for server in servers:
            server.stop()
