#!/usr/bin/env bash
# Takes the shipped voice and the test fixtures out of what a device call sends, and puts them back
# (native-models/README.md, "On a lent GPU machine"). The device tool sends the tracked and the untracked-not-ignored
# files, with the carried paths at most 64 MiB; native-models/voice alone is over 100 MiB.
#
#   native-models/tools/device/slim.sh on       # before the call
#   native-models/tools/device/slim.sh off      # after it: the index and `git status` as they were before `on`
#   native-models/tools/device/slim.sh status   # says which; exits 0 when on, 1 when off
#
# on   takes native-models/voice and tests/fixtures out of git's index (git rm -r --cached: the files stay on disk),
#      ignores each with a .gitignore of `*`, which ignores itself too, and writes .devcarry/voice.tar.xz
#      (pack.sh --only voice: the voice the webgpu stage unpacks) when it is stale, ending with pack.sh's size summary.
#      NOTE: .git/info/exclude and the hooks folder are shared by every worktree of a repository; the .gitignore
#      files are this worktree's alone, so the others keep seeing new files there.
#      While slim is on, this worktree's index lacks the voice, so a commit would delete it from git: `on` installs a
#      pre-commit hook (where none is) that refuses every commit in a worktree where slim is on.
# off  puts the index back from HEAD (git reset -- PATHS), removes the .gitignore files, and the hook when no
#      worktree of the repository is on any more.
#
# `on` refuses (exit 2) when slim is on already, or when the index differs from HEAD under those paths (off could not
# put it back); it exits 3 when pack.sh finds the call still over the limit. Between on and off, commit nothing and
# switch no branch.
set -euo pipefail
cd "$(dirname "$0")/../../.."
PATHS=(native-models/voice tests/fixtures)
STATE=$(git rev-parse --git-path spear-slim)   # this worktree's own: .git/spear-slim, .git/worktrees/NAME/spear-slim
COMMON=$(cd "$(git rev-parse --git-common-dir)" && pwd)
HOOKS=$(git config --get core.hooksPath || git rev-parse --git-path hooks)
HOOK=$HOOKS/pre-commit
IGNORE_HEAD="# slim.sh on: this folder is out of the tree a device call sends; slim.sh off removes this file"
HOOK_MARK="# spear slim.sh: refuses commits while slim is on"

is_on() { [ -e "$STATE" ]; }
state() { sed -n "s/^$1=//p" "$STATE"; }
hook_is_ours() { [ -f "$HOOK" ] && grep -qxF "$HOOK_MARK" "$HOOK"; }
# other worktrees of the repository where slim is on
others_on() {
  local own
  own=$(cd "$(dirname "$STATE")" && pwd)/spear-slim
  for f in "$COMMON/spear-slim" "$COMMON"/worktrees/*/spear-slim; do
    [ -e "$f" ] && [ "$f" != "$own" ] && return 0
  done
  return 1
}

write_hook() {
  cat >"$HOOK" <<EOF
#!/bin/sh
$HOOK_MARK
# Installed by native-models/tools/device/slim.sh on; slim.sh off removes it. While slim is on, a worktree's index
# lacks the folders it took out, and a commit would delete them from git.
state=\$(git rev-parse --git-path spear-slim)
if [ -e "\$state" ]; then
  echo "pre-commit: slim is on in this worktree: the commit would delete \$(sed -n 's/^paths=//p' "\$state") from git; run native-models/tools/device/slim.sh off first" >&2
  exit 1
fi
EOF
  chmod +x "$HOOK"
}

on() {
  if is_on; then
    echo "slim.sh: on already (since $(state since)); run slim.sh off first" >&2
    exit 2
  fi
  local taken=() path
  for path in "${PATHS[@]}"; do
    if ! git diff --cached --quiet -- "$path"; then
      echo "slim.sh: the index differs from HEAD under $path (git diff --cached -- $path): commit or unstage that first" >&2
      exit 2
    fi
    if git ls-files -v -- "$path" | grep -qv '^H '; then
      echo "slim.sh: files under $path are marked assume-unchanged or skip-worktree (git ls-files -v), which git reset would not put back" >&2
      exit 2
    fi
    if [ -e "$path/.gitignore" ]; then
      echo "slim.sh: $path/.gitignore exists; slim.sh puts its own there" >&2
      exit 2
    fi
    [ -n "$(git ls-files -- "$path" | head -1)" ] && taken+=("$path")
  done
  if [ ${#taken[@]} = 0 ]; then
    echo "slim.sh: nothing is tracked under ${PATHS[*]}" >&2
    exit 2
  fi
  # The state first: an `on` stopped halfway is undone by `off`.
  printf 'since=%s\nhead=%s\npaths=%s\n' "$(date '+%Y-%m-%d %H:%M:%S')" "$(git rev-parse -q --verify HEAD || true)" "${taken[*]}" >"$STATE"
  [ -d "$HOOKS" ] || echo "hooks_made=$HOOKS" >>"$STATE"
  for path in "${taken[@]}"; do
    git rm -r -q --cached -- "$path"
    printf '%s\n*\n' "$IGNORE_HEAD" >"$path/.gitignore"
  done
  if hook_is_ours; then
    :
  elif [ -e "$HOOK" ]; then
    echo "slim.sh: $HOOK is another hook, left as it is: commit nothing in this worktree until slim.sh off" >&2
  else
    mkdir -p "$HOOKS"
    write_hook
  fi
  echo "slim: on (${taken[*]} out of the index; slim.sh off puts them back)"
  local rc=0
  native-models/tools/device/pack.sh --only voice || rc=$?
  if [ "$rc" != 0 ]; then
    echo "slim.sh: slim is on, but pack.sh --only voice exited $rc" >&2
    exit "$rc"
  fi
}

off() {
  if ! is_on; then
    echo "slim: off already"
    return
  fi
  local head path taken
  head=$(git rev-parse -q --verify HEAD || true)
  [ "$head" = "$(state head)" ] || echo "slim.sh: HEAD moved since on ($(state head) → $head): the index is put back from the new HEAD" >&2
  read -r -a taken <<<"$(state paths)"
  for path in "${taken[@]}"; do
    if [ -f "$path/.gitignore" ] && [ "$(head -1 "$path/.gitignore")" = "$IGNORE_HEAD" ]; then
      rm "$path/.gitignore"
    fi
    git reset -q -- "$path"
  done
  local made
  made=$(state hooks_made)
  rm "$STATE"
  if hook_is_ours && ! others_on; then
    rm "$HOOK"
    [ -z "$made" ] || rmdir "$made" 2>/dev/null || true  # the folder `on` made, when nothing else is in it
  fi
  echo "slim: off (${taken[*]} back in the index)"
}

status() {
  if is_on; then
    echo "slim: on since $(state since): $(state paths) out of the index"
  else
    echo "slim: off"
    return 1
  fi
}

case "${1:-}" in
  on) on ;;
  off) off ;;
  status) status ;;
  -h | --help) sed -n '2,24p' "$0" ;;
  *) echo "usage: slim.sh on|off|status" >&2; exit 2 ;;
esac
