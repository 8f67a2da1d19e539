"""The VPC's flow logs, read from the emulator (no flow log *_info module exists in amazon.aws/community.aws).

argv: VPC id.  The rest of the network verify.yml reads with amazon.aws's *_info modules.
"""

from __future__ import annotations

import state


def read(vpc_id: str) -> list[dict]:
    return state.client("ec2").describe_flow_logs(Filters=state.ec2_filters(resource_id=vpc_id))["FlowLogs"]


if __name__ == "__main__":
    state.run(read)
