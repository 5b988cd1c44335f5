"""etcdc.etcd3, keys and transactions: what python-etcd3 0.12.0 does (its
docstrings, its README and its tests/test_etcd3.py), against etcd 3.4 and
3.5.1, with etcd 3.5.1's etcdctl as the other side."""

import base64
import string

import pytest

import etcdc.etcd3 as etcd3
import etcdc.etcd3.etcdrpc as etcdrpc
import etcdc.etcd3.utils as utils

# python-etcd3 draws these with hypothesis (characters other than
# surrogates and controls); a few of each kind.
STRINGS = ["a", "doot", "é", "日本語", "🙂", " ", "~!@#$%^&*()_+{}|:\"<>?"]


def b64(s):
    return base64.b64decode(s)


def test_get_unknown_key(etcd):
    value, meta = etcd.get('probably-invalid-key')
    assert value is None
    assert meta is None


@pytest.mark.parametrize("s", STRINGS)
def test_get_key(etcd, v3_server, s):
    v3_server.etcdctl('put', '/doot/a_key', s)
    returned, _ = etcd.get('/doot/a_key')
    assert returned == s.encode('utf-8')


@pytest.mark.parametrize("s", STRINGS)
def test_get_random_key(etcd, v3_server, s):
    v3_server.etcdctl('put', '/doot/' + s, 'dootdoot')
    returned, _ = etcd.get('/doot/' + s)
    assert returned == b'dootdoot'


def test_get_key_serializable(etcd, v3_server):
    v3_server.etcdctl('put', '/doot/s', 'v')
    returned, meta = etcd.get('/doot/s', serializable=True)
    assert returned == b'v'
    assert meta.key == b'/doot/s'


def test_get_have_cluster_revision(etcd, v3_server):
    v3_server.etcdctl('put', '/doot/x', 'dootdoot')
    _, md = etcd.get('/doot/x')
    assert md.response_header.revision > 0


def test_get_metadata(etcd):
    r1 = etcd.put('/doot/m', 'a')
    r2 = etcd.put('/doot/m', 'b')
    lease = etcd.lease(30)
    etcd.put('/doot/m', 'c', lease=lease)
    value, md = etcd.get('/doot/m')
    assert value == b'c'
    assert md.key == b'/doot/m'
    assert md.create_revision == r1.header.revision
    assert md.mod_revision == r2.header.revision + 1
    assert md.version == 3
    assert md.lease_id == lease.id
    assert md.response_header.revision == md.mod_revision
    assert md.response_header.cluster_id and md.response_header.member_id
    lease.revoke()


@pytest.mark.parametrize("s", STRINGS)
def test_put_key(etcd, v3_server, s):
    etcd.put('/doot/put_1', s)
    out = v3_server.etcdctl('-w', 'json', 'get', '/doot/put_1')
    assert b64(out['kvs'][0]['value']) == s.encode('utf-8')


def test_put_has_cluster_revision(etcd):
    response = etcd.put('/doot/put_1', 'x')
    assert response.header.revision > 0
    assert isinstance(response, etcdrpc.PutResponse)


def test_put_has_prev_kv(etcd, v3_server):
    v3_server.etcdctl('put', '/doot/put_1', 'old_value')
    response = etcd.put('/doot/put_1', 'new', prev_kv=True)
    assert response.prev_kv.value == b'old_value'
    assert response.HasField('prev_kv')
    # Without prev_kv (or with, for a new key): an empty one, as protobuf's.
    response = etcd.put('/doot/put_2', 'new')
    assert response.prev_kv.value == b''
    assert not response.HasField('prev_kv')


def test_put_bytes_and_binary(etcd):
    key = b'/doot/\x00\xff\xfe'
    etcd.put(key, b'\x00\x01\xff')
    value, meta = etcd.get(key)
    assert value == b'\x00\x01\xff'
    assert meta.key == key


@pytest.mark.parametrize("s", STRINGS[:3])
def test_put_if_not_exists(etcd, v3_server, s):
    txn_status = etcd.put_if_not_exists('/doot/put_1', s)
    assert txn_status is True

    txn_status = etcd.put_if_not_exists('/doot/put_1', s)
    assert txn_status is False

    v3_server.etcdctl('del', '/doot/put_1')


def test_put_if_not_exists_with_lease(etcd):
    lease = etcd.lease(30)
    assert etcd.put_if_not_exists('/doot/pl', 'v', lease=lease) is True
    assert etcd.get('/doot/pl')[1].lease_id == lease.id
    lease.revoke()
    assert etcd.get('/doot/pl') == (None, None)


def test_delete_key(etcd, v3_server):
    v3_server.etcdctl('put', '/doot/delete_this', 'delete pls')

    v, _ = etcd.get('/doot/delete_this')
    assert v == b'delete pls'

    deleted = etcd.delete('/doot/delete_this')
    assert deleted is True

    deleted = etcd.delete('/doot/delete_this')
    assert deleted is False

    deleted = etcd.delete('/doot/not_here_dude')
    assert deleted is False

    v, _ = etcd.get('/doot/delete_this')
    assert v is None


def test_delete_has_cluster_revision(etcd):
    response = etcd.delete('/doot/delete_this', return_response=True)
    assert response.header.revision > 0
    assert response.deleted == 0


def test_delete_has_prev_kv(etcd, v3_server):
    v3_server.etcdctl('put', '/doot/delete_this', 'old_value')
    response = etcd.delete('/doot/delete_this', prev_kv=True,
                           return_response=True)
    assert response.prev_kvs[0].value == b'old_value'
    assert response.deleted == 1


def test_delete_keys_with_prefix(etcd, v3_server):
    v3_server.etcdctl('put', '/foo/1', 'bar')
    v3_server.etcdctl('put', '/foo/2', 'baz')

    v, _ = etcd.get('/foo/1')
    assert v == b'bar'

    v, _ = etcd.get('/foo/2')
    assert v == b'baz'

    response = etcd.delete_prefix('/foo')
    assert response.deleted == 2

    v, _ = etcd.get('/foo/1')
    assert v is None

    v, _ = etcd.get('/foo/2')
    assert v is None


def test_transaction_success(etcd, v3_server):
    v3_server.etcdctl('put', '/doot/txn', 'dootdoot')
    etcd.transaction(
        compare=[etcd.transactions.value('/doot/txn') == 'dootdoot'],
        success=[etcd.transactions.put('/doot/txn', 'success')],
        failure=[etcd.transactions.put('/doot/txn', 'failure')]
    )
    out = v3_server.etcdctl('-w', 'json', 'get', '/doot/txn')
    assert b64(out['kvs'][0]['value']) == b'success'


def test_transaction_failure(etcd, v3_server):
    v3_server.etcdctl('put', '/doot/txn', 'notdootdoot')
    etcd.transaction(
        compare=[etcd.transactions.value('/doot/txn') == 'dootdoot'],
        success=[etcd.transactions.put('/doot/txn', 'success')],
        failure=[etcd.transactions.put('/doot/txn', 'failure')]
    )
    out = v3_server.etcdctl('-w', 'json', 'get', '/doot/txn')
    assert b64(out['kvs'][0]['value']) == b'failure'


def test_transaction_readme(etcd):
    # python-etcd3's README example: the version compare fails on a key
    # that does not exist.
    status, responses = etcd.transaction(
        compare=[
            etcd.transactions.value('/doot/testing') == 'doot',
            etcd.transactions.version('/doot/testing') > 0,
        ],
        success=[
            etcd.transactions.put('/doot/testing', 'success'),
        ],
        failure=[
            etcd.transactions.put('/doot/testing', 'failure'),
        ]
    )
    assert status is False
    assert etcd.get('/doot/testing')[0] == b'failure'
    assert len(responses) == 1
    assert responses[0].WhichOneof('response') == 'response_put'
    assert responses[0].response_put.header.revision > 0


def test_transaction_responses(etcd):
    etcd.put('/doot/a', '1')
    etcd.put('/doot/b', '2')
    status, responses = etcd.transaction(
        compare=[etcd.transactions.create('/doot/a') > 0],
        success=[
            etcd.transactions.get('/doot/a'),
            etcd.transactions.get('/doot/', '/doot0'),
            etcd.transactions.put('/doot/c', '3', prev_kv=True),
            etcd.transactions.delete('/doot/b', prev_kv=True),
        ],
        failure=[],
    )
    assert status is True
    (value, meta), = responses[0]
    assert value == b'1' and meta.key == b'/doot/a'
    assert meta.response_header.revision > 0
    assert [v for v, _ in responses[1]] == [b'1', b'2']
    assert responses[2].response_put.header.revision > 0
    assert responses[3].response_delete_range.deleted == 1
    assert responses[3].response_delete_range.prev_kvs[0].value == b'2'
    assert etcd.get('/doot/c')[0] == b'3'


def test_transaction_compare_ops(etcd):
    r = etcd.put('/doot/k', 'b')
    rev = r.header.revision
    t = etcd.transactions
    cases = [
        (t.value('/doot/k') == 'b', True), (t.value('/doot/k') != 'b', False),
        (t.value('/doot/k') < 'c', True), (t.value('/doot/k') > 'c', False),
        (t.version('/doot/k') == 1, True), (t.version('/doot/k') > 1, False),
        (t.create('/doot/k') == rev, True), (t.create('/doot/k') < rev, False),
        (t.mod('/doot/k') == rev, True), (t.mod('/doot/k') != rev, False),
        (t.create('/doot/absent') == '0', True),
        # etcdc's addition: the lease (0: none).
        (t.lease('/doot/k') == 0, True), (t.lease('/doot/k') != 0, False),
    ]
    for compare, expected in cases:
        status, _ = etcd.transaction(compare=[compare], success=[], failure=[])
        assert status is expected, compare


def test_transaction_lease_compare(etcd):
    lease = etcd.lease(30)
    etcd.put('/doot/k', 'v', lease=lease)
    t = etcd.transactions
    assert etcd.transaction([t.lease('/doot/k') == lease], [], [])[0] is True
    assert etcd.transaction([t.lease('/doot/k') == lease.id + 1], [], [])[0] is False
    lease.revoke()


def test_nested_transactions(etcd):
    etcd.transaction(
        compare=[],
        success=[etcd.transactions.put('/doot/txn1', '1'),
                 etcd.transactions.txn(
                     compare=[],
                     success=[etcd.transactions.put('/doot/txn2', '2')],
                     failure=[])],
        failure=[]
    )
    value, _ = etcd.get('/doot/txn1')
    assert value == b'1'
    value, _ = etcd.get('/doot/txn2')
    assert value == b'2'


def test_nested_transaction_response(etcd):
    status, responses = etcd.transaction(
        compare=[],
        success=[etcd.transactions.txn(
            compare=[etcd.transactions.version('/doot/n') == 0],
            success=[etcd.transactions.put('/doot/n', 'x'),
                     etcd.transactions.get('/doot/n')],
            failure=[])],
        failure=[]
    )
    inner = responses[0].response_txn
    assert isinstance(inner, etcdrpc.TxnResponse)
    assert inner.succeeded is True
    assert inner.responses[1].response_range.kvs[0].value == b'x'


def test_transaction_range_conditions(etcd, v3_server):
    v3_server.etcdctl('put', '/doot/key1', 'dootdoot')
    v3_server.etcdctl('put', '/doot/key2', 'notdootdoot')
    range_end = utils.increment_last_byte(utils.to_bytes('/doot/'))
    compare = [etcd.transactions.value('/doot/', range_end) == 'dootdoot']
    status, _ = etcd.transaction(compare=compare, success=[], failure=[])
    assert not status
    v3_server.etcdctl('put', '/doot/key2', 'dootdoot')
    status, _ = etcd.transaction(compare=compare, success=[], failure=[])
    assert status


def test_transaction_unknown_op(etcd):
    with pytest.raises(Exception, match="Unknown request class"):
        etcd.transaction(compare=[], success=['not_transaction_type'], failure=[])


def test_transaction_compare_without_op(etcd):
    with pytest.raises(ValueError):
        etcd.transaction(compare=[etcd.transactions.value('/x')], success=[], failure=[])


def test_transaction_refused_by_etcd(etcd):
    # A key written twice in one branch: etcd's INVALID_ARGUMENT, which
    # python-etcd3 let through as a grpc.RpcError.
    with pytest.raises(etcd3.exceptions.RpcError) as e:
        etcd.transaction(compare=[], success=[etcd.transactions.put('/d', '1'),
                                              etcd.transactions.put('/d', '2')], failure=[])
    assert e.value.code() is etcd3.exceptions.StatusCode.INVALID_ARGUMENT
    assert "duplicate key" in e.value.details()


def test_replace_success(etcd):
    etcd.put('/doot/thing', 'toot')
    status = etcd.replace('/doot/thing', 'toot', 'doot')
    v, _ = etcd.get('/doot/thing')
    assert v == b'doot'
    assert status is True


def test_replace_fail(etcd):
    etcd.put('/doot/thing', 'boot')
    status = etcd.replace('/doot/thing', 'toot', 'doot')
    v, _ = etcd.get('/doot/thing')
    assert v == b'boot'
    assert status is False


def _put_many(etcd, items):
    # Many keys at once (one transaction): etcdctl per key is slow.
    etcd.transaction(compare=[], success=[etcd.transactions.put(k, v) for k, v in items],
                     failure=[])


def test_get_prefix(etcd, v3_server):
    _put_many(etcd, [('/doot/range{}'.format(i), 'i am a range') for i in range(20)])
    _put_many(etcd, [('/doot/notrange{}'.format(i), 'i am a not range') for i in range(5)])

    values = list(etcd.get_prefix('/doot/range'))
    assert len(values) == 20
    for value, _ in values:
        assert value == b'i am a range'


def test_get_prefix_keys_only(etcd):
    _put_many(etcd, [('/doot/range{}'.format(i), 'i am a range') for i in range(20)])
    _put_many(etcd, [('/doot/notrange{}'.format(i), 'i am a not range') for i in range(5)])

    values = list(etcd.get_prefix('/doot/range', keys_only=True))
    assert len(values) == 20
    for value, meta in values:
        assert meta.key.startswith(b"/doot/range")
        assert not value


def test_get_prefix_serializable(etcd):
    _put_many(etcd, [('/doot/range{}'.format(i), 'i am a range') for i in range(20)])
    values = list(etcd.get_prefix('/doot/range', keys_only=True, serializable=True))
    assert len(values) == 20


def test_get_prefix_error_handling(etcd):
    with pytest.raises(TypeError, match="Don't use "):
        etcd.get_prefix('a_prefix', range_end='end')


def test_get_prefix_ending_in_0xff(etcd):
    # python-etcd3 cannot (increment_last_byte overflows); etcdc's prefix can.
    etcd.put(b'/p\xff', '1')
    etcd.put(b'/p\xff\x01', '2')
    etcd.put(b'/q', '3')
    assert [v for v, _ in etcd.get_prefix(b'/p\xff')] == [b'1', b'2']


def test_get_range(etcd):
    _put_many(etcd, [('/doot/' + char, 'i am in range' if char < 'p' else 'i am not in range')
                     for char in string.ascii_lowercase])

    values = list(etcd.get_range('/doot/a', '/doot/p'))
    assert len(values) == 15
    for value, _ in values:
        assert value == b'i am in range'


def test_all_not_found_error(etcd):
    result = list(etcd.get_all())
    assert not result


def test_range_not_found_error(etcd):
    _put_many(etcd, [('/doot/notrange{}'.format(i), 'i am a not range') for i in range(5)])

    result = list(etcd.get_prefix('/doot/range'))
    assert not result


def test_get_all(etcd):
    _put_many(etcd, [('/doot/range{}'.format(i), 'i am in all') for i in range(20)])
    _put_many(etcd, [('/doot/notrange{}'.format(i), 'i am in all') for i in range(5)])
    values = list(etcd.get_all())
    assert len(values) == 25
    for value, _ in values:
        assert value == b'i am in all'


def test_get_all_keys_only(etcd):
    _put_many(etcd, [('/doot/range{}'.format(i), 'i am in all') for i in range(20)])
    _put_many(etcd, [('/doot/notrange{}'.format(i), 'i am in all') for i in range(5)])
    values = list(etcd.get_all(keys_only=True))
    assert len(values) == 25
    for value, meta in values:
        assert meta.key.startswith(b"/doot/")
        assert not value


def test_sort_order(etcd, v3_server):
    def remove_prefix(string, prefix):
        return string[len(prefix):]

    initial_keys = 'abcde'
    initial_values = 'qwert'

    for k, v in zip(initial_keys, initial_values):
        v3_server.etcdctl('put', '/doot/{}'.format(k), v)

    keys = ''
    for value, meta in etcd.get_prefix('/doot', sort_order='ascend'):
        keys += remove_prefix(meta.key.decode('utf-8'), '/doot/')

    assert keys == initial_keys

    reverse_keys = ''
    for value, meta in etcd.get_prefix('/doot', sort_order='descend'):
        reverse_keys += remove_prefix(meta.key.decode('utf-8'), '/doot/')

    assert reverse_keys == ''.join(reversed(initial_keys))


def test_sort_targets(etcd):
    etcd.put('/doot/a', 'z')
    etcd.put('/doot/b', 'y')
    etcd.put('/doot/c', 'x')
    etcd.put('/doot/a', 'z2')  # a: the highest mod revision and version
    by_value = [m.key for _, m in etcd.get_prefix('/doot/', sort_order='ascend',
                                                  sort_target='value')]
    assert by_value == [b'/doot/c', b'/doot/b', b'/doot/a']
    by_mod = [m.key for _, m in etcd.get_prefix('/doot/', sort_order='descend',
                                                sort_target='mod')]
    assert by_mod[0] == b'/doot/a'
    by_create = [m.key for _, m in etcd.get_all(sort_order='descend', sort_target='create')]
    assert by_create == [b'/doot/c', b'/doot/b', b'/doot/a']
    by_version = [m.key for _, m in etcd.get_range('/doot/a', '/doot/z', sort_order='descend',
                                                   sort_target='version')]
    assert by_version[0] == b'/doot/a'


def test_bad_sort_arguments(etcd):
    with pytest.raises(ValueError):
        list(etcd.get_prefix('/doot', sort_order='feelsbadman'))
    with pytest.raises(ValueError):
        list(etcd.get_prefix('/doot', sort_target='feelsbadman'))


def test_range_limit_and_revision(etcd):
    # python-etcd3 0.12.0 accepts limit and revision and ignores them;
    # etcdc sends them.
    r1 = etcd.put('/doot/a', '1').header.revision
    etcd.put('/doot/a', '2')
    etcd.put('/doot/b', '3')
    response = etcd.get_prefix_response('/doot/', limit=1)
    assert response.count == 2 and response.more is True and len(response.kvs) == 1
    assert [v for v, _ in etcd.get_prefix('/doot/', revision=r1)] == [b'1']


def test_get_response(etcd, v3_server):
    v3_server.etcdctl('put', '/foo/key1', 'value1')
    v3_server.etcdctl('put', '/foo/key2', 'value2')
    response = etcd.get_response('/foo/key1')
    assert response.header.revision > 0
    assert response.count == 1
    assert response.kvs[0].key == b'/foo/key1'
    assert response.kvs[0].value == b'value1'
    response = etcd.get_prefix_response('/foo/', sort_order='ascend')
    assert response.header.revision > 0
    assert response.count == 2
    assert response.kvs[0].key == b'/foo/key1'
    assert response.kvs[0].value == b'value1'
    assert response.kvs[1].key == b'/foo/key2'
    assert response.kvs[1].value == b'value2'
    # Test that the response header is accessible even when the
    # requested key or range of keys does not exist
    v3_server.etcdctl('del', '--prefix', '/foo/')
    response = etcd.get_response('/foo/key1')
    assert response.count == 0
    assert response.header.revision > 0
    response = etcd.get_prefix_response('/foo/')
    assert response.count == 0
    assert response.header.revision > 0
    response = etcd.get_range_response('/foo/key1', '/foo/key3')
    assert response.count == 0
    assert response.header.revision > 0
    response = etcd.get_all_response()
    assert response.count == 0
    assert response.header.revision > 0


def test_etcdctl_sees_binary_and_lease(etcd, v3_server):
    lease = etcd.lease(60)
    etcd.put(b'/bin', b'\x00\xff', lease=lease)
    out = v3_server.etcdctl('-w', 'json', 'get', '/bin')
    kv = out['kvs'][0]
    assert b64(kv['key']) == b'/bin'
    assert b64(kv['value']) == b'\x00\xff'
    assert kv['lease'] == lease.id
    lease.revoke()


def test_empty_key_refused(etcd):
    with pytest.raises(etcd3.exceptions.RpcError) as e:
        etcd.put('', 'x')
    assert e.value.code() is etcd3.exceptions.StatusCode.INVALID_ARGUMENT


def test_bad_types(etcd):
    with pytest.raises(TypeError):
        etcd.put('/x', 1)
    with pytest.raises(TypeError):
        etcd.get(None)


class TestUtils(object):
    def test_increment_last_byte(self):
        assert etcd3.utils.increment_last_byte(b'foo') == b'fop'

    def test_to_bytes(self):
        assert isinstance(etcd3.utils.to_bytes(b'doot'), bytes) is True
        assert isinstance(etcd3.utils.to_bytes('doot'), bytes) is True
        assert etcd3.utils.to_bytes(b'doot') == b'doot'
        assert etcd3.utils.to_bytes('doot') == b'doot'

    def test_lease_to_id(self):
        assert etcd3.utils.lease_to_id(etcd3.Lease(7, 10)) == 7
        assert etcd3.utils.lease_to_id(8) == 8
        assert etcd3.utils.lease_to_id(None) == 0


class TestCompares(object):

    def test_compare_version(self):
        key = 'key'
        tx = etcd3.Transactions()

        version_compare = tx.version(key) == 1
        assert version_compare.op == etcdrpc.Compare.EQUAL

        version_compare = tx.version(key) != 2
        assert version_compare.op == etcdrpc.Compare.NOT_EQUAL

        version_compare = tx.version(key) < 91
        assert version_compare.op == etcdrpc.Compare.LESS

        version_compare = tx.version(key) > 92
        assert version_compare.op == etcdrpc.Compare.GREATER
        assert version_compare.build_message().target == \
            etcdrpc.Compare.VERSION

    def test_compare_value(self):
        key = 'key'
        tx = etcd3.Transactions()

        value_compare = tx.value(key) == 'b'
        assert value_compare.op == etcdrpc.Compare.EQUAL

        value_compare = tx.value(key) != 'b'
        assert value_compare.op == etcdrpc.Compare.NOT_EQUAL

        value_compare = tx.value(key) < 'b'
        assert value_compare.op == etcdrpc.Compare.LESS

        value_compare = tx.value(key) > 'b'
        assert value_compare.op == etcdrpc.Compare.GREATER
        assert value_compare.build_message().target == etcdrpc.Compare.VALUE

    def test_compare_mod(self):
        key = 'key'
        tx = etcd3.Transactions()

        mod_compare = tx.mod(key) == -100
        assert mod_compare.op == etcdrpc.Compare.EQUAL

        mod_compare = tx.mod(key) != -100
        assert mod_compare.op == etcdrpc.Compare.NOT_EQUAL

        mod_compare = tx.mod(key) < 19
        assert mod_compare.op == etcdrpc.Compare.LESS

        mod_compare = tx.mod(key) > 21
        assert mod_compare.op == etcdrpc.Compare.GREATER
        assert mod_compare.build_message().target == etcdrpc.Compare.MOD

    def test_compare_create(self):
        key = 'key'
        tx = etcd3.Transactions()

        create_compare = tx.create(key) == 10
        assert create_compare.op == etcdrpc.Compare.EQUAL

        create_compare = tx.create(key) != 10
        assert create_compare.op == etcdrpc.Compare.NOT_EQUAL

        create_compare = tx.create(key) < 155
        assert create_compare.op == etcdrpc.Compare.LESS

        create_compare = tx.create(key) > -12
        assert create_compare.op == etcdrpc.Compare.GREATER
        assert create_compare.build_message().target == etcdrpc.Compare.CREATE

    def test_compare_repr(self):
        tx = etcd3.Transactions()
        assert "==" in repr(tx.value('k') == 'v')
        assert "[a, b)" in repr(tx.version('a', 'b') > 1)
