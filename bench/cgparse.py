#!/usr/bin/python3
"""cgparse.py - turn the callgrind runs of bench/run.sh into per-call
instruction and cache-miss counts (lines "cg ..." appended to the data).

usage: cgparse.py TMPDIR N

Files, for m in N and 2N:
  cg.closed.on.m / cg.closed.off.m   connbench cycle (m + m//10 + 100 connects)
  cg.open1.on.m / cg.open4096.on.m   connbench ctime (m rejected connects)
  cs.1 / cs.4096 / cs.wide           segbench probe under --cache-sim with
                                     --toggle-collect=decide (500 decisions;
                                     wide: 4096 of 65536 places)
Per-call figures are (X(2N) - X(N)) / (calls(2N) - calls(N)), which cancels
start-up, the first breaker insert and the benchmark's own set-up.
"""
import re
import subprocess
import sys

LINE = re.compile(r'^\s*([\d,]+)(?:\s+\([^)]*\))?\s+(.*?):(\S+) \[(.*)\]\s*$')


def annotate(path, inclusive):
    """{(function, object basename): Ir} and the program total."""
    args = ['callgrind_annotate', '--threshold=100']
    if inclusive:
        args.append('--inclusive=yes')
    out = subprocess.run(args + [path], capture_output=True, text=True,
                         check=True).stdout
    funcs, total = {}, 0
    for line in out.splitlines():
        if 'PROGRAM TOTALS' in line:
            total = int(line.split()[0].replace(',', ''))
            continue
        m = LINE.match(line)
        if m:
            key = (m.group(3), m.group(4).rsplit('/', 1)[-1])
            funcs[key] = funcs.get(key, 0) + int(m.group(1).replace(',', ''))
    return funcs, total


def shim_self(funcs):
    return sum(v for (f, o), v in funcs.items() if o == 'libcbshim.so')


def connect_only(path):
    """Ir inside the shim's connect, less the real connect it calls."""
    inc, _ = annotate(path, True)
    return (inc.get(('connect', 'libcbshim.so'), 0) -
            inc.get(('connect', 'libc.so.6'), 0))


def per_call(a, b, calls_a, calls_b):
    return (b - a) / (calls_b - calls_a)


def cycle_calls(m):
    return m + m // 10 + 100


def main():
    tmp, n = sys.argv[1], int(sys.argv[2])
    n2 = 2 * n
    f = lambda name, m: f'{tmp}/{name}.{m}'
    # closed path: instructions in the shim's connect, and the shim's whole
    # share of a cycle (socket, connect, recv, setsockopt, close wrappers)
    c1, c2 = cycle_calls(n), cycle_calls(n2)
    print('cg closed_connect %.1f' % per_call(
        connect_only(f('cg.closed.on', n)), connect_only(f('cg.closed.on', n2)),
        c1, c2))
    on1, t_on1 = annotate(f('cg.closed.on', n), False)
    on2, t_on2 = annotate(f('cg.closed.on', n2), False)
    _, t_off1 = annotate(f('cg.closed.off', n), False)
    _, t_off2 = annotate(f('cg.closed.off', n2), False)
    print('cg closed_shim_all %.1f' % per_call(shim_self(on1), shim_self(on2),
                                              c1, c2))
    print('cg closed_program_on %.1f' % per_call(t_on1, t_on2, c1, c2))
    print('cg closed_program_off %.1f' % per_call(t_off1, t_off2, c1, c2))
    for k in (1, 4096):
        print('cg open%d_connect %.1f' % (k, per_call(
            connect_only(f(f'cg.open{k}.on', n)),
            connect_only(f(f'cg.open{k}.on', n2)), n, n2)))
    for k in ('1', '4096', 'wide'):
        print('cg cachesim%s %s' % (k, cachesim(f'{tmp}/cs.{k}', 500)))


def cachesim(path, decisions):
    """Ir, D1 misses and LL misses per decision (events of decide only)."""
    ev, tot = None, None
    for line in open(path):
        if line.startswith('events:'):
            ev = line.split()[1:]
        elif line.startswith('totals:') or line.startswith('summary:'):
            tot = [int(x) for x in line.split()[1:]]
    if not ev or not tot:
        return 'none'
    d = dict(zip(ev, tot + [0] * (len(ev) - len(tot))))
    return 'Ir=%.1f D1miss=%.2f LLmiss=%.2f' % (
        d.get('Ir', 0) / decisions,
        (d.get('D1mr', 0) + d.get('D1mw', 0)) / decisions,
        (d.get('DLmr', 0) + d.get('DLmw', 0)) / decisions)


if __name__ == '__main__':
    main()
