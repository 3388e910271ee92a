# Steps of the current Debian stable (13, trixie) only: its rootlesskit 2 drives pasta, but only with
# pasta's own port forwarding. Alice's user manager runs (MODE um of steps-host.sh).
# shellcheck shell=bash

# check's net.driver says what up --net auto takes, with pasta's version and why pasta was passed over;
# the default up takes it (its rootlesskit command); --net pasta alone is a usage error.
step_stable_net_driver() {
	local detail rc=0
	usernode check --user "$ALICE" --engine kubelet --json >"$WORK/stable.check.json" || rc=$?
	[ "$rc" -le 1 ] || fail "usernode check exited $rc"
	detail=$(report field "$WORK/stable.check.json" net.driver detail)
	echo "net.driver: $detail"
	case $detail in *"rootlesskit 2."*) ;; *) fail "net.driver names no rootlesskit 2: $detail" ;; esac
	case $detail in *"pasta version unknown"* | *"pasta absent"*) fail "pasta's version not read: $detail" ;; esac
	case $detail in
	*"up --net auto picks slirp4netns"*"pasta: rootlesskit runs pasta only with pasta's own forwarding"*) ;;
	*) fail "net.driver does not say that auto takes slirp4netns, passing pasta over: $detail" ;;
	esac
	as_alice_um usernode up --engine kubelet --name stable-dry --dry-run >"$WORK/stable.dry" ||
		fail "up --dry-run exited non-zero"
	cat "$WORK/stable.dry"
	grep -q -- '--net=slirp4netns' "$WORK/stable.dry" || fail "the default up does not run --net=slirp4netns"
	grep -q -- '--port-driver=builtin' "$WORK/stable.dry" || fail "the default up does not run --port-driver=builtin"
	rc=0
	as_alice_um usernode up --engine kubelet --name stable-pasta --net pasta --dry-run >/dev/null \
		2>"$WORK/stable.pasta.err" || rc=$?
	cat "$WORK/stable.pasta.err"
	[ "$rc" -eq 2 ] || fail "up --net pasta without --port-driver implicit exited $rc, want 2"
	grep -q -- '--port-driver implicit' "$WORK/stable.pasta.err" || fail "the usage error does not name --port-driver implicit"
}

# answers PORT: a TCP connection to the guest's 127.0.0.1:PORT is accepted.
answers() {
	python3 -c 'import socket, sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=2).close()' "$1" \
		2>/dev/null
}

# pasta through rootlesskit 2 with its own forwarding, for real: the node comes up and status says implicit;
# every port something in the node listens on is on the host without being published, on every address of
# the host, until the node is gone: one on all the node's addresses, and one on its loopback only (the
# kubelet's healthz, 127.0.0.1:10248 in the node) alike. What man usernode says of --port-driver implicit.
step_stable_pasta_implicit() {
	local rc=0 name state state_dir pids
	as_alice_um usernode up --engine kubelet --ephemeral --net pasta --port-driver implicit --wait --json \
		>"$WORK/stable.pasta.json" || rc=$?
	cat "$WORK/stable.pasta.json"
	[ "$rc" -eq 0 ] || fail "up --net pasta --port-driver implicit exited $rc"
	report node "$WORK/stable.pasta.json" >"$WORK/stable.pasta.node" || fail "status --json names no single node"
	read -r name state state_dir pids <"$WORK/stable.pasta.node"
	echo "node $name $state in $state_dir, pids $pids"
	# A failure below must not leave the node to the steps after this one.
	trap 'as_alice_um usernode down --name "$name" --purge >/dev/null 2>&1 || :' EXIT
	[ "$(report nodekey "$WORK/stable.pasta.json" port_driver)" = implicit ] || fail "status's port_driver is not implicit"
	[ "$(report nodekey "$WORK/stable.pasta.json" net)" = pasta ] || fail "status's net is not pasta"
	as_alice_um usernode exec --name "$name" -- python3 -m http.server 18480 --bind 0.0.0.0 --directory /usr/share \
		>"$WORK/stable.http.log" 2>&1 &
	# pasta scans the node's listening sockets once a second: there is no event to wait for.
	wait_until 30 answers 18480 || fail "the node's 0.0.0.0:18480 is not on the host's 127.0.0.1"
	ss -Htln | tee "$WORK/stable.listeners"
	grep -Eq '(0\.0\.0\.0|\*):18480 ' "$WORK/stable.listeners" || fail "the host does not listen on every address for 18480"
	as_alice_um usernode exec --name "$name" -- python3 -c \
		'import socket; socket.create_connection(("127.0.0.1", 10248), timeout=2).close()' ||
		fail "the kubelet's healthz does not listen on the node's 127.0.0.1:10248"
	answers 10248 || fail "the node's loopback-only 10248 is not on the host: man usernode says it is"
	grep -Eq '(0\.0\.0\.0|\*):10248 ' "$WORK/stable.listeners" || fail "the host does not listen on every address for 10248"
	trap - EXIT
	as_alice_um usernode down --name "$name" --purge || fail "down --purge exited non-zero"
	! answers 18480 || fail "127.0.0.1:18480 still answers after down --purge"
	! answers 10248 || fail "127.0.0.1:10248 still answers after down --purge"
	[ ! -e "$state_dir" ] || fail "$state_dir is left"
}
