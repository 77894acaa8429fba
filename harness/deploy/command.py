"""``python -m harness deploy``: print (or write, or send) the plan that deploys a group.

A dry run is the default: it builds the plan, checks every request against the botocore
service model, prints the steps and sends nothing. ``--out DIR`` also writes each request as
JSON and each function's package as ``DIR/packages/<function>.zip``; ``--apply`` sends the
requests with boto3 (credentials and permissions as boto3 finds them).

``--group FILE`` is the group to deploy (default: the weather station's
``lambdas/group.yaml``); each function's ``<module>.py`` is packaged from the group file's
folder (``--code-dir`` to look elsewhere), and a missing one is an error before anything is
built.

Exit status: 0 done (or dry run), 2 for a mistake in what was given (a group file with
problems, a missing Lambda module, an unknown region or component, a request the service
model refuses, an --out folder that cannot be written), 1 when AWS refused a request sent
with --apply.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from harness.deploy.plan import Plan, Response, Step
    from harness.group import Group

__all__ = ["DEFAULT_GROUP", "EXIT_REFUSED", "EXIT_USAGE", "add_parser", "run"]

#: AWS refused a request sent with --apply; a mistake in what was given
EXIT_REFUSED, EXIT_USAGE = 1, 2

#: The project's group (as ``harness.simulation.DEFAULT_GROUP``, without importing the core).
DEFAULT_GROUP = Path(__file__).resolve().parents[2] / "lambdas" / "group.yaml"

HELP = "print the plan that deploys the group to AWS IoT Greengrass (--apply sends it)"
DESCRIPTION = (
    "Build the requests that deploy the group, check each against the botocore service model,"
    " and print them (a dry run: nothing is sent). --target v2 (the default) imports each"
    " Lambda as a Greengrass V2 component, associates the device things with the core and"
    " deploys the Lambdas with the client-device components (auth, broker, bridge, IP"
    " detector), the shadow manager and, for functions' cloud routes, the legacy subscription"
    " router; --target v1 adds a version to an existing V1 group and deploys it. AWS ended"
    " Greengrass V1 support on 2026-10-07: use V1 only for cores not yet moved."
)


def _pair(text: str) -> tuple[str, str]:
    name, sep, version = text.partition("=")
    if not sep or not name or not version:
        raise argparse.ArgumentTypeError(f"{text!r}: use NAME=VERSION")
    return name, version


def add_parser(commands: Any) -> argparse.ArgumentParser:
    """Add the ``deploy`` subcommand to ``commands`` (an argparse subparsers object)."""
    parser = commands.add_parser("deploy", help=HELP, description=DESCRIPTION)
    parser.add_argument("--group", type=Path, default=DEFAULT_GROUP, metavar="FILE",
                        help="the group file (default: the weather station's "
                             "lambdas/group.yaml); its Lambda modules are packaged from its "
                             "folder")
    parser.add_argument("--target", choices=("v2", "v1"), default="v2",
                        help="v2 (default) or v1 (AWS ended V1 support on 2026-10-07)")
    parser.add_argument("--apply", action="store_true",
                        help="send the requests with boto3 (default: dry run, nothing sent)")
    parser.add_argument("--region", help="deploy in this region (default: the group's)")
    parser.add_argument("--out", type=Path, metavar="DIR",
                        help="write each request as JSON, and the Lambda packages, to DIR")
    parser.add_argument("--code-dir", type=Path, metavar="DIR",
                        help="where the Lambda modules are (default: the group file's folder)")
    parser.add_argument("--component-version", type=_pair, action="append", default=[],
                        metavar="NAME=VERSION",
                        help="v2: pin a public component (client device auth, Moquette, bridge,"
                             " IP detector, shadow manager, router, nucleus)")
    parser.add_argument("--nucleus-version", metavar="VERSION",
                        help="v2: deploy this nucleus (default: the version the core runs)")
    parser.add_argument("--group-id", metavar="ID",
                        help="v1: the existing group's id (default: by name)")
    return parser


def _load(args: argparse.Namespace) -> Group:
    from pydantic import ValidationError

    from harness.deploy.plan import DeployError
    from harness.group import Group, load_group

    group = load_group(args.group)
    if args.region and args.region != group.region:
        data = {**group.model_dump(exclude_unset=True), "region": args.region}
        try:
            group = Group.model_validate(data)
        except ValidationError:
            raise DeployError(f"--region {args.region!r} is not an AWS region such as"
                              " eu-west-2") from None
    return group


def _plan(args: argparse.Namespace, group: Group) -> Plan:
    if args.target == "v1":
        from harness.deploy.v1 import plan_v1

        return plan_v1(group, group_id=args.group_id)
    from harness.deploy.v2 import plan_v2

    return plan_v2(group, versions=dict(args.component_version),
                   nucleus_version=args.nucleus_version)


def run(args: argparse.Namespace) -> int:
    """Carry out ``deploy`` as parsed; the process exit status."""
    import botocore

    from harness.deploy.plan import DeployError
    from harness.deploy.validate import RequestInvalid, validate_request
    from harness.group import GroupError
    from harness.lambda_modules import module_problems

    try:
        group = _load(args)
        missing = module_problems(args.group, group, args.code_dir)
        if missing:
            raise GroupError(missing)
        plan = _plan(args, group)
        for step in plan.steps:
            validate_request(step.service, step.operation, step.example_params())
    except (GroupError, DeployError, RequestInvalid) as problem:
        print(problem, file=sys.stderr)
        return EXIT_USAGE
    print("\n".join(plan.lines()))
    print(f"Every request is valid for botocore {botocore.__version__}'s service models.")
    if args.out is not None:
        from harness.deploy.packages import write_packages

        try:
            written = plan.write(args.out)
            packages = write_packages(group, args.code_dir or args.group.parent,
                                      args.out / "packages")
        except OSError as problem:
            print(f"--out {args.out}: {problem}", file=sys.stderr)
            return EXIT_USAGE
        print(f"Wrote {len(written)} requests and {len(packages)} packages to {args.out}.")
    if not args.apply:
        print("Dry run: nothing was sent. --apply sends these requests.")
        return 0
    return _apply(plan)


def _apply(plan: Plan) -> int:
    from botocore.exceptions import BotoCoreError, ClientError

    from harness.deploy.apply import boto3_clients, execute
    from harness.deploy.plan import DeployError
    from harness.deploy.validate import RequestInvalid

    total = len(plan.steps)

    def progress(number: int, step: Step, response: Response) -> None:
        made = next((str(response[key]) for key in ("arn", "Arn", "deploymentId",
                                                    "DeploymentId", "Id") if key in response),
                    "done")
        print(f"[{number}/{total}] {step.id}: {made}")

    try:
        results = execute(plan, boto3_clients(plan.region), progress=progress)
    except (ClientError, BotoCoreError, DeployError, RequestInvalid) as problem:
        print(f"Stopped: {problem}", file=sys.stderr)
        return EXIT_REFUSED
    deployment = results["deployment"]
    print("Deployment created:",
          deployment.get("deploymentId") or deployment.get("DeploymentId"))
    return 0
