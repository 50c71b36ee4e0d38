#!/usr/bin/env bash
# pip-overhead.sh: what "pip install" costs through tufpip's proxy compared
# with the same files from a plain static server (DESIGN.md §5).
#
# It builds tufpip, generates a PEP 458 test repository (pep458 layout,
# RSTUF-style succinct bins) with PROJECTS synthetic projects, serves it
# with "tufpip testrepo serve", and times one "pip install" of all of them
# (their newest releases: one small wheel each, PEP 658 metadata beside it)
# into a fresh --target dir:
#
#   a  plain   pip --index-url SERVER/simple/: the static pages and files,
#              no verification at all
#   b  warm    through a proxy that has already served the same install
#              once: verified pages within the freshness window, every file
#              in the verified cache (still re-checked against the signed
#              target info before it is served)
#   c  cold    through a new proxy on a fresh --home each time: empty
#              metadata and artifact caches, every bin and file fetched and
#              verified on the way to pip. The proxy's start-up (loading
#              the trusted root and the initial refresh of timestamp,
#              snapshot and targets) is reported on its own line and not
#              counted in c, since pip cannot start before the proxy does.
#
# Each case runs RUNS times, the three taking turns in every round; the
# table shows the median wall time and the ratios b/a and c/a. Absolute
# times drift on a shared machine: compare the ratios, taken in one run.
#
# Usage:  bench/pip-overhead.sh            (from anywhere in the module)
# Environment:
#   RUNS=5          repetitions per case
#   PROJECTS=20     projects installed per pip run
#   PYTHON=python3  interpreter whose pip is measured
#   KEEP=1          keep the work directory (printed at the end)
#
# pip runs with no cache, no config file and none of the machine's PIP_*
# variables (a PIP_FIND_LINKS would let it bypass the index under test).
set -euo pipefail

RUNS=${RUNS:-5}
PROJECTS=${PROJECTS:-20}
PYTHON=${PYTHON:-python3}
KEEP=${KEEP:-}

die() { echo "pip-overhead: $*" >&2; exit 1; }

[[ $RUNS =~ ^[1-9][0-9]*$ ]] || die "RUNS must be a positive number"
[[ $PROJECTS =~ ^[1-9][0-9]*$ ]] || die "PROJECTS must be a positive number"
command -v "$PYTHON" >/dev/null || die "no $PYTHON on PATH (set PYTHON)"
command -v go >/dev/null || die "go is not on PATH"

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/tufpip-pip-overhead.XXXXXX")
pids=()
cleanup() {
	local pid
	for pid in "${pids[@]}"; do
		kill -TERM "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	done
	if [[ -n $KEEP ]]; then
		echo "work directory kept: $work" >&2
	else
		rm -rf "$work"
	fi
}
trap cleanup EXIT

# pip's environment: the machine's PIP_* variables removed.
pipenv=(env)
while IFS='=' read -r name _; do
	pipenv+=(-u "$name")
done < <(env | grep '^PIP_' || true)
pipenv+=(PIP_CONFIG_FILE=/dev/null PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_ROOT_USER_ACTION=ignore PYTHONDONTWRITEBYTECODE=1)

now() { "$PYTHON" -c 'import time; print("%.6f" % time.time())'; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) printf "%.3f", v[(NR + 1) / 2]; else printf "%.3f", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b / a }'; }

# wait_for_line FILE REGEX: the first match of REGEX in FILE (30s limit).
wait_for_line() {
	local i line
	for ((i = 0; i < 300; i++)); do
		if line=$(grep -m1 -oE "$2" "$1" 2>/dev/null); then
			echo "$line"
			return 0
		fi
		sleep 0.1
	done
	echo "pip-overhead: timed out waiting for /$2/ in $1:" >&2
	cat "$1" >&2
	return 1
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

reqs=()
for ((i = 0; i < PROJECTS; i++)); do
	reqs+=("synthetic-pkg-$i")
done

# start_proxy HOME LOG: starts a proxy, sets proxy_url and proxy_pid.
start_proxy() {
	"$tufpip" --home "$1" --metadata-url "$server/metadata/" --index-url "$server/simple/" \
		--files-url "$server/packages/" --layout pep458 --root "$work/repo/trusted-root.json" \
		proxy --listen 127.0.0.1:0 2>"$2" &
	proxy_pid=$!
	pids+=("$proxy_pid")
	proxy_url=$(wait_for_line "$2" 'http://[^ ]+/simple/')
}

stop_proxy() {
	kill -TERM "$1"
	wait "$1" || die "the proxy did not exit cleanly on SIGTERM"
}

# pip_install INDEX_URL: one timed install of every project; prints seconds.
pip_install() {
	local t0 t1 target
	target=$(mktemp -d "$work/site.XXXXXX")
	t0=$(now)
	if ! "${pipenv[@]}" "$PYTHON" -m pip install --no-input --no-cache-dir --progress-bar off -q \
		--index-url "$1" --target "$target" "${reqs[@]}" >"$work/pip.log" 2>&1; then
		cat "$work/pip.log" >&2
		die "pip install through $1 failed"
	fi
	t1=$(now)
	local n
	n=$(find "$target" -maxdepth 1 -name '*.dist-info' | wc -l)
	((n == PROJECTS)) || die "pip installed $n of $PROJECTS projects through $1"
	rm -rf "$target"
	elapsed "$t0" "$t1"
}

plain=() warm=() cold=() startup=()

echo "priming the warm proxy" >&2
start_proxy "$work/home-warm" "$work/proxy-warm.log"
warm_pid=$proxy_pid warm_url=$proxy_url
pip_install "$warm_url" >/dev/null

# The cases take turns within each round, so that drift in the machine's
# load hits all three alike.
for ((r = 0; r < RUNS; r++)); do
	echo "round $((r + 1))/$RUNS: plain, warm, cold" >&2
	plain+=("$(pip_install "$server/simple/")")
	warm+=("$(pip_install "$warm_url")")
	t0=$(now)
	start_proxy "$work/home-cold-$r" "$work/proxy-cold-$r.log"
	t1=$(now)
	startup+=("$(elapsed "$t0" "$t1")")
	cold+=("$(pip_install "$proxy_url")")
	stop_proxy "$proxy_pid"
done
stop_proxy "$warm_pid"

a=$(median "${plain[@]}")
b=$(median "${warm[@]}")
c=$(median "${cold[@]}")
s=$(median "${startup[@]}")

pipver=$("${pipenv[@]}" "$PYTHON" -m pip --version | awk '{ print $1, $2 }')
echo
echo "pip install of $PROJECTS projects ($pipver, $("$PYTHON" -V 2>&1)), median of $RUNS runs, $(nproc 2>/dev/null || echo '?') CPUs"
printf '%-34s %10s %8s   %s\n' case "median s" "vs a" "all runs (s)"
printf '%-34s %10s %8s   %s\n' "a  plain static server" "$a" "1.00" "${plain[*]}"
printf '%-34s %10s %8s   %s\n' "b  warm proxy" "$b" "$(ratio "$a" "$b")" "${warm[*]}"
printf '%-34s %10s %8s   %s\n' "c  cold proxy (fresh --home)" "$c" "$(ratio "$a" "$c")" "${cold[*]}"
printf '%-34s %10s %8s   %s\n' "   cold proxy start-up, not in c" "$s" "" "${startup[*]}"
