#!/usr/bin/python3
"""flapclient.py - a client against a loopback listener that comes and goes.

usage: flapclient.py PORT N PATTERN
Starts a listener process (without the shim) that opens or closes its
listening socket on 127.0.0.1:PORT when told, and makes N blocking
connects to it.  Before attempt i the listener is up if PATTERN[i % len]
is "u", down if "d": "ud" gives 50 % refused connects, never two in a
row.  Prints one line per attempt: "I up|down ok|ERRNO_NAME".  Run it
under the shim: its connects are the ones governed.
"""
import errno
import os
import socket
import subprocess
import sys

LISTENER = r'''
import socket, sys
ls = None
for cmd in sys.stdin:
    if cmd.strip() == "up" and ls is None:
        ls = socket.socket()
        ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        ls.bind(("127.0.0.1", int(sys.argv[1])))
        ls.listen(64)
    elif cmd.strip() == "down" and ls is not None:
        ls.close()
        ls = None
    print("done", flush=True)
'''

port, n, pattern = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
env = {k: v for k, v in os.environ.items() if k != "LD_PRELOAD"}
srv = subprocess.Popen([sys.executable, "-c", LISTENER, str(port)],
                       stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                       env=env, text=True)
for i in range(n):
    up = pattern[i % len(pattern)] == "u"
    srv.stdin.write("up\n" if up else "down\n")
    srv.stdin.flush()
    srv.stdout.readline()
    s = socket.socket()
    try:
        s.connect(("127.0.0.1", port))
        res = "ok"
    except OSError as e:
        res = errno.errorcode.get(e.errno, str(e.errno))
    s.close()
    print(i, "up" if up else "down", res, flush=True)
srv.stdin.close()
srv.wait()
