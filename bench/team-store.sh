#!/usr/bin/env bash
# team-store.sh: what the shared S3 store (docs/team.md) saves a replica.
#
# Like pip-overhead.sh: builds tufpip, generates a pep458 test repository
# with PROJECTS synthetic projects, serves it with "tufpip testrepo serve",
# and times one "pip install" of all of them into a fresh --target dir.
# A Versity S3 Gateway on 127.0.0.1 (versitygw on PATH or in ~/go/bin)
# holds the store. The cases, taking turns in each of RUNS rounds:
#
#   a  plain     pip straight from the static server: no verification
#   b  warm A    replica A, which already served this install: every file
#                in its local cache (re-checked before serving)
#   c  store B   a new replica B (fresh --home and local cache) on the
#                store A filled: every file read from the bucket and
#                verified into B's cache, no file from upstream
#   d  cold      a new replica without a store: every file from upstream
#
# Replica start-up (root, initial refresh, the bucket check) is not timed.
# The table shows medians and ratios to a; compare ratios, not seconds.
#
# Usage:  bench/team-store.sh      Environment: RUNS=5 PROJECTS=20 PYTHON=python3 KEEP=1
set -euo pipefail

RUNS=${RUNS:-5}
PROJECTS=${PROJECTS:-20}
PYTHON=${PYTHON:-python3}
KEEP=${KEEP:-}

die() { echo "team-store: $*" >&2; exit 1; }
[[ $RUNS =~ ^[1-9][0-9]*$ ]] || die "RUNS must be a positive number"
[[ $PROJECTS =~ ^[1-9][0-9]*$ ]] || die "PROJECTS must be a positive number"
command -v "$PYTHON" >/dev/null || die "no $PYTHON on PATH (set PYTHON)"
versitygw=$(command -v versitygw || echo "$(go env GOPATH)/bin/versitygw")
[[ -x $versitygw ]] || die "versitygw is not installed: GOTOOLCHAIN=local go install github.com/versity/versitygw/cmd/versitygw@v1.8.0"

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/tufpip-team-store.XXXXXX")
pids=()
cleanup() {
	local pid
	for pid in "${pids[@]}"; do
		kill -TERM "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	done
	if [[ -n $KEEP ]]; then echo "work directory kept: $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT

pipenv=(env)
while IFS='=' read -r name _; do pipenv+=(-u "$name"); done < <(env | grep '^PIP_' || true)
pipenv+=(PIP_CONFIG_FILE=/dev/null PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_ROOT_USER_ACTION=ignore PYTHONDONTWRITEBYTECODE=1)

now() { "$PYTHON" -c 'import time; print("%.6f" % time.time())'; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) printf "%.3f", v[(NR + 1) / 2]; else printf "%.3f", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b / a }'; }
free_port() { "$PYTHON" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_for_line() {
	local i line
	for ((i = 0; i < 300; i++)); do
		if line=$(grep -m1 -oE "$2" "$1" 2>/dev/null); then echo "$line"; return 0; fi
		sleep 0.1
	done
	echo "team-store: timed out waiting for /$2/ in $1:" >&2; cat "$1" >&2; return 1
}

echo "building tufpip" >&2
(cd "$root" && go build -o "$work/tufpip" ./cmd/tufpip)
tufpip=$work/tufpip
echo "generating $PROJECTS projects" >&2
"$tufpip" testrepo generate "$work/repo" --projects "$PROJECTS" >/dev/null
"$tufpip" testrepo serve "$work/repo" --listen 127.0.0.1:0 >"$work/server.out" 2>"$work/server.err" &
pids+=($!)
server=$(wait_for_line "$work/server.out" '^http://[^ ]+')
server=${server%/}

# The S3 store: the posix backend makes every directory under its root a bucket.
mkdir -p "$work/s3/bench"
s3port=$(free_port)
ROOT_ACCESS_KEY_ID=bench ROOT_SECRET_ACCESS_KEY=bench-secret-0123456789 \
	"$versitygw" --port "127.0.0.1:$s3port" posix "$work/s3" >"$work/s3.log" 2>&1 &
pids+=($!)
wait_for_line "$work/s3.log" 'listening on' >/dev/null
export AWS_ACCESS_KEY_ID=bench AWS_SECRET_ACCESS_KEY=bench-secret-0123456789 AWS_REGION=us-east-1 \
	AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null AWS_EC2_METADATA_DISABLED=true
store=(--store "s3://bench/run" --store-endpoint "http://127.0.0.1:$s3port" --store-path-style)

reqs=()
for ((i = 0; i < PROJECTS; i++)); do reqs+=("synthetic-pkg-$i"); done

# start_proxy HOME LOG [FLAGS...]: sets proxy_url and proxy_pid.
start_proxy() {
	local home=$1 log=$2
	shift 2
	"$tufpip" --home "$home" --metadata-url "$server/metadata/" --index-url "$server/simple/" \
		--files-url "$server/packages/" --layout pep458 --root "$work/repo/trusted-root.json" \
		proxy --listen 127.0.0.1:0 "$@" 2>"$log" &
	proxy_pid=$!
	pids+=("$proxy_pid")
	proxy_url=$(wait_for_line "$log" 'http://[^ ]+/simple/')
}
stop_proxy() { kill -TERM "$1"; wait "$1" || die "the proxy did not exit cleanly on SIGTERM"; }

pip_install() {
	local t0 t1 target n
	target=$(mktemp -d "$work/site.XXXXXX")
	t0=$(now)
	if ! "${pipenv[@]}" "$PYTHON" -m pip install --no-input --no-cache-dir --progress-bar off -q \
		--index-url "$1" --target "$target" "${reqs[@]}" >"$work/pip.log" 2>&1; then
		cat "$work/pip.log" >&2; die "pip install through $1 failed"
	fi
	t1=$(now)
	n=$(find "$target" -maxdepth 1 -name '*.dist-info' | wc -l)
	((n == PROJECTS)) || die "pip installed $n of $PROJECTS projects through $1"
	rm -rf "$target"
	elapsed "$t0" "$t1"
}

plain=() warm=() storeb=() cold=()
echo "priming replica A (fills the store)" >&2
start_proxy "$work/home-a" "$work/proxy-a.log" "${store[@]}"
a_pid=$proxy_pid a_url=$proxy_url
pip_install "$a_url" >/dev/null

for ((r = 0; r < RUNS; r++)); do
	echo "round $((r + 1))/$RUNS: plain, warm A, store B, cold" >&2
	plain+=("$(pip_install "$server/simple/")")
	warm+=("$(pip_install "$a_url")")
	start_proxy "$work/home-b-$r" "$work/proxy-b-$r.log" "${store[@]}"
	storeb+=("$(pip_install "$proxy_url")")
	stop_proxy "$proxy_pid"
	grep -q 'level=WARN' "$work/proxy-b-$r.log" && { cat "$work/proxy-b-$r.log" >&2; die "replica B warned"; }
	start_proxy "$work/home-c-$r" "$work/proxy-c-$r.log"
	cold+=("$(pip_install "$proxy_url")")
	stop_proxy "$proxy_pid"
done
stop_proxy "$a_pid"

a=$(median "${plain[@]}") b=$(median "${warm[@]}") c=$(median "${storeb[@]}") d=$(median "${cold[@]}")
pipver=$("${pipenv[@]}" "$PYTHON" -m pip --version | awk '{ print $1, $2 }')
echo
echo "pip install of $PROJECTS projects ($pipver, $("$PYTHON" -V 2>&1)), median of $RUNS runs, $(nproc 2>/dev/null || echo '?') CPUs"
printf '%-40s %10s %8s   %s\n' case "median s" "vs a" "all runs (s)"
printf '%-40s %10s %8s   %s\n' "a  plain static server" "$a" "1.00" "${plain[*]}"
printf '%-40s %10s %8s   %s\n' "b  warm replica A (local cache)" "$b" "$(ratio "$a" "$b")" "${warm[*]}"
printf '%-40s %10s %8s   %s\n' "c  new replica B on A's store" "$c" "$(ratio "$a" "$c")" "${storeb[*]}"
printf '%-40s %10s %8s   %s\n' "d  new replica, no store (upstream)" "$d" "$(ratio "$a" "$d")" "${cold[*]}"
