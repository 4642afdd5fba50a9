# tests/cli/nsys_env.sh — sourced by tests that use Nsight Systems.
# Sets HAVE_NSYS=1 when nsys and ImportNvtxt are usable, with the Debian
# package's second fix: its host tools need their own folder on the library path.
NSYS_HOST=/usr/lib/nsight-systems/host-linux-x64
HAVE_NSYS=0
if command -v nsys >/dev/null 2>&1 && [ -x "$NSYS_HOST/ImportNvtxt" ]; then
    export LD_LIBRARY_PATH=$NSYS_HOST${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
    HAVE_NSYS=1
fi

# nsys_profile OUT CMD...: `nsys profile --trace=nvtx` with one retry (nsys 2022.4
# sometimes fails or hangs on short programs), then end the agents that run left behind:
# `nsys --start-agent` processes that were not there before it, by pid.
nsys_profile() {
    local out=$1; shift
    local try before after pid
    for try in 1 2; do
        before=$(pgrep -f -- '--start-agent' | sort)
        # a hung profile (seen: agent spinning, program reaped) is cut off after 60 s
        timeout -k 5 60 nsys profile --trace=nvtx -o "$out" --force-overwrite true "$@" >"$out.log" 2>&1
        local rc=$?
        after=$(pgrep -f -- '--start-agent' | sort)
        for pid in $(comm -13 <(echo "$before") <(echo "$after")); do kill -9 "$pid" 2>/dev/null; done
        [ $rc -eq 0 ] && [ -f "$out.nsys-rep" ] && return 0
        # before the retry, end every agent still running: one left by an earlier, killed
        # profile may hold the next session up
        pkill -9 -f -- '--start-agent' 2>/dev/null
        sleep 1
    done
    return 1
}
