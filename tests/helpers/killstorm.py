#!/usr/bin/python3
"""killstorm.py - a kill -9 storm on shimmed processes sharing breakers.

usage: killstorm.py --storm BIN --cbctl BIN --lib LIB --dir DIR
                    [--procs N] [--threads N] [--seconds S] KIND:PORT...

Keeps --procs copies of the storm helper (tests/helpers/storm.c) running
under the shim, each with --threads threads hammering the destinations,
and kills one with SIGKILL every few tens of milliseconds, starting a new
one in its place.  Meanwhile a sampler runs `cbctl list --json` over and
over: every counter of every breaker must never go backwards, every
snapshot must be a possible state, and cbctl must answer each time within
two seconds (it takes milliseconds; the bound is for loaded machines).
At the end every storm process is killed too, and the breakers are
checked against the storm ledgers (what the killed processes had done):

    done <= total_calls <= done + pending
    admitted - pending <= successful_calls + failed_calls <= admitted

(admitted = total_calls - rejected_calls; pending = threads caught inside
an attempt when their process died).  Prints one line of figures, and one
line per violation; exit status 0 when there are none.
"""
import argparse
import json
import mmap
import os
import random
import signal
import struct
import subprocess
import sys
import threading
import time

COUNTERS = ("total_calls", "successful_calls", "failed_calls",
            "rejected_calls", "state_transitions", "stale_outcomes")
LEDGER_MAGIC = 0x5245474445474c53
MAXD = 8
ENTRY = 16 * 8


def cbctl(args, timeout=5.0):
    t = time.monotonic()
    p = subprocess.run([opt.cbctl] + args, capture_output=True, text=True,
                       timeout=timeout)
    return p, time.monotonic() - t


def sample_once(last, problems, policies):
    p, took = cbctl(["list", "--json"])
    if p.returncode != 0:
        problems.append("cbctl list failed during the storm: %s"
                        % p.stderr.strip())
        return took
    for b in json.loads(p.stdout):
        d = b["dest"]
        if d not in policies:
            q, _ = cbctl(["show", d, "--json"])
            if q.returncode == 0:
                policies[d] = json.loads(q.stdout)["policy"]
        check_snapshot(b, policies.get(d), problems, "during the storm")
        prev = last.get(d)
        if prev:
            for k in COUNTERS:
                if b[k] < prev[k]:
                    problems.append("%s %s went backwards: %d -> %d"
                                    % (d, k, prev[k], b[k]))
        last[d] = b
    return took


def check_snapshot(b, pol, problems, when):
    d = b["dest"]
    if b["state"] not in ("closed", "open", "half-open"):
        problems.append("%s: state %r %s" % (d, b["state"], when))
    if pol is None:
        return
    if b["state"] == "closed" and \
            b["consecutive_failures"] >= pol["failure_threshold"]:
        problems.append("%s: closed with %d consecutive failures %s"
                        % (d, b["consecutive_failures"], when))
    if b["half_open_in_flight"] > pol["half_open_max_calls"]:
        problems.append("%s: %d probes in flight %s"
                        % (d, b["half_open_in_flight"], when))
    if b["half_open_successes"] >= pol["success_threshold"]:
        problems.append("%s: %d half-open successes %s"
                        % (d, b["half_open_successes"], when))


def read_ledger(path):
    """(done[], pending[]) per destination, or None if never written."""
    try:
        with open(path, "rb") as f:
            m = f.read()
    except FileNotFoundError:      # killed before it made its ledger
        return None
    if len(m) < 4096:
        return None
    magic, threads, dests = struct.unpack_from("<QII", m, 0)
    if magic != LEDGER_MAGIC:
        return None
    done, pending = [0] * dests, [0] * dests
    for t in range(threads):
        off = 4096 + t * ENTRY
        row = struct.unpack_from("<%dQ" % (MAXD + 1), m, off)
        for i in range(dests):
            done[i] += row[i]
        if row[MAXD]:
            pending[row[MAXD] - 1] += 1
    return done, pending


def main():
    global opt
    ap = argparse.ArgumentParser()
    ap.add_argument("--storm", required=True)
    ap.add_argument("--cbctl", required=True)
    ap.add_argument("--lib", required=True)
    ap.add_argument("--dir", required=True)
    ap.add_argument("--procs", type=int, default=4)
    ap.add_argument("--threads", type=int, default=6)
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("dests", nargs="+")
    opt = ap.parse_args()

    env = dict(os.environ, LD_PRELOAD=opt.lib)
    procs, ledgers, kills = {}, [], 0
    rng = random.Random(os.getpid())

    def spawn():
        path = os.path.join(opt.dir, "ledger.%d" % len(ledgers))
        ledgers.append(path)
        p = subprocess.Popen([opt.storm, "-l", path, "-t", str(opt.threads)]
                             + opt.dests, env=env,
                             stdout=subprocess.DEVNULL)
        procs[p.pid] = p

    problems, last, slowest = [], {}, [0.0]
    stop = threading.Event()
    policies = {}
    samples = [0]

    def sampler():
        while not stop.is_set():
            try:
                took = sample_once(last, problems, policies)
            except subprocess.TimeoutExpired:
                problems.append("cbctl list hung during the storm")
                return
            slowest[0] = max(slowest[0], took)
            samples[0] += 1
            time.sleep(0.02)

    for _ in range(opt.procs):
        spawn()
    time.sleep(0.1)
    th = threading.Thread(target=sampler)
    th.start()
    end = time.monotonic() + opt.seconds
    while time.monotonic() < end:
        time.sleep(rng.uniform(0.01, 0.06))
        victim = rng.choice(list(procs))
        os.kill(victim, signal.SIGKILL)
        procs.pop(victim).wait()
        kills += 1
        spawn()
    for pid, p in list(procs.items()):
        os.kill(pid, signal.SIGKILL)
        p.wait()
        kills += 1
    stop.set()
    th.join()

    final, took = cbctl(["list", "--json"])
    if final.returncode != 0:
        problems.append("cbctl list failed after the storm: "
                        + final.stderr.strip())
        rows = []
    else:
        rows = json.loads(final.stdout)
    slowest[0] = max(slowest[0], took)
    if slowest[0] > 2.0:
        problems.append("cbctl took %.2f s to answer" % slowest[0])
    by_port = {}
    for b in rows:
        by_port.setdefault(int(b["dest"].rsplit(":", 1)[1]), []).append(b)
        check_snapshot(b, policies.get(b["dest"]), problems,
                       "after the storm")
        prev = last.get(b["dest"])
        for k in COUNTERS:
            if prev and b[k] < prev[k]:
                problems.append("%s %s went backwards: %d -> %d"
                                % (b["dest"], k, prev[k], b[k]))

    n = len(opt.dests)
    done, pending = [0] * n, [0] * n
    for path in ledgers:
        r = read_ledger(path)
        if r:
            for i in range(n):
                done[i] += r[0][i]
                pending[i] += r[1][i]
    attempts = 0
    for i, spec in enumerate(opt.dests):
        port = int(spec.split(":")[1])
        got = by_port.get(port, [])
        if len(got) != 1:
            problems.append("%s: %d breakers for it" % (spec, len(got)))
            continue
        b = got[0]
        adm = b["total_calls"] - b["rejected_calls"]
        out = b["successful_calls"] + b["failed_calls"]
        attempts += b["total_calls"]
        if not done[i] <= b["total_calls"] <= done[i] + pending[i]:
            problems.append("%s: total_calls %d, ledger says %d..%d"
                            % (spec, b["total_calls"], done[i],
                               done[i] + pending[i]))
        if not adm - pending[i] <= out <= adm:
            problems.append("%s: %d outcomes for %d admitted (%d pending)"
                            % (spec, out, adm, pending[i]))
        if done[i] == 0:
            problems.append("%s: no attempt ever finished" % spec)
    if len(rows) != n:
        problems.append("%d breakers, want %d" % (len(rows), n))

    print("kills=%d processes=%d samples=%d attempts=%d caught_pending=%d "
          "slowest_cbctl=%.3fs" % (kills, len(ledgers), samples[0], attempts,
                                   sum(pending), slowest[0]))
    for b in rows:
        print("  %s %s total=%d ok=%d fail=%d rejected=%d transitions=%d "
              "stale=%d in_flight=%d" % (
                  b["dest"], b["state"], b["total_calls"],
                  b["successful_calls"], b["failed_calls"],
                  b["rejected_calls"], b["state_transitions"],
                  b["stale_outcomes"], b["half_open_in_flight"]))
    for p in problems[:50]:
        print("VIOLATION: " + p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
