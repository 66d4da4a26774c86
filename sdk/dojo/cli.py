"""`dojo`: the Dojo Cloud command line.

    dojo jobs submit FILE [--wait]     dojo jobs get JOB       dojo jobs list [--state S]
    dojo jobs cancel JOB [--reason]    dojo jobs watch JOB     dojo jobs estimate FILE
    dojo jobs logs JOB [-f] [--from-offset N]

JOB is a job's name (when unique in the organization), its id (or a prefix of 4+
characters), or its resource name organizations/ORG/jobs/ID.
    dojo ops capacity | queue | drain | undrain | fail | quota | preempt | requeue
                                       (operators; see `dojo ops --help`)
    dojo audit list [--action A] [--actor U] [--since T]  (owners, admins, operators)

Reads DOJO_SERVER, DOJO_API_KEY, DOJO_TIMEOUT, DOJO_TLS, DOJO_TLS_CA and DOJO_INSECURE (flags
override them). `--output json` prints machine-readable JSON (JSON lines for watch).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence

from dojo import (
    cli_artifacts,
    cli_audit,
    cli_billing,
    cli_datasets,
    cli_models,
    cli_ops,
    cli_webhooks,
    render,
    specfile,
)
from dojo.client import Client
from dojo.config import ClientConfig, ConfigError
from dojo.errors import DojoError, InvalidArgumentError
from dojo.v1 import job_pb2
from dojo.watch import follow

EXIT_OK = 0
EXIT_JOB_FAILED = 1  # the job ended FAILED or CANCELLED
EXIT_BAD_INPUT = 2  # bad arguments, job file or spec (INVALID_ARGUMENT)
EXIT_API_ERROR = 3  # any other API error: auth, not found, unavailable ...
EXIT_INTERRUPTED = 130
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE, what a shell reports for a reader that went away

EPILOG = (
    "exit status: 0 ok; 1 the job failed or was cancelled; 2 bad input; "
    "3 other API errors. Environment: DOJO_SERVER, DOJO_API_KEY, DOJO_TIMEOUT, DOJO_TLS, "
    "DOJO_TLS_CA, DOJO_INSECURE."
)


def _common(parser: argparse.ArgumentParser) -> None:
    # SUPPRESS: accepted before or after the subcommand without one erasing the other.
    s = argparse.SUPPRESS
    parser.add_argument("--server", default=s, help="host:port (default: $DOJO_SERVER)")
    parser.add_argument("--api-key", default=s, help="API key (default: $DOJO_API_KEY)")
    parser.add_argument(
        "--timeout", type=float, default=s, help="seconds per call (default: $DOJO_TIMEOUT or 30)"
    )
    parser.add_argument(
        "--tls",
        action="store_true",
        default=s,
        help="connect with TLS, verified against the system's root "
        "certificates (default: $DOJO_TLS, or a grpcs:// server)",
    )
    parser.add_argument(
        "--tls-ca",
        metavar="PEM",
        default=s,
        help="CA bundle to verify the server with; implies --tls (default: $DOJO_TLS_CA)",
    )
    parser.add_argument(
        "--insecure",
        action="store_true",
        default=s,
        help="allow sending the API key without TLS to a host that is not "
        "loopback (default: $DOJO_INSECURE)",
    )
    parser.add_argument(
        "--output", "-o", choices=["text", "json"], default=s, help="text (default) or json"
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="dojo", description="Dojo Cloud command line", epilog=EPILOG
    )
    _common(parser)
    groups = parser.add_subparsers(dest="group", required=True, metavar="{jobs,ops,audit}")
    jobs = groups.add_parser("jobs", help="submit and manage training jobs").add_subparsers(
        dest="command", required=True
    )

    def command(name: str, help: str, run: Callable[..., int]) -> argparse.ArgumentParser:
        sub = jobs.add_parser(name, help=help, description=help, epilog=EPILOG)
        _common(sub)
        sub.set_defaults(run=run)
        return sub

    submit = command("submit", "submit a job from a YAML job file", cmd_submit)
    submit.add_argument("file")
    submit.add_argument(
        "--wait", action="store_true", help="follow the job with a progress bar until it ends"
    )
    submit.add_argument(
        "--request-id",
        default=None,
        help="idempotency key: resubmitting the same spec with the same id makes one job; "
        "the same id with a different spec is refused (ALREADY_EXISTS)",
    )
    ref = "the job's name (if unique in the organization), its id or an id prefix, or organizations/ORG/jobs/ID"
    command("get", "show a job", cmd_get).add_argument("name", help=ref)
    listing = command("list", "list your organization's jobs, newest first", cmd_list)
    listing.add_argument("--state", help="only jobs in this state, e.g. RUNNING")
    listing.add_argument("--limit", type=int, default=50, help="at most this many (0: all)")
    cancel = command("cancel", "cancel a job", cmd_cancel)
    cancel.add_argument("name", help=ref)
    cancel.add_argument("--reason", default="", help="recorded with the cancellation")
    watch = command("watch", "follow a job until it ends", cmd_watch)
    watch.add_argument("name", help=ref)
    logs = command("logs", "print a job's log (-f: follow it until the job ends)", cmd_logs)
    logs.add_argument("name", help=ref)
    logs.add_argument("-f", "--follow", action="store_true", help="keep printing new lines")
    logs.add_argument(
        "--from-offset", type=int, default=0, metavar="N", help="start at byte N of the log"
    )
    estimate = command("estimate", "modelled time and cost on each accelerator", cmd_estimate)
    estimate.add_argument("file")
    cli_artifacts.register(command, ref)
    cli_ops.register(groups, _common, EPILOG)
    cli_audit.register(groups, _common, EPILOG)
    cli_datasets.register(groups, _common, EPILOG)
    cli_models.register(groups, _common, EPILOG)
    cli_billing.register(groups, _common, EPILOG)
    cli_webhooks.register(groups, _common, EPILOG)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Runs one command; every user error is one message and an exit status, never a
    traceback. Output into a closed pipe (`dojo jobs list | head`) ends quietly."""
    try:
        return _main(sys.argv[1:] if argv is None else list(argv))
    except BrokenPipeError:
        # Python would complain again when it flushes stdout at exit: point it at devnull.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_BROKEN_PIPE


def _main(argv: list[str]) -> int:
    bad = next((a for a in argv if not _is_text(a)), None)
    if bad is not None:  # undecodable bytes in argv: protobuf would raise on them later
        print(
            f"error: argument {bad.encode('utf-8', 'surrogateescape')!r} is not UTF-8 text",
            file=sys.stderr,
        )
        return EXIT_BAD_INPUT
    args = build_parser().parse_args(argv)
    output = getattr(args, "output", "text")
    try:
        config = ClientConfig.from_env(
            server=getattr(args, "server", None),
            api_key=getattr(args, "api_key", None),
            timeout=getattr(args, "timeout", None),
            tls=getattr(args, "tls", None),
            tls_ca=getattr(args, "tls_ca", None),
            insecure=getattr(args, "insecure", None),
        )
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    try:
        with getattr(args, "client_class", Client)(config) as client:
            return int(args.run(client, args, output))
    except ConfigError as exc:  # e.g. an unreadable CA bundle, an API key without TLS
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except DojoError as exc:
        print(render.error(exc, REFUSED.get(args.run, "")), file=sys.stderr)
        return EXIT_BAD_INPUT if isinstance(exc, InvalidArgumentError) else EXIT_API_ERROR
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


def _label(job: job_pb2.Job) -> str:
    """ "digits-mlp (k3f9x0a1b2c3)": the job's name and its id."""
    return f"{job.spec.name} ({render.short_id(job)})" if job.spec.name else job.name


def _refused() -> dict[Callable[..., int], str]:
    """What did not happen, in the portal's words, for the commands that send a spec."""
    return {cmd_submit: "The job was not submitted", cmd_estimate: "The job was not estimated"}


def _is_text(arg: str) -> bool:
    try:
        arg.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def cmd_submit(client: Client, args: argparse.Namespace, output: str) -> int:
    spec = specfile.load(args.file)
    job = client.create_job(spec, request_id=args.request_id)
    if not args.wait:
        print(render.job(job, output))
        return EXIT_OK
    if output == "text":
        print(f"submitted {job.spec.name} as {job.name}")
    return _follow(client, job, output)


def cmd_get(client: Client, args: argparse.Namespace, output: str) -> int:
    print(render.job(client.get_job(args.name), output))
    return EXIT_OK


def cmd_list(client: Client, args: argparse.Namespace, output: str) -> int:
    jobs: list[job_pb2.Job] = []
    page_size = min(args.limit, 500) if args.limit > 0 else 500
    for job in client.list_jobs(state=args.state, page_size=page_size):
        jobs.append(job)
        if 0 < args.limit <= len(jobs):
            break
    print(render.job_list(jobs, output))
    return EXIT_OK


def cmd_cancel(client: Client, args: argparse.Namespace, output: str) -> int:
    print(render.job(client.cancel_job(args.name, reason=args.reason), output))
    return EXIT_OK


def cmd_watch(client: Client, args: argparse.Namespace, output: str) -> int:
    return _follow(client, client.get_job(args.name), output)


def cmd_logs(client: Client, args: argparse.Namespace, output: str) -> int:
    """The log's bytes as they are (JSON lines of chunks with --output json); Ctrl-C says
    where to resume."""
    offset = args.from_offset
    try:
        for chunk in client.stream_job_logs(args.name, offset=offset, follow=args.follow):
            if output == "json":
                print(render.log_chunk_json(chunk), flush=True)
            else:
                sys.stdout.write(chunk.data.decode(errors="replace"))
                sys.stdout.flush()
            offset = chunk.next_offset
    except KeyboardInterrupt:
        print(
            f"\nstopped; resume with: dojo jobs logs {args.name} -f --from-offset {offset}",
            file=sys.stderr,
        )
        return EXIT_INTERRUPTED
    return EXIT_OK


def cmd_estimate(client: Client, args: argparse.Namespace, output: str) -> int:
    options = client.estimate_job(specfile.load(args.file))
    print(render.estimate(options, output))
    return EXIT_OK


def _follow(client: Client, job: job_pb2.Job, output: str) -> int:
    """Watches until the job ends; the exit status says how it ended."""
    try:
        final = follow(client, job, output)
    except KeyboardInterrupt:
        print(
            f"\nstopped watching; the job continues. Resume with: dojo jobs watch {job.name}",
            file=sys.stderr,
        )
        return EXIT_INTERRUPTED
    if output == "json":  # the stream's last line: the final job, one object like the rest
        print(render.json_line(final), flush=True)
    if final.state == job_pb2.SUCCEEDED:
        if output == "text":
            print(f"{_label(final)} SUCCEEDED" + render.final_metrics(final))
        return EXIT_OK
    print(
        f"{_label(final)} {job_pb2.JobState.Name(final.state)}: "
        f"{final.state_reason or 'no reason given'}",
        file=sys.stderr,
    )
    return EXIT_JOB_FAILED


REFUSED = _refused()

if __name__ == "__main__":
    sys.exit(main())
