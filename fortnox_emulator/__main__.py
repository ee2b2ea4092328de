"""`python -m fortnox_emulator --port 5050 [--auto-approve] [--control [--control-token T]] [--state-file PATH]`."""

from __future__ import annotations

import argparse
import logging
import os
from pathlib import Path

from fortnox_emulator.server import serve_forever
from fortnox_emulator.settings import READINGS, EmulatorSettings


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line; every option maps onto an `EmulatorSettings` field."""
    parser = argparse.ArgumentParser(prog="python -m fortnox_emulator",
                                     description="Run the Fortnox emulator (OAuth2 + /3/ API) over HTTP.")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=5050, help="port (default 5050)")
    parser.add_argument("--client-id", default="demo", help="the OAuth client id (default demo)")
    parser.add_argument("--client-secret", default="demo-secret", help="the OAuth client secret (default demo-secret)")
    parser.add_argument("--auto-approve", action="store_true", help="skip the consent page and approve at once")
    parser.add_argument("--control", action="store_true", help="serve the test control API under /_emulator/")
    parser.add_argument("--control-token", default=os.environ.get("FORTNOX_EMULATOR_CONTROL_TOKEN"),
                        help="the X-Emulator-Token of the control API (default $FORTNOX_EMULATOR_CONTROL_TOKEN,"
                             " else a random one, printed at start)")
    parser.add_argument("--state-file", type=Path, help="keep tenants, tokens and vouchers in this JSON file")
    parser.add_argument("--access-token-lifetime", type=int, default=3600, help="seconds (default 3600)")
    parser.add_argument("--rate-limit", type=int, default=25, help="requests per window per tenant (default 25)")
    parser.add_argument("--rate-limit-window", type=float, default=5.0, help="seconds (default 5)")
    parser.add_argument("--retry-after", type=float, help="send Retry-After (seconds) with 429 answers")
    parser.add_argument("--redirect-uri", action="append", dest="redirect_uris",
                        help="a registered redirect URI (repeatable); by default any URI is accepted")
    for name, choices in READINGS.items():
        parser.add_argument(f"--{name.replace('_', '-')}", choices=choices, default=choices[0],
                            help=f"reading of an unsettled fact (docs/EMULATOR.md; default {choices[0]})")
    parser.add_argument("--max-upload-bytes", type=int, default=5 * 1024 * 1024,
                        help="largest file /3/inbox and /3/archive take (default 5 MB; Fortnox's is unknown)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    """Run the emulator in the foreground until Ctrl-C."""
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    settings = EmulatorSettings(
        client_id=args.client_id, client_secret=args.client_secret, auto_approve=args.auto_approve,
        control=args.control, control_token=args.control_token, state_file=args.state_file, access_token_lifetime=args.access_token_lifetime,
        rate_limit_requests=args.rate_limit, rate_limit_window=args.rate_limit_window, retry_after=args.retry_after,
        redirect_uris=tuple(args.redirect_uris) if args.redirect_uris else None,
        max_upload_bytes=args.max_upload_bytes, **{name: getattr(args, name) for name in READINGS})
    serve_forever(settings, host=args.host, port=args.port)


if __name__ == "__main__":
    main()
