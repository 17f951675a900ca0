# shellcheck shell=bash
# What the shell scripts under tools/ share: messages, and daemons in process groups of their own.
# Source it after setting TOOL (the name in the messages) and, optionally, T0 (the start time):
#
#   TOOL=local-heat; T0=$(date +%s)
#   # shellcheck source=tools/lib.sh
#   . "$here/lib.sh"
#
# log MSG...   `[TOOL +Ns] MSG` on stderr (N: seconds since T0); TOOL_ELAPSED=0: `[TOOL] MSG`
# die MSG...   `TOOL: MSG` on stderr, exit 1
#
# A daemon is started by spawn_group in a process group (and session) of its own: its pid is also
# its process group id, so stopping it signals exactly what it started. Its pid file holds the pid
# and, optionally, a marker that must appear in the process's command line, so that a pid reused
# after a reboot is never taken for ours. Pid files have no trailing newline: kwokctl v0.7.0 parses
# its own with Atoi and takes a failure for "not running" (tools/local-cluster writes into those).

TOOL=${TOOL:?set TOOL before sourcing tools/lib.sh}
T0=${T0:-$(date +%s)}

log() {
    if [ "${TOOL_ELAPSED:-1}" = 0 ]; then printf '[%s] %s\n' "$TOOL" "$*" >&2
    else printf '[%s +%ss] %s\n' "$TOOL" "$(($(date +%s) - T0))" "$*" >&2; fi
}
die() { printf '%s: %s\n' "$TOOL" "$*" >&2; exit 1; }

# pid_write FILE PID [MARKER]: the pid file, without a trailing newline.
pid_write() { printf '%s' "$2${3:+ $3}" > "$1"; }

# pid_alive FILE [MARKER]: print the pid in FILE and succeed if that process runs and its command
# line (NULs read as spaces) contains MARKER; without MARKER, the one stored in FILE (none: any).
pid_alive() {
    local f=$1 want=${2:-} pid="" marker=""
    [ -f "$f" ] || return 1
    read -r pid marker < "$f" || true   # no trailing newline: read fails but sets both
    [[ $pid =~ ^[0-9]+$ ]] && [ -r "/proc/$pid/cmdline" ] || return 1
    want=${want:-$marker}
    if [ -n "$want" ]; then tr '\0' ' ' < "/proc/$pid/cmdline" | grep -qF -- "$want" || return 1; fi
    echo "$pid"
}

# proc_exe PID: the executable PID runs (a replaced binary's " (deleted)" dropped), or fail.
proc_exe() {
    local exe
    exe=$(readlink "/proc/$1/exe" 2>/dev/null) || return 1
    echo "${exe% (deleted)}"
}

# pid_exe_alive FILE PATTERN...: print the pid in FILE and succeed if that process's executable
# matches one of the glob PATTERNs (an exact path is a pattern too).
pid_exe_alive() {
    local f=$1 pid="" exe p
    shift
    [ -f "$f" ] || return 1
    read -r pid _ < "$f" || true
    [[ $pid =~ ^[0-9]+$ ]] || return 1
    exe=$(proc_exe "$pid") || return 1
    for p in "$@"; do
        # shellcheck disable=SC2053   # $p is a glob pattern on purpose
        [[ $exe == $p ]] && { echo "$pid"; return 0; }
    done
    return 1
}

# spawn_group PIDFILE LOGFILE MARKER CMD...: start CMD in a process group of its own (setsid),
# stdin from /dev/null, stdout and stderr appended to LOGFILE, none of our lock descriptors
# (7, 8, 9) inherited; write PIDFILE (pid and MARKER, which may be ""). The caller's cwd and
# environment are CMD's: `(cd DIR && VAR=x spawn_group ...)` for another.
spawn_group() {
    local pidfile=$1 logfile=$2 marker=$3
    shift 3
    (exec setsid "$@" < /dev/null >> "$logfile" 2>&1 7>&- 8>&- 9>&-) &
    pid_write "$pidfile" "$!" "$marker"
}

# proc_gone PID: the process has exited (or is a zombie its parent has not reaped yet).
proc_gone() {
    [ -d "/proc/$1" ] || return 0
    grep -q '^State:.*Z' "/proc/$1/status" 2>/dev/null
}

# group_stop PID [SECONDS [SIGNAL]]: SIGNAL (default TERM) to the process group PID, then KILL
# to whatever of it is left after SECONDS (default 15).
group_stop() {
    local pid=$1 secs=${2:-15} sig=${3:-TERM} i
    kill "-$sig" -- "-$pid" 2>/dev/null || true
    for ((i = 0; i < secs * 10; i++)); do
        kill -0 -- "-$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL -- "-$pid" 2>/dev/null || true
}

# proc_stop PID [SECONDS]: TERM to the one process PID (not its group), then KILL if it has not
# exited after SECONDS (default 10).
proc_stop() {
    local pid=$1 secs=${2:-10} i
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < secs * 10; i++)); do
        proc_gone "$pid" && return 0
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
}
