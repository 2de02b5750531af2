"""The container's health check: exit 0 when this node's /healthz answers 200.

/healthz answers 503 while the node drains (SIGTERM), so a draining node turns
unhealthy. The request carries a Host the node accepts: with
``RANDOMCHAT_ALLOWED_HOST`` set, the node refuses every other Host, loopback
names included (randomchat.proxy.HostPolicy), so the first name of that list
is sent; ``*.example.com`` becomes ``healthcheck.example.com``. Standard
library only: the image has no curl.
"""

from __future__ import annotations

import http.client
import os
import sys


def host_header(allowed: str) -> str:
    for entry in (item.strip().lower() for item in allowed.split(",")):
        if not entry or entry == "*":
            continue
        if entry.startswith("*."):
            return "healthcheck" + entry[1:]
        return entry
    return "localhost"


def main() -> int:
    port = int(os.environ.get("RANDOMCHAT_PORT", "3000"))
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=3)
    try:
        conn.request(
            "GET",
            "/healthz",
            headers={"Host": host_header(os.environ.get("RANDOMCHAT_ALLOWED_HOST", ""))},
        )
        response = conn.getresponse()
        body = response.read(200).decode(errors="replace")
    except OSError as exc:
        print(f"healthz: {exc}", file=sys.stderr)
        return 1
    finally:
        conn.close()
    if response.status != 200:
        print(f"healthz: {response.status} {body}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
