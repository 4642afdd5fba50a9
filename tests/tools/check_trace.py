#!/usr/bin/env python3
"""Checks for infertop's trace files (used by tests/cli/test_traces.sh, test_nsys.sh).

  check_trace.py chrome F.json
      F parses as JSON and keeps the Chrome Trace Event Format's rules: every
      event has ph/pid/tid (and ts unless metadata), X events have dur >= 0,
      B/E pair by name per thread, X slices nest per thread, timestamps never go
      back per thread, async b/e pair by name per (cat, id) in time order.
      Prints "chrome ok: N events, X slices, A async pairs, C counters".
  check_trace.py count F.json NAME
      prints how many X slices are named NAME.
  check_trace.py nsys-vs-chrome NSYS.json F.json
      every X slice of F (name, duration in ns) is an NVTX range of the nsys
      JSON export (NVTXT import) with the same name and duration, and nothing else;
      and track by track: each thread of the import holds exactly the slices of
      one Chrome track (the engine's with the speculative-decoding track folded
      in), and a thread named there (NameOsThread) has that track's name.
      Prints "nsys ok: N ranges, same names and durations, T threads = tracks".
"""
import collections
import json
import sys


def fail(msg):
    print("FAIL: " + msg)
    sys.exit(1)


def check_chrome(path):
    with open(path) as f:
        doc = json.load(f)
    evs = doc["traceEvents"] if isinstance(doc, dict) else doc
    last_ts = {}
    x_stack = collections.defaultdict(list)
    be_stack = collections.defaultdict(list)
    async_stack = collections.defaultdict(list)
    async_ts = {}
    n_x = n_async = n_c = 0
    for i, e in enumerate(evs):
        where = "event %d (%s)" % (i, e.get("name"))
        for k in ("ph", "pid", "tid", "name"):
            if k not in e:
                fail("%s: no %s" % (where, k))
        ph = e["ph"]
        if ph == "M":
            continue
        if "ts" not in e or not isinstance(e["ts"], (int, float)):
            fail(where + ": no numeric ts")
        ts = e["ts"]
        if ph in ("b", "e", "n"):
            key = (e.get("cat"), e.get("id"))
            if key[1] is None:
                fail(where + ": async event without id")
            if ts < async_ts.get(key, ts):
                fail("%s: async ts %s goes back on %s" % (where, ts, key))
            async_ts[key] = ts
            st = async_stack[key]
            if ph == "b":
                st.append(e["name"])
            elif ph == "e":
                if not st or st[-1] != e["name"]:
                    fail("%s: async end without a matching begin on %s (open: %s)" % (where, key, st))
                st.pop()
                n_async += 1
            continue
        track = (e["pid"], e["tid"])
        if ts < last_ts.get(track, ts):
            fail("%s: ts %s < previous %s on track %s" % (where, ts, last_ts[track], track))
        last_ts[track] = ts
        if ph == "X":
            if "dur" not in e or not isinstance(e["dur"], (int, float)) or e["dur"] < 0:
                fail(where + ": X without a dur >= 0")
            st = x_stack[track]
            while st and ts >= st[-1] - 1e-6:
                st.pop()
            end = ts + e["dur"]
            if st and end > st[-1] + 1e-6:
                fail("%s: slice [%s, %s] overlaps its parent's end %s" % (where, ts, end, st[-1]))
            st.append(end)
            n_x += 1
        elif ph == "B":
            be_stack[track].append(e["name"])
        elif ph == "E":
            if not be_stack[track]:
                fail(where + ": E without B")
            be_stack[track].pop()
        elif ph == "C":
            n_c += 1
            if not isinstance(e.get("args"), dict):
                fail(where + ": counter without args")
    for k, st in be_stack.items():
        if st:
            fail("unclosed B on %s: %s" % (k, st))
    for k, st in async_stack.items():
        if st:
            fail("unclosed async b on %s: %s" % (k, st))
    print("chrome ok: %d events, %d slices, %d async pairs, %d counters" % (len(evs), n_x, n_async, n_c))


TID_ENGINE, TID_SPEC = 1, 3   # traces/export_chrome.c: NVTXT keeps draft/verify on the engine thread


def chrome_tracks(path):
    """{tid: Counter of (name, ns)} of the X slices, and {tid: thread name}."""
    with open(path) as f:
        doc = json.load(f)
    tracks, names = collections.defaultdict(collections.Counter), {}
    for e in doc["traceEvents"]:
        tid = TID_ENGINE if e.get("tid") == TID_SPEC else e.get("tid")
        if e.get("ph") == "X":
            tracks[tid][(e["name"], round(e["dur"] * 1000))] += 1
        elif e.get("ph") == "M" and e.get("name") == "thread_name":
            names[e["tid"]] = e["args"]["name"]
    return tracks, names


def chrome_slices(path):
    with open(path) as f:
        doc = json.load(f)
    return [(e["name"], round(e["dur"] * 1000)) for e in doc["traceEvents"] if e.get("ph") == "X"]


def nsys_threads(path):
    """{GlobalTid: Counter of (text, ns)} of the NVTX ranges, and {GlobalTid: name}."""
    threads, names = collections.defaultdict(collections.Counter), {}
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            o = json.loads(line)
            ev = o.get("NvtxtEvent", {}).get("Nvtx") or o.get("NvtxEvent")
            if ev and "EndTimestamp" in ev and "Text" in ev:
                threads[ev.get("GlobalTid")][(ev["Text"], int(ev["EndTimestamp"]) - int(ev["Timestamp"]))] += 1
            th = o.get("NvtxtMetaEvent", {}).get("Thread")
            if th:
                names[th["GlobalThreadId"]] = th["Name"]
    return threads, names


def nsys_ranges(path):
    threads, _ = nsys_threads(path)
    return [k for c in threads.values() for k in c.elements()]


def compare_tracks(nsys_path, chrome_path):
    """Each import thread = one Chrome track, same slices, same name where named."""
    threads, tnames = nsys_threads(nsys_path)
    tracks, cnames = chrome_tracks(chrome_path)
    unmatched = dict(tracks)
    for gtid, c in threads.items():
        tid = next((t for t, tc in unmatched.items() if tc == c), None)
        if tid is None:
            fail("import thread %s (%s): its %d ranges are no Chrome track's slices"
                 % (gtid, tnames.get(gtid, "unnamed"), sum(c.values())))
        if gtid in tnames and tnames[gtid] != cnames.get(tid):
            fail("import thread %s is named %r, its Chrome track %r" % (gtid, tnames[gtid], cnames.get(tid)))
        del unmatched[tid]
    if unmatched:
        fail("Chrome tracks with no import thread: %s" % [cnames.get(t, t) for t in unmatched])
    return len(threads)


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "chrome":
        check_chrome(sys.argv[2])
    elif len(sys.argv) == 4 and sys.argv[1] == "count":
        print(sum(1 for n, _ in chrome_slices(sys.argv[2]) if n == sys.argv[3]))
    elif len(sys.argv) == 4 and sys.argv[1] == "nsys-vs-chrome":
        got = collections.Counter(nsys_ranges(sys.argv[2]))
        want = collections.Counter(chrome_slices(sys.argv[3]))
        missing, extra = want - got, got - want
        if missing or extra:
            fail("%d ranges missing from the import (e.g. %s), %d unexpected (e.g. %s)"
                 % (sum(missing.values()), list(missing)[:3], sum(extra.values()), list(extra)[:3]))
        n_threads = compare_tracks(sys.argv[2], sys.argv[3])
        print("nsys ok: %d ranges, same names and durations, %d threads = tracks" % (sum(want.values()), n_threads))
    else:
        print(__doc__)
        sys.exit(2)


main()
