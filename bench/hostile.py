#!/usr/bin/env python3
"""Reproduces the hostile-input and concurrent-load defects against a release binary and prints
figures (5xx counts, conflicts, memory, how long a slow connection stays open), loopback only.
Each scenario runs on a fresh server and data directory.

Usage: bench/hostile.py [--bin target/release/printfarm] [--postgres postgres://postgres@127.0.0.1:5432/postgres]
       [--only NAME ...]
Without --postgres the database is SQLite in the data directory. Scenarios: form, signups,
nozzle, numbers, subdomains, modes, slow, idle, parses."""
import argparse
import http.client
import json
import os
import socket
import stat
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURE = os.path.join(ROOT, "..", "shared", "fixtures", "3mf", "sample-a.3mf")
PASSWORD = "correct horse battery"


class Server:
    """A `printfarm serve` child on a free loopback port."""

    def __init__(self, binary, postgres, env=None):
        self.dir = tempfile.mkdtemp(prefix="pf-hostile-")
        self.port = free_port()
        args = [binary, "serve", "--listen", f"127.0.0.1:{self.port}", "--data-dir", os.path.join(self.dir, "data")]
        if postgres:
            name = "pf_hostile_" + uuid.uuid4().hex[:12]
            subprocess.run(["psql", postgres, "-qc", f"CREATE DATABASE {name}"], check=True)
            args += ["--database-url", postgres.rsplit("/", 1)[0] + "/" + name]
        full_env = dict(os.environ, RUST_LOG="warn", **(env or {}))
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=full_env)
        deadline = time.time() + 30
        while time.time() < deadline:
            try:
                if self.request("GET", "/health/ready")[0] == 200:
                    return
            except OSError:
                time.sleep(0.05)
        raise SystemExit("the server did not start")

    def request(self, method, path, body=None, token=None, farm=None, timeout=60):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        headers = {"content-type": "application/json"}
        if token:
            headers["authorization"] = f"Bearer {token}"
        if farm:
            headers["x-tenant-id"] = farm
        conn.request(method, path, body=json.dumps(body) if body is not None else None, headers=headers)
        response = conn.getresponse()
        text = response.read()
        conn.close()
        try:
            parsed = json.loads(text)
        except ValueError:
            parsed = None
        return response.status, parsed

    def register(self, n, company):
        body = {"email": f"user{n}-{uuid.uuid4().hex[:6]}@example.com", "password": PASSWORD,
                "name": f"User {n}", "company_name": company}
        return self.request("POST", "/api/v1/auth/register", body)

    def owner(self):
        status, body = self.register(0, "Bench Farm")
        assert status == 201, body
        return body["data"]["token"], body["data"]["tenant"]["id"]

    def rss_mib(self, field="VmRSS"):
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) / 1024
        return 0.0

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def counts(statuses):
    out = {}
    for s in statuses:
        out[s] = out.get(s, 0) + 1
    return dict(sorted(out.items()))


def multipart_upload(server, path, token, farm, file_bytes, file_name, extra_parts=0, part_bytes=0, timeout=300):
    """Streams a multipart form: `extra_parts` text parts of `part_bytes` each, then the file."""
    boundary = "pfbench" + uuid.uuid4().hex
    head = lambda name, fname=None: (
        f"--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\""
        + (f"; filename=\"{fname}\"" if fname else "") + "\r\n\r\n").encode()
    text = b"x" * part_bytes
    parts_len = sum(len(head(f"f{n}")) + part_bytes + 2 for n in range(extra_parts))
    file_head = head("file", file_name)
    tail = f"--{boundary}--\r\n".encode()
    length = parts_len + len(file_head) + len(file_bytes) + 2 + len(tail)
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=timeout)
    conn.putrequest("POST", path)
    conn.putheader("authorization", f"Bearer {token}")
    conn.putheader("x-tenant-id", farm)
    conn.putheader("content-type", f"multipart/form-data; boundary={boundary}")
    conn.putheader("content-length", str(length))
    conn.endheaders()
    try:
        batch = []
        for n in range(extra_parts):
            batch.append(head(f"f{n}") + text + b"\r\n")
            if len(batch) == 100:
                conn.send(b"".join(batch))
                batch = []
        conn.send(b"".join(batch) + file_head + file_bytes + b"\r\n" + tail)
    except OSError:
        pass  # the server answered early and closed
    try:
        response = conn.getresponse()
        status = response.status
        response.read()
    except OSError:
        status = "closed"
    conn.close()
    return status


def scenario_form(args):
    server = Server(args.bin, args.postgres)
    token, farm = server.owner()
    before = server.rss_mib()
    started = time.time()
    status = multipart_upload(server, "/api/v1/files/parse-metadata", token, farm,
                              open(FIXTURE, "rb").read(), "sample-a.3mf", extra_parts=100_000, part_bytes=9_000)
    took = time.time() - started
    time.sleep(2)
    print(f"form: 100,000 text parts of 9,000 bytes to parse-metadata -> {status} in {took:.1f} s; "
          f"RSS {before:.0f} MB before, {server.rss_mib():.0f} MB after, peak {server.rss_mib('VmHWM'):.0f} MB")
    server.stop()


def scenario_signups(args):
    # The burst is sent from one address: lift the per-address limit to see how hashing copes
    # (an older binary ignores the variable), then once more with the default limit.
    for env, label in (({"PRINTFARM_SIGN_UPS_PER_IP": "1000000"}, "limit lifted"), ({}, "default limit")):
        server = Server(args.bin, args.postgres, env)
        token, farm = server.owner()
        file_id = upload_fixture(server, token, farm)
        n = args.signups
        latencies = []
        done = threading.Event()

        def other_farm():
            while not done.is_set():
                t = time.time()
                server.request("POST", "/api/v1/jobs", {"print_file_id": file_id}, token, farm)
                latencies.append((time.time() - t) * 1000)

        watcher = threading.Thread(target=other_farm)
        watcher.start()
        peak = [0.0]
        sampling = threading.Event()

        def sample():
            while not sampling.is_set():
                peak[0] = max(peak[0], server.rss_mib())
                time.sleep(0.05)

        sampler = threading.Thread(target=sample)
        sampler.start()
        with ThreadPoolExecutor(n) as pool:
            answers = list(pool.map(lambda i: server.register(i + 1, f"Burst {i}"), range(n)))
        done.set()
        watcher.join()
        sampling.set()
        sampler.join()
        latencies.sort()
        errors = [b for s, b in answers if s >= 500][:1]
        print(f"signups ({label}): {n} concurrent registers -> {counts(s for s, _ in answers)}; "
              f"another farm's POST /jobs during it: median {latencies[len(latencies)//2]:.0f} ms, "
              f"max {latencies[-1]:.0f} ms over {len(latencies)}; server RSS peak {peak[0]:.0f} MB"
              + (f"; a 5xx said {errors[0]}" if errors else ""))
        server.stop()


def upload_fixture(server, token, farm):
    boundary = "pfbench" + uuid.uuid4().hex
    data = open(FIXTURE, "rb").read()
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"sample-a.3mf\"\r\n\r\n").encode() \
        + data + f"\r\n--{boundary}--\r\n".encode()
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
    conn.request("POST", "/api/v1/files", body=body, headers={
        "authorization": f"Bearer {token}", "x-tenant-id": farm,
        "content-type": f"multipart/form-data; boundary={boundary}"})
    answer = json.loads(conn.getresponse().read())
    conn.close()
    return answer["data"]["id"]


def scenario_nozzle(args):
    server = Server(args.bin, args.postgres)
    token, farm = server.owner()
    statuses = []
    for n in range(200):
        body = {"name": f"P1S-{n}", "model": "P1S"}
        if n % 2:
            body["nozzle_size"] = 0.4
        statuses.append(server.request("POST", "/api/v1/printers", body, token, farm)[0])
    print(f"nozzle: 200 printers alternating with and without nozzle_size -> {counts(statuses)}")
    server.stop()


def scenario_numbers(args):
    server = Server(args.bin, args.postgres)
    token, farm = server.owner()

    def client(c):
        return [server.request("POST", "/api/v1/printers", {"name": f"P-{c}-{n}", "model": "P1S"}, token, farm)[0]
                for n in range(20)]

    with ThreadPoolExecutor(20) as pool:
        statuses = [s for batch in pool.map(client, range(20)) for s in batch]
    print(f"numbers: 20 threads x 20 printers with distinct names -> {counts(statuses)}")
    server.stop()


def scenario_subdomains(args):
    server = Server(args.bin, args.postgres, {"PRINTFARM_SIGN_UPS_PER_IP": "1000000"})
    with ThreadPoolExecutor(args.signups) as pool:
        answers = list(pool.map(lambda i: server.register(i, "Same Name Prints"), range(200)))
    codes = counts(f"{s} {b['error']['code']}" if s != 201 else "201" for s, b in answers)
    print(f"subdomains: 200 concurrent sign-ups named alike -> {codes}")
    server.stop()


def scenario_modes(args):
    server = Server(args.bin, args.postgres)
    token, farm = server.owner()
    upload_fixture(server, token, farm)
    status, body = server.request("POST", "/api/v1/auth/register",
                                  {"email": "modes@example.com", "password": PASSWORD, "name": "Modes"})
    server.request("POST", "/api/v1/auth/forget-password", {"email": "modes@example.com"})
    time.sleep(0.5)
    data = os.path.join(server.dir, "data")
    open_to_others = []
    total = 0
    for base, dirs, files in os.walk(data):
        for name in dirs + files:
            path = os.path.join(base, name)
            mode = stat.S_IMODE(os.stat(path).st_mode)
            total += 1
            if mode & 0o077:
                open_to_others.append(f"{os.path.relpath(path, data)} {mode:o}")
    top = stat.S_IMODE(os.stat(data).st_mode)
    print(f"modes: data dir {top:o}; {len(open_to_others)} of {total} entries readable by others"
          + (f": {', '.join(open_to_others[:6])}" if open_to_others else ""))
    server.stop()


def scenario_slow(args):
    server = Server(args.bin, args.postgres)
    s = socket.create_connection(("127.0.0.1", server.port))
    s.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: ")
    s.settimeout(args.slow_wait)
    started = time.time()
    try:
        closed = s.recv(1) == b""
    except (socket.timeout, TimeoutError):
        closed = False
    except OSError:
        closed = True
    took = time.time() - started
    print(f"slow: a half-sent header " + (f"was closed after {took:.1f} s" if closed else f"was still open after {took:.0f} s"))
    s.close()
    server.stop()


def scenario_idle(args):
    server = Server(args.bin, args.postgres)
    sockets = []
    for _ in range(3000):
        try:
            sockets.append(socket.create_connection(("127.0.0.1", server.port), timeout=2))
        except OSError:
            break
    time.sleep(1)
    answered_during = server_answers(server)
    deadline = time.time() + args.slow_wait
    while time.time() < deadline:
        if sum(1 for s in sockets if is_closed(s)) == len(sockets):
            break
        time.sleep(1)
    closed = sum(1 for s in sockets if is_closed(s))
    print(f"idle: {len(sockets)} silent connections opened; a request beside them answered: {answered_during}; "
          f"{closed} closed by the server within {args.slow_wait} s")
    for s in sockets:
        s.close()
    server.stop()


def server_answers(server):
    try:
        return server.request("GET", "/health/live", timeout=5)[0] == 200
    except OSError:
        return False


def is_closed(s):
    s.setblocking(False)
    try:
        return s.recv(1) == b""
    except BlockingIOError:
        return False
    except OSError:
        return True


def scenario_parses(args):
    big = os.path.join(tempfile.mkdtemp(), "big-plate.3mf")
    subprocess.run([sys.executable, os.path.join(ROOT, "bench", "tools", "big-plate-json.py"), FIXTURE, big, "60"], check=True)
    data = open(big, "rb").read()
    server = Server(args.bin, args.postgres)
    token, farm = server.owner()
    before = server.rss_mib()
    one = multipart_upload(server, "/api/v1/files/parse-metadata", token, farm, data, "big.3mf")
    peak_one = server.rss_mib("VmHWM")
    with ThreadPoolExecutor(10) as pool:
        statuses = list(pool.map(lambda _: multipart_upload(server, "/api/v1/files/parse-metadata", token, farm, data, "big.3mf"), range(10)))
    time.sleep(3)
    print(f"parses: a 3MF with a 60 MB plate JSON ({len(data) // 1024 // 1024} MB zipped): one -> {one}, peak {peak_one:.0f} MB; "
          f"10 in parallel -> {counts(statuses)}, peak {server.rss_mib('VmHWM'):.0f} MB; RSS {before:.0f} MB before, "
          f"{server.rss_mib():.0f} MB 3 s after")
    server.stop()


SCENARIOS = {
    "form": scenario_form, "signups": scenario_signups, "nozzle": scenario_nozzle, "numbers": scenario_numbers,
    "subdomains": scenario_subdomains, "modes": scenario_modes, "slow": scenario_slow, "idle": scenario_idle,
    "parses": scenario_parses,
}

if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin", default=os.path.join(ROOT, "target", "release", "printfarm"))
    parser.add_argument("--postgres")
    parser.add_argument("--only", nargs="*", default=list(SCENARIOS))
    parser.add_argument("--signups", type=int, default=300)
    parser.add_argument("--slow-wait", type=int, default=40)
    args = parser.parse_args()
    for name in args.only:
        SCENARIOS[name](args)
