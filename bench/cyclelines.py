#!/usr/bin/python3
"""cyclelines.py LOG NCYC - from a valgrind lackey log (--trace-mem=yes
--trace-syscalls=yes) of `connbench cycle`: the distinct 4 KiB pages and
64-byte lines touched (code and data) between two system calls, summed over
a cycle, averaged over the last NCYC cycles.  What the shim touches right
after a system call is what the kernel's own work has pushed out of the
caches (and, on a guest with PTI and no PCID, out of the TLB).  clock_gettime
is the vDSO natively (valgrind makes it a system call): not a boundary."""
import re
import sys

log, ncyc = sys.argv[1], int(sys.argv[2])
sysre = re.compile(r'SYSCALL\[\d+,\d+\]\(\d+\) (\S+)')
lines = open(log, errors='replace').read().split('\n')
socks = [i for i, l in enumerate(lines) if 'sys_socket' in l]
start, end = socks[-ncyc - 1], socks[-1]
pages, cls = set(), set()
npages = nlines = 0
for l in lines[start:end]:
    if l.startswith('SYSCALL'):
        m = sysre.match(l)
        if not m or m.group(1) == '...' or \
                m.group(1).startswith('sys_clock_gettime'):
            continue
        npages += len(pages)
        nlines += len(cls)
        pages, cls = set(), set()
        continue
    if len(l) > 3 and l[0] in 'I SLM' and ',' in l:
        try:
            a = int(l[2:].strip().split(',')[0], 16)
        except ValueError:
            continue
        pages.add(a >> 12)
        cls.add(a >> 6)
print('pages_per_cycle %.1f lines_per_cycle %.1f' %
      (npages / ncyc, nlines / ncyc))
