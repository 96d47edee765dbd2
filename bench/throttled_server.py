#!/usr/bin/env python3
"""A local HTTP server that sends every response body at a fixed rate.

    throttled_server.py DIR RATE_MB_PER_S PORT_FILE

Serves the files of DIR on 127.0.0.1 (a free port, written to PORT_FILE
once listening) with Content-Length, ETag, Last-Modified and Range support,
each body paced to RATE_MB_PER_S (10^6 bytes per second) per connection,
so that a download is slower than the local import: the case bench/run.sh
measures for URL inputs (issue 12). Runs until killed.
"""

import email.utils
import http.server
import os
import sys
import time

CHUNK = 64 * 1024


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    root = "."
    rate = 1e6

    def log_message(self, *args):
        pass

    def do_GET(self):
        self.send(body=True)

    def do_HEAD(self):
        self.send(body=False)

    def send(self, body):
        name = os.path.basename(self.path.split("?")[0])
        path = os.path.join(self.root, name)
        try:
            st = os.stat(path)
        except OSError:
            self.send_error(404)
            return
        size, start = st.st_size, 0
        rng = self.headers.get("Range", "")
        if rng.startswith("bytes=") and rng.endswith("-") and rng[6:-1].isdigit():
            start = min(int(rng[6:-1]), size)
        self.send_response(206 if start else 200)
        if start:
            self.send_header("Content-Range", f"bytes {start}-{size - 1}/{size}")
        self.send_header("Content-Length", str(size - start))
        self.send_header("ETag", f'"{st.st_ino:x}-{st.st_mtime_ns:x}-{size:x}"')
        self.send_header("Last-Modified", email.utils.formatdate(st.st_mtime, usegmt=True))
        self.send_header("Accept-Ranges", "bytes")
        self.end_headers()
        if not body:
            return
        began, sent = time.monotonic(), 0
        with open(path, "rb") as f:
            f.seek(start)
            while chunk := f.read(CHUNK):
                # Sleep until this chunk is due: the average rate stays exact.
                due = began + sent / self.rate
                now = time.monotonic()
                if due > now:
                    time.sleep(due - now)
                try:
                    self.wfile.write(chunk)
                except OSError:
                    return
                sent += len(chunk)


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    Handler.root = sys.argv[1]
    Handler.rate = float(sys.argv[2]) * 1e6
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    tmp = sys.argv[3] + ".part"
    with open(tmp, "w") as f:
        f.write(str(server.server_address[1]))
    os.rename(tmp, sys.argv[3])
    server.serve_forever()


if __name__ == "__main__":
    main()
