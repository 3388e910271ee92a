#!/usr/bin/python3
"""Reads usernode's JSON (check --json, status --json) for the VM scenario.

  report.py schema FILE            the report's schema
  report.py ready FILE             true | false
  report.py check FILE ID          status of check ID (or "missing")
  report.py feature FILE ID        status of feature ID (or "missing")
  report.py field FILE ID KEY      a field of check ID ("detail", "fix"; empty when null or missing)
  report.py unkept FILE COMMAND    "ID STATUS: FIX" for every check not passing whose fix runs COMMAND
                                   exactly (not with more flags)
  report.py features FILE PREFIX   "ID STATUS" for every feature whose ID starts with PREFIX
  report.py signature FILE         sorted "check|feature ID STATUS" lines, to compare runs
  report.py node FILE [NAME]       "name state state_dir pid,pid" of the node in status --json
  report.py nodes FILE             one name per node in status --json
  report.py warnings FILE [NAME]   the node's warnings in status --json, one a line
  report.py nodekey FILE KEY       a top-level field of the single node in status --json (empty if none)
  report.py port FILE NODE_PORT    "HOST_IP HOST_PORT" where the node publishes NODE_PORT
"""
import json
import sys


def load(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def entries(report, kind):
    return [e for e in report.get(kind, []) if isinstance(e, dict)]


def status_of(report, kind, ident):
    for e in entries(report, kind):
        if e.get("id") == ident:
            return str(e.get("status"))
    return "missing"


def nodes(doc):
    """status --json may describe one node, a list of them, or {"nodes": [...]}."""
    if isinstance(doc, list):
        return [n for n in doc if isinstance(n, dict)]
    if isinstance(doc, dict) and isinstance(doc.get("nodes"), list):
        return [n for n in doc["nodes"] if isinstance(n, dict)]
    if isinstance(doc, dict) and "name" in doc:
        return [doc]
    return []


def main(argv):
    if len(argv) < 3:
        sys.exit(__doc__)
    verb, doc = argv[1], load(argv[2])
    args = argv[3:]
    if verb == "schema":
        print(doc.get("schema", "missing"))
    elif verb == "ready":
        print("true" if doc.get("ready") is True else "false")
    elif verb in ("check", "feature"):
        print(status_of(doc, verb + "s", args[0]))
    elif verb == "field":
        found = [e for e in entries(doc, "checks") if e.get("id") == args[0]]
        value = found[0].get(args[1]) if found else None
        print("" if value is None else value)
    elif verb == "unkept":
        for e in entries(doc, "checks"):
            fix = e.get("fix") or ""
            at = fix.find(args[0])
            rest = fix[at + len(args[0]):] if at >= 0 else ""
            if e.get("status") != "pass" and at >= 0 and not rest.startswith(" --"):
                print(f"{e.get('id')} {e.get('status')}: {fix}")
    elif verb == "features":
        for e in entries(doc, "features"):
            if str(e.get("id", "")).startswith(args[0]):
                print(e.get("id"), e.get("status"))
    elif verb == "signature":
        lines = [f"check {e.get('id')} {e.get('status')}" for e in entries(doc, "checks")]
        lines += [f"feature {e.get('id')} {e.get('status')}" for e in entries(doc, "features")]
        print("\n".join(sorted(lines)))
    elif verb == "nodes":
        for n in nodes(doc):
            print(n.get("name"))
    elif verb in ("warnings", "nodekey", "port"):
        found = [n for n in nodes(doc) if verb != "warnings" or not args or n.get("name") == args[0]]
        if len(found) != 1:
            sys.exit(f"{len(found)} nodes in status --json")
        n = found[0]
        if verb == "warnings":
            for w in n.get("warnings") or []:
                print(w)
        elif verb == "nodekey":
            value = n.get(args[0])
            print("" if value is None else value)
        else:
            for p in n.get("ports") or []:
                if isinstance(p, dict) and str(p.get("node_port")) == args[0]:
                    print(p.get("host_ip"), p.get("host_port"))
    elif verb == "node":
        found = [n for n in nodes(doc) if not args or n.get("name") == args[0]]
        if len(found) != 1:
            sys.exit(f"{len(found)} nodes match {args[0] if args else '(any)'}")
        n = found[0]
        pids = n.get("pids") or []
        if isinstance(pids, dict):  # usernode.node/v1: {"rootlesskit": PID, "containerd": PID, ...}
            pids = list(pids.values())
        elif not isinstance(pids, list):
            pids = [pids]
        print(n.get("name"), n.get("state"), n.get("state_dir"),
              ",".join(str(p) for p in pids) or "-")
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
