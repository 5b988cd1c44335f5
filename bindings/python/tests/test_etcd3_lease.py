"""etcdc.etcd3 leases: python-etcd3 0.12.0's lease(), Lease (revoke,
refresh, remaining_ttl, granted_ttl, keys), revoke_lease, refresh_lease,
get_lease_info; against etcd 3.4 and 3.5.1, with etcdctl 3.5.1 on the
other side."""

import time

import pytest

import etcdc.etcd3 as etcd3
import etcdc.etcd3.utils as utils


def test_lease_grant(etcd):
    lease = etcd.lease(1)

    assert isinstance(lease.ttl, int)
    assert isinstance(lease.id, int)
    assert isinstance(lease, etcd3.Lease)
    assert lease.etcd_client is etcd


def test_lease_grant_with_id(etcd):
    lease = etcd.lease(30, lease_id=0x1234ABCD)
    assert lease.id == 0x1234ABCD
    assert lease.ttl == 30
    # etcd refuses an id in use: FAILED_PRECONDITION (3.4, 3.5.1).
    with pytest.raises(etcd3.exceptions.Etcd3Exception):
        etcd.lease(30, lease_id=0x1234ABCD)
    lease.revoke()


def test_lease_revoke(etcd):
    lease = etcd.lease(1)
    lease.revoke()
    assert lease.remaining_ttl == -1
    # Again: etcd's NOT_FOUND (python-etcd3: a grpc.RpcError).
    with pytest.raises(etcd3.exceptions.RpcError) as e:
        lease.revoke()
    assert e.value.code() is etcd3.exceptions.StatusCode.NOT_FOUND


def test_lease_keys_empty(etcd):
    lease = etcd.lease(1)
    assert lease.keys == []


def test_lease_single_key(etcd):
    lease = etcd.lease(1)
    etcd.put('/doot/lease_test', 'this is a lease', lease=lease)
    assert lease.keys == [b'/doot/lease_test']


def test_lease_expire(etcd):
    key = '/doot/lease_test_expire'
    lease = etcd.lease(1)
    etcd.put(key, 'this is a lease', lease=lease)
    assert lease.keys == [utils.to_bytes(key)]
    v, _ = etcd.get(key)
    assert v == b'this is a lease'
    assert lease.remaining_ttl <= lease.granted_ttl

    # wait for the lease to expire
    time.sleep(lease.granted_ttl + 2)
    v, _ = etcd.get(key)
    assert v is None


def test_lease_refresh(etcd):
    lease = etcd.lease(10)
    responses = lease.refresh()
    assert len(responses) == 1
    assert responses[0].ID == lease.id
    assert responses[0].TTL == 10
    # refresh_lease is a generator, as python-etcd3's.
    (response,) = list(etcd.refresh_lease(lease.id))
    assert response.TTL == 10
    lease.revoke()
    # A lease that is gone: TTL 0, as etcd answers a keep-alive.
    assert lease.refresh()[0].TTL == 0


def test_lease_refresh_keeps_keys(etcd):
    lease = etcd.lease(2)
    etcd.put('/doot/kept', 'v', lease=lease)
    for _ in range(3):  # longer than the TTL
        time.sleep(1)
        lease.refresh()
    assert etcd.get('/doot/kept')[0] == b'v'
    lease.revoke()
    assert etcd.get('/doot/kept')[0] is None


def test_get_lease_info(etcd):
    lease = etcd.lease(20)
    etcd.put('/doot/a', '1', lease=lease)
    etcd.put('/doot/b', '2', lease=lease.id)
    info = etcd.get_lease_info(lease.id)
    assert info.ID == lease.id
    assert 0 < info.TTL <= 20
    assert info.grantedTTL == 20
    assert sorted(info.keys) == [b'/doot/a', b'/doot/b']
    assert info.header.revision > 0
    lease.revoke()
    info = etcd.get_lease_info(lease.id)
    assert info.TTL == -1


def test_revoke_lease_deletes_its_keys(etcd):
    lease = etcd.lease(60)
    etcd.put('/doot/r', 'v', lease=lease)
    etcd.revoke_lease(lease.id)
    assert etcd.get('/doot/r') == (None, None)


def test_put_with_missing_lease(etcd):
    with pytest.raises(etcd3.exceptions.RpcError) as e:
        etcd.put('/doot/x', 'v', lease=0x7777)
    assert e.value.code() is etcd3.exceptions.StatusCode.NOT_FOUND


def _hex(i):
    return "%x" % i


def test_etcdctl_sees_our_lease(etcd, v3_server):
    lease = etcd.lease(60)
    etcd.put('/doot/l', 'v', lease=lease)
    out = v3_server.etcdctl('-w', 'json', 'lease', 'timetolive', _hex(lease.id), '--keys')
    assert out['id'] == lease.id
    assert out['granted-ttl'] == 60
    assert 0 < out['ttl'] <= 60
    assert [etcd3.utils.to_bytes(__import__('base64').b64decode(k)) for k in out['keys']] == \
        [b'/doot/l']
    leases = v3_server.etcdctl('-w', 'json', 'lease', 'list')
    assert lease.id in [x['id'] for x in leases['leases']]
    v3_server.etcdctl('lease', 'revoke', _hex(lease.id))
    assert etcd.get('/doot/l') == (None, None)
    assert lease.remaining_ttl == -1


def test_we_use_etcdctls_lease(etcd, v3_server):
    out = v3_server.etcdctl('-w', 'json', 'lease', 'grant', '60')
    lease_id = out['ID']
    v3_server.etcdctl('put', '--lease', _hex(lease_id), '/doot/e', 'from etcdctl')
    etcd.put('/doot/p', 'from python', lease=lease_id)
    info = etcd.get_lease_info(lease_id)
    assert info.grantedTTL == 60
    assert sorted(info.keys) == [b'/doot/e', b'/doot/p']
    assert etcd.get('/doot/e')[1].lease_id == lease_id
    assert etcd3.Lease(lease_id, 60, etcd).refresh()[0].TTL == 60
    etcd.revoke_lease(lease_id)
    out = v3_server.etcdctl('-w', 'json', 'get', '--prefix', '/doot/')
    assert 'kvs' not in out
