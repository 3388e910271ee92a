# Shared by the recording stand-ins (kubelet, k3s); sourced, not run.
# shellcheck shell=bash

# standin_record FILE ARG...: writes pid, uid, cwd, every argument and the whole
# environment to FILE, atomically, so a reader never sees half a record.
standin_record() {
	local file=$1 arg
	shift
	mkdir -p "$(dirname "$file")"
	{
		printf 'pid %s\n' "$$"
		printf 'uid %s\n' "$(id -u)"
		printf 'cwd %s\n' "$PWD"
		printf 'argv0 %s\n' "$0"
		for arg in "$@"; do printf 'arg %s\n' "$arg"; done
		env | LC_ALL=C sort | sed 's/^/env /'
	} >"$file.tmp.$$"
	mv -f "$file.tmp.$$" "$file"
}

# standin_healthz ADDR PORT: answers "ok" to GET /healthz in the background, when
# python3 is there; sets STANDIN_HEALTHZ_PID (empty when it could not start).
standin_healthz() {
	STANDIN_HEALTHZ_PID=
	command -v python3 >/dev/null 2>&1 || return 0
	python3 -c '
import socket, sys
addr, port = sys.argv[1], int(sys.argv[2])
s = socket.socket(socket.AF_INET6 if ":" in addr else socket.AF_INET)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((addr, port))
s.listen(16)
while True:
    c, _ = s.accept()
    try:
        c.settimeout(2)
        words = c.recv(4096).split(b" ")
        ok = len(words) > 1 and words[1].split(b"?")[0] in (b"/healthz", b"/healthz/")
        body = b"ok" if ok else b"not found"
        head = b"HTTP/1.1 200 OK" if ok else b"HTTP/1.1 404 Not Found"
        c.sendall(head + b"\r\nContent-Type: text/plain\r\nContent-Length: %d\r\nConnection: close\r\n\r\n" % len(body) + body)
    except OSError:
        pass
    finally:
        c.close()
' "$1" "$2" &
	STANDIN_HEALTHZ_PID=$!
}

# standin_wait_for_signal FILE: stays alive until SIGTERM or SIGINT, appends
# "signal TERM|INT" to the record FILE, stops the healthz server, exits 0.
standin_wait_for_signal() {
	STANDIN_RECORD_FILE=$1
	STANDIN_SLEEP_PID=
	trap 'standin_stop TERM' TERM
	trap 'standin_stop INT' INT
	# Ready, as the real kubelet and k3s tell systemd (or usernode's supervisor) through sd_notify.
	[ -z "${NOTIFY_SOCKET-}" ] || systemd-notify --ready 2>/dev/null || true
	while :; do
		sleep 3600 &
		STANDIN_SLEEP_PID=$!
		wait "$STANDIN_SLEEP_PID" || true
	done
}

standin_stop() {
	printf 'signal %s\n' "$1" >>"$STANDIN_RECORD_FILE"
	[ -z "${STANDIN_HEALTHZ_PID-}" ] || kill "$STANDIN_HEALTHZ_PID" 2>/dev/null || true
	[ -z "${STANDIN_SLEEP_PID-}" ] || kill "$STANDIN_SLEEP_PID" 2>/dev/null || true
	exit 0
}
