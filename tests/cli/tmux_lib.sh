# tests/cli/tmux_lib.sh — driving infertop in tmux like a person (sourced
# after lib.sh by test_tui.sh and test_replay.sh). Each test defines its own
# start(); sessions run on a private tmux server that the EXIT trap kills.
# Usage: tmux_setup "what would not run"   (prints the summary and exits when tmux is missing)
tmux_setup() {
    if ! command -v tmux >/dev/null 2>&1; then
        echo "  SKIP tmux not installed: $1 not run"
        summary
        exit $?
    fi
    SOCK=infertop-test-$$
    TMPD=$(mktemp -d)
    trap 'tmux -L "$SOCK" kill-server 2>/dev/null; rm -rf "$TMPD"; rm -f "$OUT" "$ERR"' EXIT
}
tm() { tmux -u -L "$SOCK" "$@"; }
cap() { tm capture-pane -p -t "$1"; }
# wait_for NAME REGEX [SECONDS]: poll the screen until it matches
wait_for() {
    local i
    for ((i = 0; i < ${3:-15} * 10; i++)); do
        cap "$1" | grep -qE -- "$2" && return 0
        sleep 0.1
    done
    return 1
}
# check NAME 'shell condition': ok, or bad with the top of session $S's screen
check() { if eval "$2"; then ok "$1"; else bad "$1"; cap "$S" | head -12 | sed 's/^/       | /'; fi; }
# quit_ok NAME KEY [RC]: send KEY, expect exit status RC (default 0) and the
# shell's screen back (alternate screen off, cursor visible). start() must
# write the status to $TMPD/NAME.rc and then echo SHELL-BACK.
quit_ok() {
    local name=$1 key=$2 want=${3:-0}
    tm send-keys -t "$name" "$key"
    wait_for "$name" SHELL-BACK 10
    check "$name: exits with status $want after $key" '[ "$(cat $TMPD/$name.rc 2>/dev/null)" = "$want" ]'
    check "$name: terminal restored (alternate screen off, cursor visible)" \
        '[ "$(tm display -p -t "$name" "#{alternate_on}#{cursor_flag}")" = 01 ]'
}
