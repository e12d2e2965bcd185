#!/usr/bin/env bash
# Prepares .devcarry/ (git-ignored), what run.sh needs on the lent GPU machine that the tree does not hold
# (native-models/README.md, "On a lent GPU machine"):
#
#   node.tar.xz          this machine's node binary (the device machine has none)
#   node_modules.tar.xz  the app's runtime packages (package-lock.json, dev packages left out), onnxruntime-node
#                        with its Linux x64 library only
#   debs/                the Vulkan loader and GL dispatch packages, unpacked there only where the machine lacks them
#   pack.tar.xz          the training pack native-models/work/pack-everyday (prepare.sh), when there is one
#   voice.tar.xz         while slim.sh is on (the tree then travels without native-models/voice): the shipped voice's
#                        graphs of the strategies run.py benches (DEVICE_BENCH_STRATEGIES, else its DEVICE settings'),
#                        under a manifest that names only those, and its speaker (stages.py pack_voice); the webgpu
#                        stage unpacks it where the tree lacks the voice. With slim off it is removed
#   carry.json           the commit, the trainer's code commit, the node version, every file's size
#
# and, with --only festival,texts (run.sh's speaker stage, a call of its own):
#
#   festival.tar.xz      Festival, the slt HTS voice and its lexicons (dpkg -L festival festvox-us-slt-hts
#                        festlex-cmu festlex-poslex), with its dynamic loader and every library `ldd` finds, libc
#                        included: run through festival/lib/ld-linux-x86-64.so.2 it needs nothing of the machine's.
#                        Debian's voices.scm and languages.scm name /usr/share/festival; the carried copies name
#                        the carried folder (Festival's `libdir`) instead
#   speaker-texts.jsonl  {"id", "text"} of SPEAKER_TEXTS (default native-models/work/corpus/train.jsonl)
#   speaker-codebook.npz the shipped speaker's codebook, so a speaker call's tree may leave the voice out
#
# Then it adds up what a device call would send (tracked and untracked-not-ignored files, and .devcarry) against
# the device tool's 64 MiB, and exits 3 when it is over: the shipped voice alone is, so the call needs slim.sh on.
#
#   native-models/tools/device/pack.sh [--force] [--only node,modules,debs,pack,voice,festival,texts]
#
# An archive newer than its source is kept unless --force (and after changing DEVICE_BENCH_STRATEGIES). NODE_BIN
# names another node; PACK_DIR another pack.
set -euo pipefail
cd "$(dirname "$0")/../../.."
REPO=$PWD
CARRY=$REPO/.devcarry
LIMIT=$((64 * 1024 * 1024))
FORCE=0
ONLY=node,modules,debs,pack,voice
while [ $# -gt 0 ]; do
  case "$1" in
    --force) FORCE=1 ;;
    --only) ONLY=$2; shift ;;
    -h | --help) sed -n '2,26p' "$0"; exit 0 ;;
    *) echo "pack.sh: unknown option $1 (--force, --only node,modules,debs,pack,voice,festival,texts)" >&2; exit 2 ;;
  esac
  shift
done
wants() { [[ ",$ONLY," == *",$1,"* ]]; }
# stale TARGET SOURCE...: TARGET is missing, older than a source, or --force
stale() {
  local target=$1; shift
  [ "$FORCE" = 1 ] || [ ! -e "$target" ] && return 0
  for source in "$@"; do [ "$source" -nt "$target" ] && return 0; done
  return 1
}
# xz over every core, in blocks, so that run.sh's `xz -T0 -d` unpacks in parallel too
compress() { xz -T0 -6 --block-size=16MiB; }
mkdir -p "$CARRY"
PYTHON=/usr/bin/python3

if wants node; then
  NODE_BIN=$(readlink -f "${NODE_BIN:-$(command -v node)}")
  if stale "$CARRY/node.tar.xz" "$NODE_BIN"; then
    stage=$(mktemp -d)
    mkdir -p "$stage/bin" && ln -s "$NODE_BIN" "$stage/bin/node"
    NODE_VERSION=$("$NODE_BIN" --version)
    echo "pack: node $NODE_VERSION ($NODE_BIN) → .devcarry/node.tar.xz"
    tar -h -C "$stage" -cf - bin/node | compress >"$CARRY/node.tar.xz.tmp"
    mv "$CARRY/node.tar.xz.tmp" "$CARRY/node.tar.xz"
    rm -rf "$stage"
  fi
fi

if wants modules; then
  if stale "$CARRY/node_modules.tar.xz" package-lock.json; then
    # The packages package-lock.json installs for production (not "dev"), as installed here.
    mapfile -t packages < <("$PYTHON" - <<'EOF'
import json, os
lock = json.load(open("package-lock.json"))
for path, entry in lock["packages"].items():
    if path.startswith("node_modules/") and not entry.get("dev") and os.path.isdir(path):
        print(path)
EOF
    )
    [ -d node_modules/onnxruntime-node ] || { echo "pack: node_modules/onnxruntime-node is missing: run npm ci first" >&2; exit 1; }
    echo "pack: ${#packages[@]} runtime packages of node_modules → .devcarry/node_modules.tar.xz"
    # onnxruntime-node ships every platform's library; the device machine is Linux x64.
    tar -cf - --exclude='node_modules/onnxruntime-node/bin/napi-v6/darwin' --exclude='node_modules/onnxruntime-node/bin/napi-v6/win32' \
      --exclude='node_modules/onnxruntime-node/bin/napi-v6/linux/arm64' "${packages[@]}" | compress >"$CARRY/node_modules.tar.xz.tmp"
    mv "$CARRY/node_modules.tar.xz.tmp" "$CARRY/node_modules.tar.xz"
  fi
fi

if wants debs; then
  if [ "$FORCE" = 1 ] || ! ls "$CARRY"/debs/*.deb >/dev/null 2>&1; then
    mkdir -p "$CARRY/debs"
    echo "pack: libvulkan1 libglvnd0 libglx0 → .devcarry/debs"
    (cd "$CARRY/debs" && apt-get download libvulkan1 libglvnd0 libglx0) ||
      echo "pack: apt-get download failed; WebGPU then relies on the machine's own Vulkan loader" >&2
  fi
fi

if wants pack; then
  PACK_DIR=${PACK_DIR:-native-models/work/pack-everyday}
  if [ -f "$PACK_DIR/meta.json" ]; then
    if stale "$CARRY/pack.tar.xz" "$PACK_DIR/meta.json"; then
      echo "pack: $PACK_DIR → .devcarry/pack.tar.xz (as pack-everyday/)"
      tar -C "$(dirname "$PACK_DIR")" -cf - --transform="s|^$(basename "$PACK_DIR")|pack-everyday|" "$(basename "$PACK_DIR")" |
        compress >"$CARRY/pack.tar.xz.tmp"
      mv "$CARRY/pack.tar.xz.tmp" "$CARRY/pack.tar.xz"
    fi
  else
    rm -f "$CARRY/pack.tar.xz"
    echo "pack: no $PACK_DIR/meta.json: no training pack carried (prepare.sh makes one); run.sh will skip train"
  fi
fi

SLIM=off
native-models/tools/device/slim.sh status >/dev/null && SLIM=on
if wants voice; then
  if [ "$SLIM" = off ]; then
    rm -f "$CARRY/voice.tar.xz"  # the voice travels in the tree
  elif stale "$CARRY/voice.tar.xz" native-models/voice/manifest.json native-models/voice/speaker/speaker.json \
    native-models/tools/device/run.py native-models/tools/device/stages.py; then
    "$PYTHON" - "$CARRY/voice.tar.xz" <<'EOF'
import os, sys
from pathlib import Path
sys.path.insert(0, "native-models/tools/device")
import run, stages
strategies = os.environ.get("DEVICE_BENCH_STRATEGIES") or run.DEVICE.strategies
carried = stages.pack_voice(Path("native-models/voice"), strategies, Path(sys.argv[1]))
print(f"pack: native-models/voice for {strategies} (graphs {', '.join(carried['graphs'])}; chains {', '.join(carried['chains']) or 'none'}; "
      f"{'speaker/; ' if carried['speaker'] else ''}{carried['files']} files, {carried['bytes'] / 2**20:.1f} MiB) → .devcarry/voice.tar.xz")
EOF
  fi
fi

if wants festival; then
  FESTIVAL_BIN=$(command -v festival || true)
  [ -n "$FESTIVAL_BIN" ] || { echo "pack: festival is not installed here: apt-get install festival festvox-us-slt-hts" >&2; exit 1; }
  if stale "$CARRY/festival.tar.xz" "$FESTIVAL_BIN" /usr/share/festival/voices.scm; then
    stage=$(mktemp -d)
    root=$stage/festival
    mkdir -p "$root/bin" "$root/lib" "$root/share"
    cp -L "$FESTIVAL_BIN" "$root/bin/festival"
    # the loader and every library it resolves, copied as files under their sonames
    ldd "$FESTIVAL_BIN" | awk '$2 == "=>" && $3 ~ /^\// {print $3} $1 ~ /^\/.*ld-linux/ {print $1}' | while read -r lib; do cp -L "$lib" "$root/lib/"; done
    [ -e "$root/lib/ld-linux-x86-64.so.2" ] || { echo "pack: ldd $FESTIVAL_BIN names no ld-linux-x86-64.so.2" >&2; exit 1; }
    for package in festival festvox-us-slt-hts festlex-cmu festlex-poslex; do
      dpkg -L "$package" | grep '^/usr/share/festival/' | while read -r f; do
        if [ -f "$f" ]; then mkdir -p "$root/share/$(dirname "${f#/usr/share/}")" && cp -L "$f" "$root/share/${f#/usr/share/}"; fi
      done
    done
    sed -i "s|'(\"/usr/share/festival/voices/\")|(list (path-append libdir \"voices/\"))|" "$root/share/festival/voices.scm"
    sed -i "s|'(\"/usr/share/festival/languages/\" )|(list (path-append libdir \"languages/\"))|" "$root/share/festival/languages.scm"
    if grep -q '"/usr/share/festival/\(voices\|languages\)/"' "$root/share/festival/voices.scm" "$root/share/festival/languages.scm"; then
      echo "pack: voices.scm or languages.scm still names /usr/share/festival: this Festival's files differ from Debian 12's" >&2
      exit 1
    fi
    echo "pack: festival ($(du -sh "$root" | cut -f1) unpacked, $(ls "$root/lib" | wc -l) libraries) → .devcarry/festival.tar.xz"
    tar -C "$stage" -cf - festival | compress >"$CARRY/festival.tar.xz.tmp"
    mv "$CARRY/festival.tar.xz.tmp" "$CARRY/festival.tar.xz"
    rm -rf "$stage"
  fi
fi

if wants texts; then
  SPEAKER_TEXTS=${SPEAKER_TEXTS:-native-models/work/corpus/train.jsonl}
  [ -f "$SPEAKER_TEXTS" ] || { echo "pack: $SPEAKER_TEXTS is missing (SPEAKER_TEXTS names another corpus split)" >&2; exit 1; }
  if stale "$CARRY/speaker-texts.jsonl" "$SPEAKER_TEXTS"; then
    "$PYTHON" -c '
import json, sys
for line in open(sys.argv[1]):
    row = json.loads(line)
    print(json.dumps({"id": row["id"], "text": row["text"]}))' "$SPEAKER_TEXTS" >"$CARRY/speaker-texts.jsonl.tmp"
    mv "$CARRY/speaker-texts.jsonl.tmp" "$CARRY/speaker-texts.jsonl"
    echo "pack: $(wc -l <"$CARRY/speaker-texts.jsonl") texts of $SPEAKER_TEXTS → .devcarry/speaker-texts.jsonl"
  fi
  cp native-models/voice/speaker/codebook.npz "$CARRY/speaker-codebook.npz"
fi

# What a device call sends: tracked and untracked-not-ignored files as they are on disk, shared/ when there is
# one, and the carried .devcarry.
NODE_VERSION=${NODE_VERSION:-} "$PYTHON" - "$LIMIT" "$SLIM" <<'EOF'
import json, os, subprocess, sys
limit, slim = int(sys.argv[1]), sys.argv[2]
git = lambda *a: subprocess.run(["git", *a], capture_output=True, text=True).stdout.strip()
files = [f for f in git("ls-files", "-z", "--cached", "--others", "--exclude-standard").split("\0") if f]
sizes = {f: os.path.getsize(f) for f in files if os.path.isfile(f) and not os.path.islink(f)}
carry = {os.path.join(d, f)[len(".devcarry/"):]: os.path.getsize(os.path.join(d, f))
         for d, _, fs in os.walk(".devcarry") for f in fs if f != "carry.json"}
shared = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk("shared") for f in fs) if os.path.isdir("shared") else 0
# train_t2s/train.py's CODE_PATHS: what a checkpoint names as its code_commit (the device's copy has no history)
paths = ("native-models/spear_voice/train_t2s", "native-models/spear_voice/t2s", "native-models/spear_voice/training.py")
old = json.load(open(".devcarry/carry.json")) if os.path.exists(".devcarry/carry.json") else {}
meta = {"format": "spear-devcarry/1", "commit": git("rev-parse", "HEAD"), "train_code_commit": git("log", "-1", "--format=%H", "--", *paths),
        "node_version": os.environ.get("NODE_VERSION") or old.get("node_version"), "files": carry}
with open(".devcarry/carry.json", "w") as f:
    f.write(json.dumps(meta, indent=1) + "\n")
tree = sum(sizes.values())
total = tree + shared + sum(carry.values()) + os.path.getsize(".devcarry/carry.json")
mib = lambda n: f"{n / 2**20:6.1f} MiB"
print(f"pack: what a device call would send (slim {slim}: native-models/tools/device/slim.sh status)")
print(f"  {mib(tree)}  the tree ({len(sizes)} files; largest folders below)")
folders = {}
for f, n in sizes.items():
    top = "/".join(f.split("/")[:2]) if "/" in f else f
    folders[top] = folders.get(top, 0) + n
for top, n in sorted(folders.items(), key=lambda x: -x[1])[:5]:
    print(f"      {mib(n)}  {top}")
if shared:
    print(f"  {mib(shared)}  shared/")
for name, n in sorted(carry.items()):
    print(f"  {mib(n)}  .devcarry/{name}")
print(f"  {mib(total)}  in all, limit {mib(limit).strip()}")
SPEAKER = ("festival.tar.xz", "speaker-texts.jsonl", "speaker-codebook.npz")
def call_size(names, meta=True):
    """What a call carrying .devcarry/NAMES (and carry.json) sends, the tree included."""
    return tree + shared + sum(carry[name] for name in names) + (os.path.getsize(".devcarry/carry.json") if meta else 0)
speaker = [name for name in SPEAKER if name in carry]
main = [name for name in carry if name not in SPEAKER]  # what run.sh's default stages (env, webgpu, train) use
if speaker:  # run.sh --stages env,speaker carries only these
    print(f"  {mib(call_size(speaker, meta=False))}  a speaker call (the tree and .devcarry/{{{','.join(speaker)}}})")
    total = call_size(main)
    print(f"  {mib(total)}  the main call (the tree and the rest of .devcarry)")
if total > limit and "pack.tar.xz" in carry:
    # Over the limit with the training pack: the train stage goes in a call of its own (README, "On a lent GPU machine").
    bench_size = call_size([name for name in main if name != "pack.tar.xz"])
    train_size = call_size(["pack.tar.xz"])
    print(f"  {mib(bench_size)}  an env,webgpu call (the tree and .devcarry/ less pack.tar.xz)")
    print(f"  {mib(train_size)}  an env,train call (the tree, .devcarry/pack.tar.xz and carry.json)")
    total = max(bench_size, train_size)
if total > limit:
    print(f"pack: {mib(total - limit).strip()} over the device tool's limit: the call would be refused", file=sys.stderr)
    if slim == "off":
        print("pack: run native-models/tools/device/slim.sh on: it takes native-models/voice and tests/fixtures out of the tree "
              "and writes .devcarry/voice.tar.xz (slim.sh off after the call)", file=sys.stderr)
    sys.exit(3)
EOF
