"""How many addresses and how much time an attacker needs to get an innocent user
sanctioned by reports alone (issues 15 and 22). Figures in docs/security.md.

Starts ``randomchat serve`` from a source tree (``--src``; the current one by
default, or an older checkout for the "before" figures) behind a pretend
trusted proxy (``--trusted-proxy 127.0.0.1``), so that each attacking guest can
claim its own address with ``X-Forwarded-For`` as if it came through nginx. An
innocent guest (the victim) waits for partners; the attacker mints guest
sessions from ``--addresses`` addresses (``--tabs`` per address), meets the
victim with each, reports, and stops at the victim's ``banned`` or after every
identity has reported. Prints one JSON line.

Addresses are hosts of one /24 (which counts as one network since issue 22), or with
``--spread`` each in a /24 of its own. The attacking identities never had a call of
normal length: a patient attacker could give them some (pairing their own identities),
which ``tests/db/test_moderation.py`` covers with the clock driven by hand.

    .venv/bin/python bench/report_spam.py --addresses 1 --tabs 3
    .venv/bin/python bench/report_spam.py --addresses 3 --age 600   # identities aged 10 min
    .venv/bin/python bench/report_spam.py --addresses 30 --spread --age 3600
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import jwt
import socketio

NS = "/random-chat"
SECRET = "bench-secret-" + "x" * 40


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def guest(http: httpx.AsyncClient, address: str, name: str, age: float) -> str:
    body: dict[str, Any] = {"username": name}
    rules = await http.get("/api/rules")
    if rules.status_code == 200:  # the server has the rules gate
        body["rulesVersion"] = rules.json()["version"]
    resp = await http.post("/api/session", json=body, headers={"X-Forwarded-For": address})
    resp.raise_for_status()
    token = str(resp.json()["token"])
    if age:
        # An identity made ``age`` seconds ago: the same claims, re-signed with an older
        # iat and device date (the attacker would simply wait that long; we do not).
        claims = jwt.decode(token, SECRET, algorithms=["HS256"])
        claims["iat"] -= int(age)
        if "since" in claims:
            claims["since"] -= int(age)
        token = jwt.encode(claims, SECRET, algorithm="HS256")
    return token


async def client(
    url: str, token: str, address: str
) -> tuple[socketio.AsyncClient, asyncio.Queue[Any]]:
    sio = socketio.AsyncClient(reconnection=False)
    events: asyncio.Queue[Any] = asyncio.Queue()

    async def any_event(event: str, *args: Any) -> None:
        await events.put((event, args[0] if args else None))

    sio.on("*", any_event, namespace=NS)
    await sio.connect(
        url,
        namespaces=[NS],
        transports=["websocket"],
        auth={"token": token},
        headers={"X-Forwarded-For": address},
        wait_timeout=5,
    )
    return sio, events


async def until(events: asyncio.Queue[Any], wanted: str, timeout: float = 10) -> Any:
    while True:
        event, data = await asyncio.wait_for(events.get(), timeout)
        if event == wanted:
            return data


async def attack(
    url: str, addresses: int, tabs: int, age: float, spread: bool
) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=url) as http:
        victim_token = await guest(http, "203.0.113.200", "Victim", 0)
        victim, victim_events = await client(url, victim_token, "203.0.113.200")
        await victim.emit("find-partner", namespace=NS)
        started = time.monotonic()
        reports = 0
        for a in range(addresses):
            address = f"198.{51 + a // 250}.{a % 250}.1" if spread else f"198.51.100.{a + 1}"
            for t in range(tabs):
                token = await guest(http, address, f"Tab{t}", age)
                sio, events = await client(url, token, address)
                await sio.emit("find-partner", namespace=NS)
                await until(events, "match-found")
                await sio.emit("report-partner", {"reason": "nudity"}, namespace=NS)
                await until(events, "report-partner-ack")
                reports += 1
                await sio.disconnect()
                event, data = await asyncio.wait_for(victim_events.get(), 10)
                while event not in ("partner-left", "banned"):
                    event, data = await asyncio.wait_for(victim_events.get(), 10)
                if event == "partner-left":
                    try:
                        event, data = await asyncio.wait_for(victim_events.get(), 0.3)
                    except TimeoutError:
                        event = ""
                if event == "banned":
                    return {
                        "banned": True,
                        "addresses": a + 1,
                        "reports": reports,
                        "seconds": round(time.monotonic() - started, 2),
                        "reason": data["reason"],
                    }
                await victim.emit("find-partner", namespace=NS)
        await victim.disconnect()
        return {
            "banned": False,
            "addresses": addresses,
            "reports": reports,
            "seconds": round(time.monotonic() - started, 2),
        }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--src", type=Path, default=Path(__file__).resolve().parents[1] / "src")
    parser.add_argument("--addresses", type=int, default=1)
    parser.add_argument("--tabs", type=int, default=3)
    parser.add_argument("--age", type=float, default=0.0, help="identity age of the attackers, s")
    parser.add_argument("--spread", action="store_true", help="each address in a /24 of its own")
    parser.add_argument("serve_args", nargs="*", help="extra serve flags after --")
    args = parser.parse_args()
    port = free_port()
    data = tempfile.mkdtemp(prefix="rc-spam-")
    env = {**os.environ, "PYTHONPATH": str(args.src)}
    serve = [sys.executable, "-m", "randomchat", "serve", "--port", str(port)]
    serve += ["--jwt-secret", SECRET, "--data-dir", data, "--stun-url", "none"]
    serve += ["--trusted-proxy", "127.0.0.1", "--sessions-per-minute", "0"]
    serve += ["--find-rate-limit-ms", "0", "--log-level", "warning", *args.serve_args]
    server = subprocess.Popen(serve, env=env, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                httpx.get(url + "/healthz", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.05)
        result = asyncio.run(attack(url, args.addresses, args.tabs, args.age, args.spread))
        shape = {"addresses_used": args.addresses, "tabs": args.tabs, "age": args.age}
        print(json.dumps({**shape, "spread": args.spread, **result}))
    finally:
        server.terminate()
        server.wait(10)


if __name__ == "__main__":
    main()
