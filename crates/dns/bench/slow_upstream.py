#!/usr/bin/env python3
"""Slow upstream for the benchmark: answers every A query with 192.0.2.2
after DELAY seconds, so a forwarder must hold many queries outstanding.

usage: slow_upstream.py ADDRESS DELAY
"""
import asyncio
import struct
import sys


class Slow(asyncio.DatagramProtocol):
    def __init__(self, delay):
        self.delay = delay
        self.transport = None

    def connection_made(self, transport):
        self.transport = transport

    def datagram_received(self, data, addr):
        if len(data) < 12:
            return
        end = 12
        while end < len(data) and data[end] != 0:
            end += data[end] + 1
        end += 5
        if end > len(data):
            return
        qid = data[:2]
        reply = (qid + struct.pack('>HHHHH', 0x8180, 1, 1, 0, 0) + data[12:end]
                 + b'\xc0\x0c' + struct.pack('>HHIH', 1, 1, 300, 4) + bytes([192, 0, 2, 2]))
        asyncio.get_running_loop().call_later(self.delay, self.transport.sendto, reply, addr)


async def main():
    addr, delay = sys.argv[1], float(sys.argv[2])
    loop = asyncio.get_running_loop()
    await loop.create_datagram_endpoint(lambda: Slow(delay), local_addr=(addr, 53))
    await asyncio.Event().wait()


asyncio.run(main())
