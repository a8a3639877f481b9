"""TLS in front of a plain HTTP server, for tests: accepts TLS on 127.0.0.1:PORT with a PEM
certificate and key and forwards the bytes to 127.0.0.1:UPSTREAM, as a site's reverse proxy
(nginx, a load balancer) does in front of Orthanc. Orthanc's own https is not used: the
Debian build's web server crashes on the first https request.

Usage: tls_proxy.py PORT UPSTREAM CERTIFICATE KEY; prints "ready" once it listens.
"""

import asyncio
import ssl
import sys


async def pipe(reader, writer):
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, ssl.SSLError):
        pass
    finally:
        writer.close()


async def main(port, upstream, certificate, key):
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(certificate, key)

    async def handle(client_reader, client_writer):
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", upstream)
        except OSError:
            client_writer.close()
            return
        await asyncio.gather(pipe(client_reader, up_writer), pipe(up_reader, client_writer))

    server = await asyncio.start_server(handle, "127.0.0.1", port, ssl=context)
    print("ready", flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]))
