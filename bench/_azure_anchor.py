"""The Azure SDK's pure-Python AMQP stack (azure-servicebus ``_pyamqp``) as a bench anchor.

Usage (by bench/_bench.py, in the venv shared/peers makes): python _azure_anchor.py WORKLOAD
(its arguments as a JSON object on stdin)

Workloads, each printing one JSON line:
- ``send``: COUNT messages of 1 KiB through ``SendClient.send_message`` (its API
  waits for each outcome; it has no bulk path), wall and CPU seconds;
- ``receive``: COUNT messages through ``ReceiveClient.receive_message_batch``,
  each accepted (receive-settle-mode first);
- ``rtt``: COUNT send-then-receive round trips, seconds each;
- ``decode``: best-of µs to decode the hex-encoded message bytes and read every section.
This file runs under the Azure SDK's interpreter, so it imports neither amqp10 nor _bench.
"""

from __future__ import annotations

import importlib
import json
import sys
import time
import timeit
from typing import Any

BODY = b"x" * 1024


def _pyamqp(name: str = "") -> Any:
    """A module of the Azure SDK's _pyamqp, untyped (it ships no annotations to check)."""
    return importlib.import_module("azure.servicebus._pyamqp" + name)


def _clients(port: int, tls_ca: str | None) -> dict[str, Any]:
    class Anonymous:
        auth_type = _pyamqp(".constants").AUTH_TYPE_SASL_PLAIN  # only .sasl is asked for

        def __init__(self) -> None:
            self.sasl = _pyamqp(".authentication").SASLAnonymousCredential()

    opts: dict[str, Any] = {"auth": Anonymous(), "use_tls": tls_ca is not None,
                            "socket_timeout": 30}
    if tls_ca is not None:  # (with TLS it ignores the port in the host name)
        opts["connection_verify"] = tls_ca
        opts["custom_endpoint_address"] = f"amqps://127.0.0.1:{port}"
    return {"hostname": f"127.0.0.1:{port}", "opts": opts}


def send(port: int, address: str, count: int, tls_ca: str | None = None) -> dict[str, Any]:
    SendClient, Message = _pyamqp().SendClient, _pyamqp(".message").Message
    c = _clients(port, tls_ca)
    with SendClient(c["hostname"], address, **c["opts"]) as snd:
        snd.send_message(Message(data=[BODY]), timeout=30)  # warm: the link attached
        wall, cpu = time.perf_counter(), time.process_time()
        for _ in range(count - 1):
            snd.send_message(Message(data=[BODY]), timeout=30)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return {"wall": wall, "cpu": cpu, "count": count - 1}


def receive(port: int, address: str, count: int, tls_ca: str | None = None) -> dict[str, Any]:
    ReceiveClient = _pyamqp().ReceiveClient
    ReceiverSettleMode = _pyamqp(".constants").ReceiverSettleMode
    c = _clients(port, tls_ca)
    got = 0
    with ReceiveClient(c["hostname"], address, link_credit=1000,
                       receive_settle_mode=ReceiverSettleMode.First, **c["opts"]) as rcv:
        wall, cpu = time.perf_counter(), time.process_time()
        while got < count:
            # (a batch call waits until it has max_batch_size messages or times out)
            batch = rcv.receive_message_batch(max_batch_size=min(100, count - got), timeout=30)
            if not batch:
                raise TimeoutError(f"received {got} of {count}")
            got += len(batch)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return {"wall": wall, "cpu": cpu, "count": got}


def rtt(port: int, address: str, count: int, tls_ca: str | None = None) -> dict[str, Any]:
    SendClient, ReceiveClient = _pyamqp().SendClient, _pyamqp().ReceiveClient
    ReceiverSettleMode = _pyamqp(".constants").ReceiverSettleMode
    Message = _pyamqp(".message").Message
    c = _clients(port, tls_ca)
    times = []
    with SendClient(c["hostname"], address, **c["opts"]) as snd, \
            ReceiveClient(c["hostname"], address, link_credit=10,
                          receive_settle_mode=ReceiverSettleMode.First, **c["opts"]) as rcv:
        for _ in range(count):
            t0 = time.perf_counter()
            snd.send_message(Message(data=[BODY]), timeout=30)  # returns with the outcome
            batch = rcv.receive_message_batch(max_batch_size=1, timeout=30)
            times.append(time.perf_counter() - t0)
            if len(batch) != 1:
                raise TimeoutError("no message back")
    return {"times": times}


def decode(data_hex: str, number: int, repeat: int) -> dict[str, Any]:
    decode_payload = _pyamqp("._decode").decode_payload
    data = memoryview(bytes.fromhex(data_hex))

    def read_all() -> Any:
        m = decode_payload(data)
        return (m.header, m.delivery_annotations, m.message_annotations, m.properties,
                m.application_properties, m.data, m.footer)

    assert bytes(read_all()[5][0]) == bytes(read_all()[5][0])
    best = min(timeit.repeat(read_all, number=number, repeat=repeat)) / number * 1e6
    return {"us": best}


if __name__ == "__main__":
    workloads: dict[str, Any] = {"send": send, "receive": receive, "rtt": rtt, "decode": decode}
    result = workloads[sys.argv[1]](**json.loads(sys.stdin.read()))
    print(json.dumps(result))
