# lib.sh - the prologue the faultline integration scripts share; source it after setting $fl.
#
#   it_begin NAME   exit 77 without root; $work a fresh temp dir, removed at exit (kept with
#                   FL_KEEP=1) after `faultline clean` of what a failed run left; failed=0
#   fail MSG...     reports a failure and marks the script failed (it goes on)
it_begin() {
    if [[ $(id -u) -ne 0 ]]; then
        echo "$1: needs root (network namespaces)"
        exit 77
    fi
    work=$(mktemp -d "/tmp/fl-it-$1.XXXXXX")
    trap it_end EXIT
    failed=0
}

it_end() {
    "$fl" clean >/dev/null 2>&1 || true
    [[ -n ${FL_KEEP:-} ]] || rm -rf "$work"
}

fail() {
    echo "FAILED: $*"
    failed=1
}
