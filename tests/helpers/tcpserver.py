#!/usr/bin/python3
"""tcpserver.py - loopback TCP servers for the bats suite.

usage: tcpserver.py MODE PORT [COUNTFILE] [HOST]
  accept   accept and close every connection; after each, write the number
           of connections accepted so far to COUNTFILE
  echo     accept, echo what arrives (threads), until killed
  reset    accept, read a little, then close with RST (SO_LINGER 0)
  hang     accept and keep every connection open, never answering
  greet    accept, send "hello" at once (server speaks first), then echo
  eof      accept, read a little, then close (FIN) without answering
  slow     accept, read a request, answer it after 1.5 s, then echo
  longpoll accept, read a request, answer "ok" at once, then "more" after
           2.5 s (a wait after the first byte), then echo
  full     listen with backlog 0 and never accept; one filler connection
           keeps the queue full, so further SYNs go unanswered (pending)
Prints "ready" on stdout once listening.
"""
import os
import socket
import struct
import sys
import threading
import time

mode, port = sys.argv[1], int(sys.argv[2])
countfile = sys.argv[3] if len(sys.argv) > 3 and sys.argv[3] != "-" else None
host = sys.argv[4] if len(sys.argv) > 4 else "127.0.0.1"
fam = socket.AF_INET6 if ":" in host else socket.AF_INET

ls = socket.socket(fam, socket.SOCK_STREAM)
ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind((host, port))


def note(n):
    if countfile:
        tmp = countfile + ".tmp"
        with open(tmp, "w") as f:
            f.write("%d\n" % n)
        os.rename(tmp, countfile)


if mode == "full":
    ls.listen(0)
    filler = socket.socket(fam, socket.SOCK_STREAM)
    filler.connect((host, port))
    print("ready", flush=True)
    while True:
        time.sleep(3600)

ls.listen(128)
note(0)
print("ready", flush=True)
n = 0


def echo(c):
    try:
        while True:
            d = c.recv(65536)
            if not d:
                break
            c.sendall(d)
    except OSError:
        pass
    c.close()


def late(c, first, delay, then):
    try:
        c.recv(65536)
        if first:
            c.sendall(first)
        time.sleep(delay)
        c.sendall(then)
    except OSError:
        pass
    echo(c)


held = []
while True:
    c, _ = ls.accept()
    n += 1
    if mode == "hang":
        held.append(c)
    elif mode == "greet":
        c.sendall(b"hello\n")
        threading.Thread(target=echo, args=(c,), daemon=True).start()
    elif mode == "eof":
        c.settimeout(0.5)
        try:
            c.recv(65536)
        except OSError:
            pass
        c.close()
    elif mode in ("slow", "longpoll"):
        a = (c, None, 1.5, b"late\n") if mode == "slow" else \
            (c, b"ok\n", 2.5, b"more\n")
        threading.Thread(target=late, args=a, daemon=True).start()
    elif mode == "accept":
        c.close()
    elif mode == "echo":
        threading.Thread(target=echo, args=(c,), daemon=True).start()
    elif mode == "reset":
        c.settimeout(0.5)
        try:
            c.recv(1)
        except OSError:
            pass
        c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                     struct.pack("ii", 1, 0))
        c.close()
    note(n)
