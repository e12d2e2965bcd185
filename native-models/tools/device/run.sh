#!/usr/bin/env bash
# Every pending check that needs the lent GPU machine, in one call (native-models/README.md, "On a lent GPU
# machine"). Stages env, webgpu and train, each time-boxed; everything lands under $OUT, summary.json last.
#
#   native-models/tools/device/run.sh                     # on the GPU machine: OUT is set by the device tool
#   native-models/tools/device/run.sh --dry-run --out DIR # here, on the CPU: every stage with tiny budgets
#   native-models/tools/device/run.sh --skip train        # or DEVICE_SKIP=train; --stages env,webgpu
#
# run.py holds the logic, in standard-library Python; it runs under the first python3 that has torch (the device
# machine's python3; here /usr/bin/python3), or $PYTHON, and the training runs under the same one.
set -u
cd "$(dirname "$0")/../../.."
export PYTHONUNBUFFERED=1
if [ -z "${PYTHON:-}" ]; then
  for candidate in python3 /usr/bin/python3; do
    if "$candidate" -c 'import torch' 2>/dev/null; then PYTHON=$candidate; break; fi
  done
fi
exec "${PYTHON:-python3}" native-models/tools/device/run.py "$@"
