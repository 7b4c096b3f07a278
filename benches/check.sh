#!/usr/bin/env bash
# Runs the benchmark suite several times and judges every ratio against benches/goals.txt.
#
#   benches/check.sh [--runs N] [--markdown FILE] [BENCH...]
#
# BENCH: oneshot, stream, task, http, tcp, host (default: all of them). Each run is one
# `cargo bench -p wit-futures-harness --bench BENCH` of every BENCH, in that order (cargo
# honours CARGO_TARGET_DIR). Every `name kind = ratio (lo-hi)` line is collected; the summary
# gives per ratio the ratio of each run, their median, the smallest and largest per-round
# ratio of all runs, and the goal with ✔ or ✘. Then a markdown table (date, cores, CPU) for
# README.md, on stdout or into FILE.
#
# Exits 1 if a median misses its goal, a benchmark fails, or (when the whole suite runs) a
# goal has no ratio line; 2 on bad arguments.

set -uo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
goals_file="$root/benches/goals.txt"
all_benches=(oneshot stream task http tcp host)

usage() {
    sed -n '2,15p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
}

runs=3
markdown=
benches=()
while (($#)); do
    case $1 in
    --runs)
        [[ ${2:-} =~ ^[1-9][0-9]*$ ]] || { echo "--runs needs a positive number" >&2; exit 2; }
        runs=$2
        shift 2
        ;;
    --runs=*)
        runs=${1#--runs=}
        [[ $runs =~ ^[1-9][0-9]*$ ]] || { echo "--runs needs a positive number" >&2; exit 2; }
        shift
        ;;
    --markdown)
        [[ -n ${2:-} ]] || { echo "--markdown needs a file" >&2; exit 2; }
        markdown=$2
        shift 2
        ;;
    --markdown=*)
        markdown=${1#--markdown=}
        shift
        ;;
    -h | --help)
        usage
        exit 0
        ;;
    -*)
        echo "unknown option $1" >&2
        usage >&2
        exit 2
        ;;
    *)
        [[ " ${all_benches[*]} " == *" $1 "* ]] || {
            echo "unknown benchmark $1 (one of: ${all_benches[*]})" >&2
            exit 2
        }
        benches+=("$1")
        shift
        ;;
    esac
done
whole_suite=1
if ((${#benches[@]} == 0)); then
    benches=("${all_benches[@]}")
else
    whole_suite=0
fi

cd "$root" || exit 2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

bench_args=()
for b in "${benches[@]}"; do bench_args+=(--bench "$b"); done
echo "== building: cargo bench -p wit-futures-harness ${bench_args[*]} --no-run (CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-<default>})"
if ! cargo bench -p wit-futures-harness "${bench_args[@]}" --no-run; then
    echo "build failed" >&2
    exit 1
fi

# The ratio lines of every run: "run<TAB>label<TAB>ratio<TAB>lo<TAB>hi".
results=$work/results.tsv
: >"$results"
failed=()
suite_seconds=()
for ((run = 1; run <= runs; run++)); do
    run_start=$(date +%s)
    for b in "${benches[@]}"; do
        echo "== run $run/$runs: cargo bench --bench $b"
        out=$work/run$run-$b.txt
        cargo bench -q -p wit-futures-harness --bench "$b" | tee "$out"
        status=${PIPESTATUS[0]}
        if ((status != 0)); then
            echo "!! run $run: --bench $b failed (exit $status)"
            failed+=("run $run: $b")
        fi
        # `label = ratio (lo-hi)`; a line without the spread counts with lo = hi = ratio.
        sed -nE 's/^([A-Za-z_][^=]*[^ =]) = ([0-9.]+)( \(([0-9.]+)-([0-9.]+)\))?.*$/\1\t\2\t\4\t\5/p' "$out" |
            awk -F'\t' -v run="$run" 'BEGIN { OFS = "\t" }
                { lo = $3 == "" ? $2 : $3; hi = $4 == "" ? $2 : $4; print run, $1, $2, lo, hi }' \
                >>"$results"
    done
    suite_seconds+=($(($(date +%s) - run_start)))
    echo "== run $run/$runs took ${suite_seconds[-1]} s"
done

# Goals: "label<TAB>op<TAB>bound".
goals=$work/goals.tsv
awk '{ sub(/#.*/, "") } NF >= 3 {
        op = $(NF - 1); bound = $NF
        if (op != "<=" && op != ">=") { print "goals.txt:" NR ": no <= or >=" > "/dev/stderr"; exit 2 }
        label = $1; for (i = 2; i <= NF - 2; i++) label = label " " $i
        print label "\t" op "\t" bound
     }
     NF > 0 && NF < 3 { print "goals.txt:" NR ": not a goal" > "/dev/stderr"; exit 2 }' \
    "$goals_file" >"$goals" || exit 2

cpu=$(awk -F': *' '/^model name/ { print $2; exit }' /proc/cpuinfo 2>/dev/null)
[[ -n $cpu ]] || cpu=$(uname -m)
summary=$work/summary.txt
table=$work/table.md
awk -F'\t' -v runs="$runs" -v whole="$whole_suite" -v table="$table" \
    -v date="$(date -u '+%Y-%m-%d %H:%M UTC')" -v cores="$(nproc)" -v cpu="$cpu" \
    -v commit="$(git rev-parse --short HEAD 2>/dev/null)$(git diff --quiet HEAD 2>/dev/null || echo +changes)" '
    function decimals(s) { return index(s, ".") ? length(s) - index(s, ".") : 0 }
    function median(list,    v, n, i, j, t) {
        n = split(list, v, " ")
        for (i = 2; i <= n; i++) for (j = i; j > 1 && v[j - 1] + 0 > v[j] + 0; j--) {
            t = v[j]; v[j] = v[j - 1]; v[j - 1] = t
        }
        return n % 2 ? v[(n + 1) / 2] + 0 : (v[n / 2] + v[n / 2 + 1]) / 2
    }
    FILENAME == ARGV[1] { op[$1] = $2; bound[$1] = $3; goal_order[++goals] = $1; next }
    {
        if (!($2 in seen)) { seen[$2] = 1; order[++labels] = $2; digits[$2] = decimals($3) }
        value[$2, $1] = $3
        if (!(($2) in lo) || $4 + 0 < lo[$2] + 0) lo[$2] = $4
        if (!(($2) in hi) || $5 + 0 > hi[$2] + 0) hi[$2] = $5
    }
    END {
        missed = 0; width = 10
        for (i = 1; i <= labels; i++) if (length(order[i]) > width) width = length(order[i])
        printf "%-" width "s", "ratio"
        for (r = 1; r <= runs; r++) printf "  %8s", "run " r
        printf "  %8s  %17s  %9s\n", "median", "rounds lo-hi", "goal"
        head = "| ratio |"; rule = "|---|"
        for (r = 1; r <= runs; r++) { head = head " run " r " |"; rule = rule "---|" }
        print "Measured " date " on " cores " cores (" cpu "), " runs " run" (runs > 1 ? "s" : "") " of `benches/check.sh`" \
            (commit != "" ? " at " commit : "") ": each run'"'"'s ratio is the median of its per-round ratios; the median is over the runs; lo-hi is the range of every per-round ratio." > table
        print "" > table
        print head " median | rounds lo-hi | goal |" > table
        print rule "---|---|---|" > table
        for (i = 1; i <= labels; i++) {
            l = order[i]; list = ""; cells = ""; count = 0
            printf "%-" width "s", l
            for (r = 1; r <= runs; r++) {
                if ((l, r) in value) { list = list " " value[l, r]; count++; v = value[l, r] } else v = "-"
                printf "  %8s", v; cells = cells " " v " |"
            }
            m = sprintf("%." digits[l] "f", median(list))
            spread = lo[l] "-" hi[l]
            verdict = ""; goal = ""
            if (l in op) {
                goal = op[l] " " bound[l]
                ok = op[l] == "<=" ? m + 0 <= bound[l] + 0 : m + 0 >= bound[l] + 0
                if (count < runs) { verdict = "✘ (" count " of " runs " runs)"; missed++ }
                else if (ok) verdict = "✔"
                else { verdict = "✘"; missed++ }
            }
            printf "  %8s  %17s  %9s %s\n", m, spread, goal, verdict
            md_goal = goal == "" ? "" : goal " " verdict
            gsub(/<=/, "≤", md_goal); gsub(/>=/, "≥", md_goal)
            print "| `" l "` |" cells " **" m "** | " spread " | " md_goal " |" > table
        }
        for (g = 1; g <= goals; g++) if (!(goal_order[g] in seen)) {
            if (whole) {
                printf "%-" width "s  no ratio line in any run: goal %s %s ✘\n", goal_order[g], op[goal_order[g]], bound[goal_order[g]]
                missed++
            } else unmeasured++
        }
        if (unmeasured) print unmeasured " goals not measured by the benchmarks run"
        print (missed ? "goals missed: " missed : "every goal met")
        exit (missed ? 1 : 0)
    }' "$goals" "$results" >"$summary"
judged=$?

echo
echo "== summary: ${benches[*]}, $runs runs (suite run times: ${suite_seconds[*]} s), goals from benches/goals.txt"
cat "$summary"
if ((${#failed[@]})); then
    printf 'benchmark failed: %s\n' "${failed[@]}"
fi
echo
if [[ -n $markdown ]]; then
    cp "$table" "$markdown"
    echo "== markdown table written to $markdown"
else
    echo "== markdown table"
    cat "$table"
fi

if ((judged != 0 || ${#failed[@]} != 0)); then
    exit 1
fi
