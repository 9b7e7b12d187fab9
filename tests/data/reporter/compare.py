#!/usr/bin/env python3
"""compare.py -- does a set of published reports contain the expected ones?

    compare.py EXPECTED.json REPORTS.jsonl

Every value of every expected report (matched by tenant and type) must be
present and equal in the actual report: integers exactly (money in minor
units: to the cent), reals to within 0.001 after the reporter's own
rounding to 2 decimals (to 0.01 day / 0.01 point), strings and nulls
exactly, arrays element by element and of the same length. Extra fields in
the actual reports are allowed (the contract only adds fields). Prints
every difference; exit 1 when there is any.
"""
import json
import sys


def diff(exp, act, path, out):
    if isinstance(exp, dict):
        if not isinstance(act, dict):
            out.append("%s: expected an object, got %r" % (path, act))
            return
        for k, v in exp.items():
            if k not in act:
                out.append("%s.%s: missing (expected %r)" % (path, k, v))
            else:
                diff(v, act[k], "%s.%s" % (path, k), out)
    elif isinstance(exp, list):
        if not isinstance(act, list) or len(act) != len(exp):
            out.append("%s: expected %d elements, got %r" % (path, len(exp), act if not isinstance(act, list) else len(act)))
            return
        for i, (e, a) in enumerate(zip(exp, act)):
            diff(e, a, "%s[%d]" % (path, i), out)
    elif isinstance(exp, bool) or exp is None or isinstance(exp, str):
        if exp != act or type(exp) is not type(act):
            out.append("%s: expected %r, got %r" % (path, exp, act))
    elif isinstance(exp, int) and not isinstance(exp, bool):
        if not isinstance(act, int) or isinstance(act, bool) or act != exp:
            out.append("%s: expected %r, got %r" % (path, exp, act))
    elif isinstance(exp, float):
        if not isinstance(act, (int, float)) or isinstance(act, bool) or abs(act - exp) > 0.001:
            out.append("%s: expected %r, got %r" % (path, exp, act))


def compare(expected, reports):
    """expected: the parsed expected.json; reports: list of report dicts."""
    by_key = {}
    for r in reports:
        by_key[(r.get("tenant"), r.get("type"))] = r
    out = []
    for e in expected["reports"]:
        k = (e["tenant"], e["type"])
        if k not in by_key:
            out.append("%s/%s: no report" % k)
            continue
        diff(e, by_key[k], "%s/%s" % k, out)
    return out


def main():
    expected = json.load(open(sys.argv[1]))
    reports = [json.loads(l) for l in open(sys.argv[2]) if l.strip()]
    problems = compare(expected, reports)
    for p in problems:
        print(p)
    if problems:
        sys.exit(1)
    print("ok: %d reports match" % len(expected["reports"]))


if __name__ == "__main__":
    main()
