"""Replay a trace file: `python tools/replay.py FILE [--png OUT | --gif OUT | --mp4 OUT]`
(the same as `accelsim replay`); with no output option it opens the interactive window."""

import sys

from accelsim.cli import main

if __name__ == "__main__":
    sys.exit(main(["replay", *sys.argv[1:]]))
