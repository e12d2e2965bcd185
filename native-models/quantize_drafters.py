"""Int8 weights for a model directory's drafter graphs (exit_head, draft, prophet); see spear_t2s/quantize.py.

    /usr/bin/python3 native-models/quantize_drafters.py native-models/voice

Writes <role>.int8.onnx beside each float32 drafter graph and points manifest.json at it (the float32
graph stays, named in the entry's "source"). Idempotent. The target graphs are never touched.
"""

import argparse
from pathlib import Path

from spear_t2s.quantize import DRAFTER_ROLES, quantize_voice


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model_dir", type=Path, help="a folder with manifest.json (spear-t2s/1)")
    parser.add_argument("--roles", default=",".join(DRAFTER_ROLES), help="drafter roles to quantise (default: all three)")
    args = parser.parse_args()
    roles = [r for r in args.roles.split(",") if r]
    unknown = [r for r in roles if r not in DRAFTER_ROLES]
    if unknown:
        parser.error(f"--roles: {', '.join(unknown)} is not a drafter role ({', '.join(DRAFTER_ROLES)})")
    quantize_voice(args.model_dir, roles)


if __name__ == "__main__":
    main()
