"""Benchmark: one hop through Redis pub/sub on this machine, the latency a tick pays between two processes.

Run by hand from the repository root, with the machine's Redis up:

    .venv/bin/python bench/redis_hop.py                  # redis-py's asyncio PubSub, as the market hub reads
    .venv/bin/python bench/redis_hop.py --reader raw     # a bare asyncio socket parsed by hiredis
    .venv/bin/python bench/redis_hop.py --redis-url redis://127.0.0.1:6379/11 --messages 2000 --every 0.004

A publisher process PUBLISHes its clock every `--every` seconds; the subscriber (this process) takes each
message's age at its read. Both on one machine, so the clocks are one. bench/README.md has the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import time

CHANNEL = "bench:hop"


def publish(url: str, messages: int, every: float, ready) -> None:
    import redis

    client = redis.Redis.from_url(url)
    ready.wait()
    time.sleep(0.3)
    for _ in range(messages):
        client.publish(CHANNEL, repr(time.time()))
        time.sleep(every)
    client.publish(CHANNEL, "end")


async def read_redis_py(url: str, ready) -> list[float]:
    """As brokers/market/hub.py reads: get_message with a timeout, then whatever else is buffered."""
    import redis.asyncio as aioredis

    client = aioredis.Redis.from_url(url)
    pubsub = client.pubsub(ignore_subscribe_messages=True)
    await pubsub.subscribe(CHANNEL)
    ready.set()
    ages = []
    while True:
        message = await pubsub.get_message(timeout=1.0)
        while message is not None:
            if message["data"] == b"end":
                await client.aclose()
                return ages
            ages.append(time.time() - float(message["data"]))
            message = await pubsub.get_message(timeout=0)


async def read_raw(url: str, ready) -> list[float]:
    """A bare asyncio socket parsed by hiredis: the least a Python subscriber can do."""
    from urllib.parse import urlparse

    import hiredis

    address = urlparse(url)
    reader, writer = await asyncio.open_connection(address.hostname or "127.0.0.1", address.port or 6379)
    database = (address.path or "/0").lstrip("/") or "0"
    writer.write(f"*2\r\n$6\r\nSELECT\r\n${len(database)}\r\n{database}\r\n"
                 f"*2\r\n$9\r\nSUBSCRIBE\r\n${len(CHANNEL)}\r\n{CHANNEL}\r\n".encode())
    parser, answers = hiredis.Reader(), 0
    while answers < 2:  # SELECT's OK and SUBSCRIBE's confirmation
        parser.feed(await reader.read(65536))
        while parser.gets() is not False:
            answers += 1
    ready.set()
    ages = []
    while True:
        parser.feed(await reader.read(65536))
        now = time.time()
        while (message := parser.gets()) is not False:
            if message[2] == b"end":
                writer.close()
                return ages
            ages.append(now - float(message[2]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reader", choices=("redis-py", "raw"), default="redis-py")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/11")
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--every", type=float, default=0.004, help="seconds between messages (0.004: 250 a second)")
    args = parser.parse_args()
    ready = multiprocessing.get_context("fork").Event()
    publisher = multiprocessing.get_context("fork").Process(
        target=publish, args=(args.redis_url, args.messages, args.every, ready))
    publisher.start()
    read = read_redis_py if args.reader == "redis-py" else read_raw
    ages = sorted(asyncio.run(read(args.redis_url, ready)))
    publisher.join()
    print(f"{args.reader}: {len(ages)} messages, p50 {ages[len(ages) // 2] * 1e6:.0f} us, "
          f"p99 {ages[int(len(ages) * 0.99)] * 1e6:.0f} us")


if __name__ == "__main__":
    main()
