"""`accelsim replay FILE`: an interactive window, or the summary PNG, or a GIF / MP4 of the run."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from accelsim.errors import InputError
from accelsim.trace import listing, store

_OUTPUTS = ("png", "gif", "mp4", "html")
#: An animation longer than this is hours of rendering; a frame rate above this, unplayable.
MAX_FRAMES, MAX_FPS = 10_000, 1_000


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "replay",
        help="replay a trace in a window, or export PNG / GIF / MP4 / a self-contained HTML page",
        description="Replay a trace in an interactive window, or export it: --png writes the static "
        "summary, --gif / --mp4 an animation of a cursor sweeping the run.",
    )
    parser.add_argument("file", help="trace file written by `accelsim run --trace`")
    out = parser.add_mutually_exclusive_group()
    out.add_argument("--png", metavar="OUT.png", help="write the summary figure")
    out.add_argument("--gif", metavar="OUT.gif", help="write an animated GIF of the replay")
    out.add_argument("--mp4", metavar="OUT.mp4", help="write an MP4 of the replay (needs ffmpeg)")
    out.add_argument("--html", metavar="OUT.html", help="write one self-contained page that replays it in a browser")
    parser.add_argument("--frames", type=int, default=120, metavar="N", help="animation frames (default 120)")
    parser.add_argument("--fps", type=int, default=20, metavar="F", help="animation frames per second (default 20)")
    parser.add_argument("--cycles", metavar="A:B", help="cycle window to replay (default: the whole run)")
    parser.set_defaults(func=cmd_replay)


def cmd_replay(args: argparse.Namespace) -> int:
    from accelsim import replay  # matplotlib is only needed here

    for option, most in (("frames", MAX_FRAMES), ("fps", MAX_FPS)):
        if not 1 <= getattr(args, option) <= most:
            raise InputError(f"--{option}: must be an integer in [1, {most:,}] (got {getattr(args, option)})")
    for option in _OUTPUTS:
        out = getattr(args, option)
        if out and Path(out).suffix.lower() != f".{option}":
            raise InputError(f"--{option}: the output file must end in .{option} (got {out})")
    trace = store.load(args.file, lazy=True)
    exporting = args.png or args.gif or args.mp4 or args.html
    if not exporting and not replay.has_display():
        raise InputError("replay: no display to open a window on; export with --png OUT.png or --gif OUT.gif")
    start, stop = listing.parse_window(args.cycles, trace)
    if args.png:
        print(f"wrote {replay.summary_png(trace, args.png, start, stop)}")
    elif args.html:
        from accelsim.replay.html import write_html

        print(f"wrote {write_html(trace, args.html, start, stop)}")
    elif exporting:
        print(f"wrote {replay.export_animation(trace, exporting, args.frames, args.fps, start, stop)}")
    else:
        replay.show(trace, start, stop)
    return 0
