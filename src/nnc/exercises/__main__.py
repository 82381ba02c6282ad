"""python -m nnc.exercises list | start NAME FILE | check NAME FILE [--json]"""
import argparse
import json
import sys

from . import EXERCISES, check, describe, load, start


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m nnc.exercises", description="nnc's kernel exercises")
    sub = p.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="the exercises")
    s = sub.add_parser("start", help="write a stub file for an exercise")
    s.add_argument("name"); s.add_argument("file"); s.add_argument("--overwrite", action="store_true")
    c = sub.add_parser("check", help="check your file; exit status 0 when every case passes")
    c.add_argument("name"); c.add_argument("file"); c.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    try:
        if args.command == "list":
            for name, ex in EXERCISES.items():
                print(f"{name:<32s} {ex.summary}")
            return 0
        if args.command == "start":
            path = start(args.name, args.file, overwrite=args.overwrite)
            print(f"wrote {path}:\n{describe(args.name)}\nthen: python -m nnc.exercises check {args.name} {path}")
            return 0
        fn, fwd = load(args.name, args.file)
        report = check(args.name, fn, forward=fwd)
    except Exception as e:  # noqa: BLE001 - a student's file that does not import is a report, not a traceback
        if getattr(args, "json", False):
            print(json.dumps({"exercise": getattr(args, "name", None), "ok": False,
                              "error": f"{type(e).__name__}: {e}"}))
        else:
            print(f"error: {type(e).__name__}: {e}", file=sys.stderr)
        return 2
    print(json.dumps(report.to_dict(), indent=2) if args.json else report)
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
