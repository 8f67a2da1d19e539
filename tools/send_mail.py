"""Send one mail into the local flow (``make send-mail FROM=... SUBJECT=... BODY=...``).

When a receiver is listening (``python tools/demo.py --serve`` in another terminal),
the mail goes to it and that terminal shows the hops.  Otherwise the whole flow runs
once for this mail (tools/demo.py: stand-ins started, mail sent, hops shown, stopped).

    python tools/send_mail.py --from bob@example.com --subject "Hi" --body "Any news?"
    python tools/send_mail.py --to stranger@chat.csee.tech      # refused: 550, not stored
    python tools/send_mail.py --spam                             # X-Test-Spam: yes -> verdict FAIL
"""

from __future__ import annotations

import argparse
import socket
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import demo


def _listening(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Send one mail into the local flow.")
    parser.add_argument("--from", dest="sender", default="Alice Example <alice@example.com>")
    parser.add_argument("--to", default="test@chat.csee.tech")
    parser.add_argument("--subject", default="Hello MediaMind")
    parser.add_argument("--body", default="Hello! Any news about us?")
    parser.add_argument("--spam", action="store_true", help="mark the mail as spam (X-Test-Spam: yes)")
    parser.add_argument("--smtp-port", type=int, default=demo.DEFAULT_SMTP_PORT)
    args = parser.parse_args(argv)
    if not _listening(args.smtp_port):
        print(f"no receiver on 127.0.0.1:{args.smtp_port}: running the flow once for this mail", flush=True)
        forwarded = ["--from", args.sender, "--to", args.to, "--subject", args.subject, "--body", args.body]
        return demo.main(forwarded + (["--spam"] if args.spam else []) + ["--smtp-port", str(args.smtp_port)])
    msg = demo.build_mail(args.sender, args.to, args.subject, args.body, args.spam)
    code, answer = demo.smtp_send(args.smtp_port, msg)
    print(f"SMTP 127.0.0.1:{args.smtp_port}: {code} {answer}")
    return 0 if code == 250 else 1


if __name__ == "__main__":
    sys.exit(main())
