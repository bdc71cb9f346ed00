#!/usr/bin/python3
"""report.py - the one table of `make bench`, from bench/run.sh's data file.

usage: report.py DATA      (prints Markdown to stdout)

Every ratio is computed per repetition (each repetition ran both sides back
to back) and shown as median (min-max) over the repetitions; absolute
figures are medians (min-max) too.
"""
import json
import math
import statistics
import sys
from collections import defaultdict


def med(v):
    return statistics.median(v) if v else float('nan')


def mmm(v, fmt='%.3g'):
    """median (min-max)"""
    if not v:
        return 'n/a'
    return (fmt % med(v)) + ' (' + (fmt % min(v)) + '–' + (fmt % max(v)) + ')'


def load(path):
    d = defaultdict(list)
    for line in open(path):
        w = line.split()
        if w:
            d[w[0]].append(w[1:])
    return d


def kv(words):
    return {words[i]: words[i + 1] for i in range(0, len(words) - 1, 2)}


class Table:
    def __init__(self):
        self.rows = []

    def add(self, what, base, shim, ratio, goal='', holds=''):
        self.rows.append((what, base, shim, ratio, goal, holds))

    def section(self, title):
        self.rows.append(('**' + title + '**', '', '', '', '', ''))

    def markdown(self):
        head = ('measure', 'baseline', 'cbshim', 'ratio: median (min–max)',
                'goal', 'holds')
        out = ['| ' + ' | '.join(head) + ' |',
               '|' + '|'.join('---' for _ in head) + '|']
        for r in self.rows:
            out.append('| ' + ' | '.join(r) + ' |')
        return '\n'.join(out)


def yes(ok):
    return 'yes' if ok else '**no**'


def closed(d, t):
    by = defaultdict(dict)
    for rep, side, v in d['closed']:
        by[rep][side] = float(v)
    off = [x['off'] / 1e3 for x in by.values()]
    on = [x['on'] / 1e3 for x in by.values()]
    ratio = [x['on'] / x['off'] for x in by.values()]
    t.section('1. closed path: socket+connect+accept+close, loopback')
    t.add('µs per cycle (%d interleaved pairs)' % len(ratio), mmm(off),
          mmm(on), mmm(ratio, '%.4f'), '≤ 1.02 (stretch ≤ 1.005)',
          yes(med(ratio) <= 1.02) + (' (stretch: %s)' %
                                     yes(med(ratio) <= 1.005)))
    ab = d.get('abcycle')
    if ab:
        a = kv(ab[0])
        t.add('same, in one process: blocks of 40 cycles alternating libc\'s '
              'functions and the shim\'s (µs per cycle)',
              '%.1f' % (float(a['libc_ns']) / 1e3),
              '%.1f' % (float(a['dflt_ns']) / 1e3),
              '%.4f (%.2f–%.2f)' % (float(a['ratio_median']),
                                    float(a['ratio_min']),
                                    float(a['ratio_max'])),
              '≤ 1.02', yes(float(a['ratio_median']) <= 1.02))
        if 'libc_p10_ns' in a:
            r = float(a['dflt_p10_ns']) / float(a['libc_p10_ns'])
            t.add('same, 10th percentile of the blocks (the least disturbed)',
                  '%.1f' % (float(a['libc_p10_ns']) / 1e3),
                  '%.1f' % (float(a['dflt_p10_ns']) / 1e3), '%.4f' % r,
                  '≤ 1.02', yes(r <= 1.02))
        if 'libc_cpu_ns' in a:
            r = float(a['dflt_cpu_ns']) / float(a['libc_cpu_ns'])
            t.add('same, the client\'s CPU time per cycle (µs; what a busy '
                  'machine pays)', '%.2f' % (float(a['libc_cpu_ns']) / 1e3),
                  '%.2f' % (float(a['dflt_cpu_ns']) / 1e3),
                  '%.4f, +%.2f µs' % (r, (float(a['dflt_cpu_ns']) -
                                      float(a['libc_cpu_ns'])) / 1e3), '', '')
    ctp = defaultdict(dict)
    for rep, side, v in d.get('closed_ct', []):
        ctp[rep][side] = float(v)
    if ctp:
        r = [x['ct'] / x['plain'] for x in ctp.values()]
        t.add('with connect_timeout set vs the shim without it (µs per '
              'cycle, %d pairs)' % len(r),
              mmm([x['plain'] / 1e3 for x in ctp.values()]),
              mmm([x['ct'] / 1e3 for x in ctp.values()]), mmm(r, '%.4f'),
              'reported', '')
    sc = {w[0]: w[1:] for w in d.get('strace', [])}
    if 'on' in sc and 'off' in sc:
        t.add('syscalls per cycle, strace -c', ' '.join(sc['off']),
              ' '.join(sc['on']), '', '', '')
    if d.get('syscost'):
        c = kv(d['syscost'][0])
        t.add('price of one getsockopt(SO_COOKIE) / getppid / clock_gettime, '
              'ns', '', '%s / %s / %s' % (c['so_cookie_ns'], c['getppid_ns'],
                                          c['clock_gettime_ns']), '', '', '')
    st = d.get('closed_state')
    if st:
        s = json.loads(st[0][0])
        t.add('breaker after the run', '', '%s, %s calls, %s failed' % (
            s.get('state'), s.get('total_calls'), s.get('failed_calls')),
            '', '', '')


def by_rep(d, key):
    return {r: float(v) for r, v in d[key]}


def failfast(d, t):
    ref = by_rep(d, 'refuse')
    t.section('2. fail fast: connect() on an open breaker')
    rej = by_rep(d, 'reject_cbctl')
    sp = [ref[r] / max(rej[r], 1) for r in rej]
    t.add('kernel refusal (nothing listening) vs rejection (cbctl trip --hold), '
          'ns per connect()', mmm(list(ref.values())), mmm(list(rej.values())),
          mmm(sp, '%.0f') + '× faster', '≥ 50×', yes(med(sp) >= 50))
    hoff = [float(x[3]) for x in d['hang'] if x[0] == 'off']
    hon = [(int(x[1]), x[2], float(x[3])) for x in d['hang'] if x[0] == 'on']
    if hoff:
        sp = [h * 1e3 / max(r, 1) for h in hoff for r in rej.values()]
        t.add('never answers (full accept queue, 100 ms poll) vs rejection',
              mmm([h / 1e3 for h in hoff], '%.1f') + ' ms',
              mmm(list(rej.values())) + ' ns', mmm(sp, '%.2g') + '× faster',
              '', '')
    if hon:
        first = [x for x in hon if x[1] != 'ECONNREFUSED']
        after = [x[2] for x in hon if x[1] == 'ECONNREFUSED']
        t.add('same never-answering destination under the shim',
              '', '%d × %.0f ms timeouts, then rejections at %s µs '
              '(socket+connect+close)' % (len(first), med([x[2] / 1e3
              for x in first]) if first else 0, mmm(after, '%.2g')),
              '', 'opens after failure_threshold (5)',
              yes(len(first) == 5 and len(after) == len(hon) - 5))
    for w in d.get('strace', []):
        if w[0] not in ('rej', 'ref'):
            continue
        kind = 'rejection (shim)' if w[0] == 'rej' else 'kernel refusal'
        per = dict(x.split('=') for x in w[1:])
        ok = float(per.get('connect', 0)) == 0 if w[0] == 'rej' else True
        t.add('syscalls per call, strace -c: ' + kind, '', ' '.join(w[1:]),
              '', 'no connect syscall' if w[0] == 'rej' else '',
              yes(ok) if w[0] == 'rej' else '')


def scale(d, t):
    ref = by_rep(d, 'refuse')
    t.section('3. scale: 1, 64, 4096 breakers, random order, socket()/close() '
              'between calls')
    for k in (1, 64, 4096):
        rej = by_rep(d, 'reject%d' % k)
        sp = [ref[r] / max(rej[r], 1) for r in rej]
        goal = '≥ 40× at 4096' if k == 4096 else ''
        t.add('rejection among %d open breakers, ns' % k,
              mmm(list(ref.values())) + ' (refusal)', mmm(list(rej.values())),
              mmm(sp, '%.0f') + '× faster', goal,
              yes(med(sp) >= 40) if k == 4096 else '')
    for k in (1, 4096):
        rej = by_rep(d, 'reject_timed%d' % k)
        if rej:
            sp = [ref[r] / max(rej[r], 1) for r in rej]
            t.add('rejection among %d breaker%s open for 10 min (timed: reads '
                  'the clock), ns' % (k, 's' if k > 1 else ''),
                  mmm(list(ref.values())) + ' (refusal)',
                  mmm(list(rej.values())), mmm(sp, '%.0f') + '× faster',
                  '≥ 40× at 4096' if k == 4096 else '',
                  yes(med(sp) >= 40) if k == 4096 else '')
    one, wide = by_rep(d, 'reject1'), by_rep(d, 'reject_wide')
    if wide:
        r = [wide[x] / max(one[x], 1) for x in wide if x in one]
        t.add('rejection among 4096 open breakers in a 65536-place '
              'segment, ns', mmm(list(one.values())) + ' (1 breaker)',
              mmm(list(wide.values())), mmm(r, '%.2f') + '× one breaker',
              '≤ 1.5× one breaker', yes(med(r) <= 1.5))
    for m, what in (('read', 'read'), ('own', 'fetched for writing')):
        wm = by_rep(d, 'reject_wide_' + m) if 'reject_wide_' + m in d else {}
        if not wm or not one:
            continue
        r = [wm[x] / max(one[x], 1) for x in wm if x in one]
        t.add('the same, the decision line %s by the benchmark just before '
              'each call (no memory latency left%s), ns' %
              (what, '' if m == 'own' else ' but the line\'s ownership'),
              mmm(list(one.values())) + ' (1 breaker)',
              mmm(list(wm.values())), mmm(r, '%.2f') + '× one breaker',
              '≤ 1.5× one breaker' if m == 'own' else '',
              yes(med(r) <= 1.5) if m == 'own' else '')
    if 'full_new_on' in d:
        off, on = by_rep(d, 'full_new_off'), by_rep(d, 'full_new_on')
        r = [on[x] / max(off[x], 1) for x in on if x in off]
        t.add('connect() to a new destination (100 in turn, refused by the '
              'kernel) when the segment is full: 65536 places, none '
              'reclaimable; µs', mmm([v / 1000 for v in off.values()]),
              mmm([v / 1000 for v in on.values()]),
              mmm(r, '%.3f') + '× without the shim (two whole-table scans '
              'per connect before session 4: 14 ms)', '', '')
    t1 = by_rep(d, 'tight_1') if 'tight_1' in d else {}
    for k, what in (('4096', '4096 open breakers (4096 places)'),
                    ('wide', '4096 open breakers in a 65536-place segment')):
        tk = by_rep(d, 'tight_' + k) if 'tight_' + k in d else {}
        if not tk or not t1:
            continue
        r = [tk[x] / max(t1[x], 0.1) for x in tk if x in t1]
        t.add('decision (find + admit) among %s, tight loop (no system '
              'call between), ns' % what, mmm(list(t1.values())) +
              ' (1 breaker)', mmm(list(tk.values())),
              mmm(r, '%.2f') + '× one breaker',
              '≤ 1.5× one breaker' if k == 'wide' else '',
              yes(med(r) <= 1.5) if k == 'wide' else '')
    rej = by_rep(d, 'reject4096flush')
    if rej:
        sp = [ref[r] / max(rej[r], 1) for r in rej]
        t.add('rejection among 4096, slot flushed from all caches (clflush), ns',
              mmm(list(ref.values())) + ' (refusal)', mmm(list(rej.values())),
              mmm(sp, '%.0f') + '× faster', '', '')
    for k in (1, 64, 4096):
        lk = by_rep(d, 'lookup%d' % k)
        t.add('lookup (cb_table_find + can_execute) among %d closed, ns' % k,
              '', mmm(list(lk.values())), '', '', '')
    cs = {w[0][8:]: kv_eq(w[1:]) for w in d.get('cg', [])
          if w[0].startswith('cachesim') and len(w) > 2}
    # a key that cannot sit in its home slot costs a second line whatever
    # the probe order: at load a at least 2 - (1 - e^-a) / a lines
    for k, what, a in (('4096', '4096 of 4096 places (load 1/2)', 0.5),
                       ('wide', '4096 of 65536 places (load 1/32)', 1 / 32)):
        if '1' not in cs or k not in cs:
            continue
        extra = float(cs[k]['D1miss']) - float(cs['1']['D1miss'])
        t.add('callgrind --cache-sim, one decision (find + admit) after '
              'evicting the caches, %s: Ir, and segment lines beyond the '
              'breaker\'s own' % what, 'Ir %s (1 breaker)' % cs['1']['Ir'],
              'Ir %s, +%.2f lines' % (cs[k]['Ir'], extra),
              '%.2f lines per decision (bound for any table keeping the '
              'key in the line: %.3f)' % (1 + extra,
                                         2 - (1 - math.exp(-a)) / a),
              '≤ 1.0 line',
              yes(extra < 0.05))


def kv_eq(words):
    return dict(x.split('=') for x in words)


def contention(d, t):
    t.section('4. contention: decisions (admit + record) per second, '
              'direct on a segment')
    by = defaultdict(list)
    exact = defaultdict(list)
    for m, who, dps, ex in d['contend']:
        by[(m, who)].append(float(dps) / 1e6)
        exact[(m, who)].append(ex == 'yes')
    for m in ('one', 'distinct'):
        base = med(by[(m, '1t')])
        for who in ('1t', '2t', '4t', '8t', '2p'):
            v = by[(m, who)]
            if not v:
                continue
            label = who[:-1] + (' threads' if who[-1] == 't' else ' processes')
            t.add('%s breaker%s, %s: M decisions/s' % (
                'one shared' if m == 'one' else 'distinct', '' if m == 'one'
                else 's', label), '', mmm(v),
                mmm([x / base for x in v], '%.2f') + ' of 1 thread',
                'counters exact', yes(all(exact[(m, who)])))
    # the failure-rate rule on (50 %, 20 calls, 10 s), each run paired
    # with the rule-off run just before it
    for m in ('one', 'distinct'):
        for who in ('1t', '2t', '4t', '8t', '2p'):
            off, on = by[(m, who)], by[('rate-' + m, who)]
            if not on or len(on) != len(off):
                continue
            r = [b / a for a, b in zip(off, on)]
            t.add('%s, %s, failure-rate rule on: M decisions/s' % (
                'one shared breaker' if m == 'one' else 'distinct breakers',
                who[:-1] + (' threads' if who[-1] == 't' else ' processes')),
                '', mmm(on), mmm(r, '%.2f') + ' of rule off',
                '≥ 0.90 of off', yes(med(r) >= 0.90 and
                                     all(exact[('rate-' + m, who)])))


def haproxy(d, t):
    if 'rr' not in d:
        return
    t.section('5. against HAProxy 2.6 (TCP mode, observe layer4, error-limit 5, '
              'on-error mark-down)')
    by = defaultdict(dict)
    for m, who, rep, v in d['rr']:
        by[(m, rep)][who] = float(v) / 1e3
    for m, what in (('conn', 'per connection (connect + 64 B request/reply '
                     '+ close)'), ('req', 'per request on one connection')):
        reps = [x for (mm, r), x in by.items() if mm == m]
        direct = [x['direct'] for x in reps]
        for who in ('shim', 'haproxy'):
            add = [x[who] - x['direct'] for x in reps]
            ratio = [x[who] / x['direct'] for x in reps]
            t.add('%s: µs, %s vs direct' % (what, who), mmm(direct),
                  mmm([x[who] for x in reps]),
                  mmm(ratio, '%.3f') + ', +' + mmm(add, '%.3g') + ' µs', '',
                  '')
    for w in d.get('abrr', []):
        m, a = w[0], kv(w[1:])
        p10 = float(a['dflt_p10_ns']) / float(a['libc_p10_ns'])
        cpu = (float(a['dflt_cpu_ns']) - float(a['libc_cpu_ns'])) / 1e3 \
            if 'libc_cpu_ns' in a else float('nan')
        t.add('%s, in one process: libc\'s functions vs the shim\'s, µs '
              '(median; p10 ratio %.3f; CPU +%.2f µs)' % (
                  'per connection' if m == 'conn' else 'per request', p10,
                  cpu),
              '%.1f' % (float(a['libc_ns']) / 1e3),
              '%.1f' % (float(a['dflt_ns']) / 1e3),
              '%.3f (%.2f–%.2f)' % (float(a['ratio_median']),
                                    float(a['ratio_min']),
                                    float(a['ratio_max'])), '', '')
    for w in d.get('abrr_rto', []):
        a = kv(w[1:])
        t.add('per request with response_timeout set, in one process: libc\'s '
              'functions vs the shim\'s, µs (median; goal ≤ 1.01)',
              '%.1f' % (float(a['libc_ns']) / 1e3),
              '%.1f' % (float(a['dflt_ns']) / 1e3),
              '%.3f (%.2f–%.2f)' % (float(a['ratio_median']),
                                    float(a['ratio_min']),
                                    float(a['ratio_max'])), '', '')
    dead = defaultdict(list)
    for who, n, how, us in d.get('dead', []):
        dead[who].append((int(n), how, float(us)))
    if dead:
        for who in ('shim', 'haproxy'):
            v = sorted(dead[who])
            if not v:
                continue
            steady = [x[2] for x in v[6:]]
            t.add('dead backend, %s: time to the client\'s error' % who, '',
                  'attempts 1-6: %s µs (%s); attempts 7-%d: %s µs (%s)' % (
                      ', '.join('%.3g' % x[2] for x in v[:6]), v[0][1],
                      len(v), mmm(steady, '%.3g'), v[-1][1]), '', '', '')
        s = [x[2] for x in sorted(dead['shim'])[6:]]
        h = [x[2] for x in sorted(dead['haproxy'])[6:]]
        if s and h:
            t.add('dead backend, steady state: HAProxy / shim', '', '',
                  '%.0f× faster with the shim' % (med(h) / med(s)), '', '')
            t.add('dead backend, first request: HAProxy / shim', '', '',
                  '%.0f× faster with the shim' % (
                      sorted(dead['haproxy'])[0][2] /
                      sorted(dead['shim'])[0][2]), '', '')


def memory(d, t):
    t.section('6. memory')
    sb = d.get('segment_bytes')
    lay = ' '.join(d['segment_layout'][0]) if 'segment_layout' in d else ''
    if sb:
        size, used = int(sb[0][0]), sb[0][1]
        cap = 4096
        for w in lay.split(','):
            if 'capacity' in w:
                cap = int(w.split()[-1])
        t.add('segment (/dev/shm), default max_breakers %d' % cap, '',
              '%d bytes = %.0f bytes per breaker of capacity' % (
                  size, size / cap), '', '', '')
    for cap, size in d.get('segment_cap', []):
        t.add('segment for max_breakers %s' % cap, '',
              '%.1f MB = %.0f bytes per place' % (int(size) / 1e6,
                                                   int(size) / int(cap)),
              '', '', '')
    for w in d.get('churn_miss', []):
        c = kv(w)
        t.add('lookup of a new destination after churn (8 × 65536 '
              'destinations through 65536 places, reclaimed over and '
              'over), ns', '', '%s (slots never used: %s of %s)' % (
                  c['median_ns'], c['never_used'], w[-1]),
              'before session 4: 13.8 µs, and each insert a whole-table '
              'walk', '', '')
    rows = {}
    for w in d.get('mem', []):
        rows[(w[0], w[1])] = kv(w[2:])
    for k in ('1', '1000'):
        off, on = rows.get(('off', k)), rows.get(('on', k))
        if not off or not on:
            continue
        t.add('VmRSS holding %s connection%s, kB' % (k, 's' if k != '1' else
              ''), off['vmrss_kb'], on['vmrss_kb'], '+%d kB' % (
              int(on['vmrss_kb']) - int(off['vmrss_kb'])), '', '')
        t.add('  of which fd table touched (highest fd %s), segment mapped' %
              on['highest_fd'], '', '%s kB, %s kB' % (
                  on['fdtable_rss_kb'], on['segment_rss_kb']),
              '', '', '')
    fl = d.get('fd_limit')
    if fl:
        lim = min(int(fl[0][0]) if fl[0][0].isdigit() else 1 << 22, 1 << 22)
        t.add('fd table reserved (MAP_NORESERVE, not resident)', '',
              '%d fds × 16 B = %d kB virtual' % (lim, lim * 16 // 1024), '',
              '', '')


def callgrind(d, t):
    cg = {w[0]: w[1:] for w in d.get('cg', [])}
    if not cg:
        return
    t.section('7. instructions (callgrind Ir, (2N − N) runs / N calls)')
    if 'closed_connect' in cg:
        t.add('closed: inside the shim\'s connect() (less the real connect)',
              '', '%.0f Ir' % float(cg['closed_connect'][0]), '', '', '')
        t.add('closed: the shim\'s own code per cycle (socket, connect, recv, '
              'close wrappers; not the libc/vDSO calls they make)', '', '%.0f Ir' %
              float(cg['closed_shim_all'][0]), '', '', '')
        off, on = float(cg['closed_program_off'][0]), float(
            cg['closed_program_on'][0])
        t.add('closed: whole client program per cycle, user space only '
              '(the kernel\'s share is not counted)',
              '%.0f Ir' % off, '%.0f Ir' % on, '+%.0f Ir' % (on - off), '', '')
    for k in ('1', '4096'):
        key = 'open%s_connect' % k
        if key in cg:
            t.add('open: rejection inside connect(), %s breaker%s' % (
                k, 's' if k != '1' else ''), '', '%.0f Ir' %
                float(cg[key][0]), '', '', '')


def start(d, t):
    rows = {w[0]: w[1:] for w in d.get('start', [])}
    if len(rows) < 3:
        return
    # startbench: K median_us M ratio R RMIN RMAX over_us D DMIN DMAX
    med_us = {k: float(v[1]) for k, v in rows.items()}
    ratio = {k: tuple(float(x) for x in v[3:6]) for k, v in rows.items()}
    over = {k: tuple(float(x) for x in v[7:10]) for k, v in rows.items()}
    cpu = {k: float(v[11]) for k, v in rows.items() if len(v) > 15}
    cover = {k: tuple(float(x) for x in v[13:16]) for k, v in rows.items()
             if len(v) > 15}

    def rng(v, fmt):
        return (fmt % v[0]) + ' (' + (fmt % v[1]) + '–' + (fmt % v[2]) + ')'
    t.section('8. process start: posix_spawn + waitpid of /bin/true (never '
              'connects), rotating no preload / an empty preload library / '
              'the shim; ratios per block, median (min–max) over blocks')
    t.add('µs per start, the shim vs no preload', '%.1f' % med_us['0'],
          '%.1f' % med_us['2'], rng(ratio['2'], '%.4f'), '≤ 1.05',
          yes(ratio['2'][0] <= 1.05))
    t.add('µs per start, an empty preload library vs no preload',
          '%.1f' % med_us['0'], '%.1f (empty)' % med_us['1'],
          rng(ratio['1'], '%.4f'), '', '')
    t.add('the shim over the empty preload library, µs per start',
          '%.1f (empty)' % med_us['1'], '%.1f' % med_us['2'],
          '+' + rng(over['2'], '%.1f') + ' µs', '≤ 10 µs',
          yes(over['2'][0] <= 10))
    if len(cpu) == 3:
        t.add('the same in the child\'s CPU time (user + system, wait4), µs',
              '%.1f (empty; none %.1f)' % (cpu['1'], cpu['0']),
              '%.1f' % cpu['2'], '+' + rng(cover['2'], '%.1f') + ' µs',
              '', '')
    sc = [w[0] for w in d.get('start_syscalls', [])]
    if len(sc) == 3:
        t.add('system calls of one start (strace -c): none / empty / shim',
              sc[0], '%s / %s' % (sc[1], sc[2]), '+%d over empty' % (
                  int(sc[2]) - int(sc[1])), '', '')
    ir = [w[0] for w in d.get('start_ir', [])]
    if len(ir) == 2:
        t.add('instructions of one start in user space (callgrind Ir): '
              'empty library / shim', ir[0], ir[1], '+%d Ir' % (
                  int(ir[1]) - int(ir[0])), '', '')
    seg = d.get('start_segment')
    if seg:
        t.add('segment left by the programs that never connected', '',
              seg[0][0], '', 'no', yes(seg[0][0] == 'no'))


def main():
    d = load(sys.argv[1])
    m = {w[0]: ' '.join(w[1:]) for w in d.get('machine', [])}
    print('### cbshim benchmarks — %s, %s CPUs (%s), kernel %s, clocksource %s, '
          'meltdown: %s, HAProxy %s, commit %s' % (
              m.get('date', '?'), m.get('nproc', '?'), m.get('cpu', '?'),
              m.get('kernel', '?'), m.get('clocksource', '?'),
              m.get('meltdown', '?'), m.get('haproxy', '?'),
              m.get('commit', '?')))
    print()
    t = Table()
    for part in (closed, failfast, scale, contention, haproxy, memory,
                 start, callgrind):
        try:
            part(d, t)
        except (KeyError, ValueError, ZeroDivisionError, IndexError) as e:
            t.add('(%s: no data: %r)' % (part.__name__, e), '', '', '', '', '')
    print(t.markdown())


if __name__ == '__main__':
    main()
