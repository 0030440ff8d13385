#!/usr/bin/env python3
"""A TCP echo server on Python's asyncio, standard library only: the `asyncio` peer of
`echo-bench suite --peers asyncio`, a fair example of what a Python service does per message.

One protocol object per connection writes back what it receives. When a client stops
reading and the transport's buffer passes its high-water mark, the server stops reading that
client until the buffer drains, so memory stays bounded. SIGTERM and SIGINT stop it.
"""
import argparse
import asyncio
import signal


class Echo(asyncio.Protocol):
    def connection_made(self, transport):
        self.transport = transport

    def data_received(self, data):
        self.transport.write(data)

    # Called by the transport around its write buffer's high and low water marks.
    def pause_writing(self):
        self.transport.pause_reading()

    def resume_writing(self):
        self.transport.resume_reading()


async def serve(host, port):
    loop = asyncio.get_running_loop()
    stop = loop.create_future()
    for signo in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signo, stop.set_result, None)
    server = await loop.create_server(Echo, host, port, backlog=1024, reuse_address=True)
    await stop
    server.close()  # without waiting for open connections: asyncio.run closes them


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    arguments = parser.parse_args()
    asyncio.run(serve(arguments.host, arguments.port))


if __name__ == "__main__":
    main()
