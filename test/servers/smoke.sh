#!/usr/bin/env bash
# Starts each server built by build.sh on loopback with the flags written down in
# docs/testing.md ("Real test servers"), checks that it answers, and stops it.
#
#   test/servers/smoke.sh                 # kube, openbao, loki
#   test/servers/smoke.sh kube openbao    # a subset; with both, also OpenBao's
#                                         # Kubernetes auth against the apiserver
#
# Needs openssl and curl. Binaries come from .cache/current/ (run build.sh first).
# Scratch files go to .run/smoke-<pid>/, which is removed at the end unless
# KEEP_RUN=1. Prints one "ok <check>" line per passed check; exits non-zero on
# the first failure, with the server's log tail.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
bin=${LOOKOUT_SERVERS_CACHE:-$here/.cache}/current
run=$here/.run/smoke-$$
mkdir -p "$run"
pids=()

# Stops servers in reverse start order: kube-apiserver must go before etcd, since
# an apiserver whose etcd is already gone can hang on SIGTERM. SIGKILL after 10 s.
cleanup() {
	local i p t
	for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
		p=${pids[i]}
		kill -TERM "$p" 2>/dev/null || continue
		for ((t = 0; t < 100; t++)); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
	[[ ${KEEP_RUN:-} == 1 ]] || rm -rf "$run"
}
trap cleanup EXIT

fail() {
	echo "FAIL $1" >&2
	[[ -n ${2:-} && -f $2 ]] && tail -n 30 "$2" >&2
	exit 1
}
ok() { echo "ok $1"; }

# A port nothing listens on now (bash's /dev/tcp connect fails).
free_port() {
	local p
	while :; do
		p=$((20000 + RANDOM % 20000))
		(exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return; }
	done
}

# wait_for <what> <log> <seconds> <command...>: retry the command every 0.2 s.
wait_for() {
	local what=$1 log=$2 tries=$(($3 * 5)) start=$SECONDS
	shift 3
	while ! "$@" >/dev/null 2>&1; do
		((tries-- > 0)) || fail "$what did not come up" "$log"
		sleep 0.2
	done
	ok "$what up after $((SECONDS - start)) s"
}

# --- kube-apiserver + etcd ---------------------------------------------------

make_pki() {
	local d=$run/pki
	mkdir -p "$d"
	local ec=(-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes)
	openssl req -x509 "${ec[@]}" -keyout "$d/ca.key" -out "$d/ca.crt" -days 1 -subj "/CN=lookout-test-ca" 2>/dev/null
	# leaf <name> <subject> <extensions>
	leaf() {
		openssl req "${ec[@]}" -keyout "$d/$1.key" -out "$d/$1.csr" -subj "$2" 2>/dev/null
		openssl x509 -req -in "$d/$1.csr" -CA "$d/ca.crt" -CAkey "$d/ca.key" -CAcreateserial \
			-out "$d/$1.crt" -days 1 -extfile <(printf '%b' "$3") 2>/dev/null
	}
	leaf apiserver "/CN=kube-apiserver" "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\nkeyUsage=digitalSignature"
	leaf admin "/O=system:masters/CN=lookout-test-admin" "extendedKeyUsage=clientAuth\nkeyUsage=digitalSignature"
	# Service-account tokens are signed with this key pair.
	openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$d/sa.key" 2>/dev/null
	openssl pkey -in "$d/sa.key" -pubout -out "$d/sa.pub"
}

kube_url=
kube() { # kube <method> <path> [json body] [curl args...] — as the system:masters client cert
	local d=$run/pki m=$1 p=$2 body=${3:-}
	shift 2; shift $(($# > 0))
	curl -sS --cacert "$d/ca.crt" --cert "$d/admin.crt" --key "$d/admin.key" \
		-X "$m" -H 'Content-Type: application/json' ${body:+--data "$body"} "$@" "$kube_url$p"
}

kube_ok() { [[ $(kube GET "$1" '' -o /dev/null -w '%{http_code}') == 200 ]]; }

start_kube() {
	make_pki
	local d=$run/pki client peer port
	client=$(free_port) peer=$(free_port)
	"$bin/etcd" --name lookout-test --data-dir "$run/etcd" \
		--listen-client-urls "http://127.0.0.1:$client" --advertise-client-urls "http://127.0.0.1:$client" \
		--listen-peer-urls "http://127.0.0.1:$peer" --initial-advertise-peer-urls "http://127.0.0.1:$peer" \
		--initial-cluster "lookout-test=http://127.0.0.1:$peer" \
		--unsafe-no-fsync --log-level warn >"$run/etcd.log" 2>&1 &
	pids+=($!)
	wait_for etcd "$run/etcd.log" 20 curl -sf "http://127.0.0.1:$client/readyz"

	port=$(free_port)
	kube_url=https://127.0.0.1:$port
	"$bin/kube-apiserver" \
		--etcd-servers="http://127.0.0.1:$client" \
		--bind-address=127.0.0.1 --advertise-address=127.0.0.1 --secure-port="$port" \
		--cert-dir="$run/apiserver" \
		--tls-cert-file="$d/apiserver.crt" --tls-private-key-file="$d/apiserver.key" \
		--client-ca-file="$d/ca.crt" \
		--authorization-mode=Node,RBAC \
		--service-account-issuer=https://kubernetes.default.svc.cluster.local \
		--api-audiences=https://kubernetes.default.svc.cluster.local \
		--service-account-key-file="$d/sa.pub" --service-account-signing-key-file="$d/sa.key" \
		--service-cluster-ip-range=10.0.0.0/24 \
		--endpoint-reconciler-type=none \
		>"$run/apiserver.log" 2>&1 &
	pids+=($!)
	wait_for kube-apiserver "$run/apiserver.log" 60 kube_ok /readyz
	# /readyz can pass a moment before the apiserver has created namespace "default".
	wait_for 'namespace "default"' "$run/apiserver.log" 20 kube_ok /api/v1/namespaces/default
}

check_kube() {
	local out
	out=$(kube GET /version)
	[[ $out == *'"gitVersion": "v1.36.3"'* ]] || fail "/version: $out"
	ok "kube-apiserver /version reports v1.36.3"
	# No controllers run: a namespace's "default" ServiceAccount must be made by hand,
	# or the ServiceAccount admission plugin rejects every pod.
	kube POST /api/v1/namespaces/default/serviceaccounts '{"metadata":{"name":"default"}}' >/dev/null
	out=$(kube POST /api/v1/namespaces/default/pods '{"metadata":{"name":"p1"},"spec":{"containers":[{"name":"c","image":"busybox"}]}}')
	[[ $out == *'"kind": "Pod"'* ]] || fail "create pod: $out"
	out=$(curl -sS --cacert "$run/pki/ca.crt" --cert "$run/pki/admin.crt" --key "$run/pki/admin.key" \
		-X PATCH -H 'Content-Type: application/merge-patch+json' \
		--data '{"status":{"phase":"Running"}}' "$kube_url/api/v1/namespaces/default/pods/p1/status")
	[[ $out == *'"phase": "Running"'* ]] || fail "patch pod status: $out"
	ok "pod created and its status written"
	out=$(curl -sS --cacert "$run/pki/ca.crt" --cert "$run/pki/admin.crt" --key "$run/pki/admin.key" \
		-H 'Impersonate-User: slack:alice' -H 'Impersonate-Group: slack:sre' \
		"$kube_url/api/v1/namespaces/default/pods")
	[[ $out == *'"code": 403'* ]] || fail "impersonated list without RBAC was not denied: $out"
	ok "RBAC denies an impersonated user without a binding"
}

# --- OpenBao -----------------------------------------------------------------

bao_url=
bao() { # bao <method> <path> [json body] — as the dev root token
	curl -sS -H 'X-Vault-Token: lookout-root' -X "$1" ${3:+--data "$3"} "$bao_url$2"
}

start_openbao() {
	local port
	port=$(free_port)
	bao_url=http://127.0.0.1:$port
	# HOME: the CLI keeps a token helper file there; keep it out of the real home.
	HOME=$run "$bin/bao" server -dev -dev-listen-address="127.0.0.1:$port" \
		-dev-root-token-id=lookout-root -dev-no-store-token >"$run/bao.log" 2>&1 &
	pids+=($!)
	wait_for openbao "$run/bao.log" 30 curl -sf "$bao_url/v1/sys/health"
}

check_openbao() {
	local out
	out=$(bao GET /v1/sys/mounts)
	[[ $out == *'"secret/":{'*'"version":"2"'* ]] || fail "KV v2 not mounted at secret/: $out"
	out=$(bao POST /v1/secret/data/lookout/db '{"options":{"cas":0},"data":{"password":"one"}}')
	[[ $out == *'"version":1'* ]] || fail "KV v2 write: $out"
	out=$(bao POST /v1/secret/data/lookout/db '{"options":{"cas":0},"data":{"password":"two"}}')
	[[ $out == *'check-and-set parameter did not match'* ]] || fail "KV v2 CAS conflict not reported: $out"
	out=$(bao GET /v1/secret/data/lookout/db)
	[[ $out == *'"password":"one"'* ]] || fail "KV v2 read: $out"
	ok "openbao KV v2 at secret/ with check-and-set"
}

# OpenBao's Kubernetes auth method, reviewing tokens against the test apiserver.
check_openbao_kube_auth() {
	local out ca reviewer jwt
	kube POST /api/v1/namespaces/default/serviceaccounts '{"metadata":{"name":"bao-reviewer"}}' >/dev/null
	kube POST /apis/rbac.authorization.k8s.io/v1/clusterrolebindings '{"metadata":{"name":"bao-reviewer"},"roleRef":{"apiGroup":"rbac.authorization.k8s.io","kind":"ClusterRole","name":"system:auth-delegator"},"subjects":[{"kind":"ServiceAccount","name":"bao-reviewer","namespace":"default"}]}' >/dev/null
	kube POST /api/v1/namespaces/default/serviceaccounts '{"metadata":{"name":"lookout"}}' >/dev/null
	token_for() {
		kube POST "/api/v1/namespaces/default/serviceaccounts/$1/token" \
			'{"spec":{"audiences":["https://kubernetes.default.svc.cluster.local"],"expirationSeconds":3600}}' |
			sed -n 's/.*"token": "\([^"]*\)".*/\1/p'
	}
	reviewer=$(token_for bao-reviewer)
	jwt=$(token_for lookout)
	[[ -n $reviewer && -n $jwt ]] || fail "TokenRequest returned no token"
	ca=$(awk 'NF {printf "%s\\n", $0}' "$run/pki/ca.crt")
	bao POST /v1/sys/auth/kubernetes '{"type":"kubernetes"}' >/dev/null
	out=$(bao POST /v1/auth/kubernetes/config "{\"kubernetes_host\":\"$kube_url\",\"kubernetes_ca_cert\":\"$ca\",\"token_reviewer_jwt\":\"$reviewer\",\"disable_local_ca_jwt\":true}")
	[[ -z $out ]] || fail "kubernetes auth config: $out"
	bao POST /v1/auth/kubernetes/role/lookout '{"bound_service_account_names":["lookout"],"bound_service_account_namespaces":["default"],"token_policies":["default"],"audience":"https://kubernetes.default.svc.cluster.local"}' >/dev/null
	out=$(curl -sS -X POST --data "{\"role\":\"lookout\",\"jwt\":\"$jwt\"}" "$bao_url/v1/auth/kubernetes/login")
	[[ $out == *'"client_token":"'* ]] || fail "kubernetes auth login: $out" "$run/bao.log"
	ok "openbao kubernetes auth login with a service-account token of the test apiserver"
}

# --- Loki --------------------------------------------------------------------

loki_url=
start_loki() {
	local port grpc
	port=$(free_port) grpc=$(free_port)
	loki_url=http://127.0.0.1:$port
	mkdir -p "$run/loki"
	cat >"$run/loki.yaml" <<-EOF
		auth_enabled: false
		server:
		  http_listen_address: 127.0.0.1
		  http_listen_port: $port
		  grpc_listen_address: 127.0.0.1
		  grpc_listen_port: $grpc
		  log_level: warn
		common:
		  instance_addr: 127.0.0.1
		  path_prefix: $run/loki
		  replication_factor: 1
		  ring:
		    kvstore:
		      store: inmemory
		  storage:
		    filesystem:
		      chunks_directory: $run/loki/chunks
		      rules_directory: $run/loki/rules
		schema_config:
		  configs:
		    - from: 2024-01-01
		      store: tsdb
		      object_store: filesystem
		      schema: v13
		      index:
		        prefix: index_
		        period: 24h
		# The defaults keep /ready false for 10-15 s after start and stall shutdown.
		ingester:
		  lifecycler:
		    min_ready_duration: 0s
		    final_sleep: 0s
		frontend:
		  scheduler_dns_lookup_period: 250ms
		frontend_worker:
		  dns_lookup_duration: 250ms
		analytics:
		  reporting_enabled: false
	EOF
	"$bin/loki" -config.file="$run/loki.yaml" >"$run/loki.log" 2>&1 &
	pids+=($!)
	wait_for loki "$run/loki.log" 60 curl -sf "$loki_url/ready"
}

check_loki() {
	local now out tries=25
	now=$(date +%s%N)
	out=$(curl -sS -w '%{http_code}' -H 'Content-Type: application/json' --data \
		"{\"streams\":[{\"stream\":{\"namespace\":\"pay\",\"pod\":\"api-1\"},\"values\":[[\"$now\",\"OOMKilled: smoke line\"]]}]}" \
		"$loki_url/loki/api/v1/push")
	[[ $out == 204 ]] || fail "push answered $out" "$run/loki.log"
	# The line is queryable from the ingester at once; retry briefly all the same.
	while :; do
		out=$(curl -sS -G "$loki_url/loki/api/v1/query_range" --data-urlencode 'query={namespace="pay"}' \
			--data-urlencode "start=$((now - 60000000000))" --data-urlencode "end=$((now + 60000000000))")
		[[ $out == *'OOMKilled: smoke line'* ]] && break
		((tries-- > 0)) || fail "query_range did not return the pushed line: $out" "$run/loki.log"
		sleep 0.2
	done
	ok "loki push + query_range"
}

main() {
	local servers=("$@") s
	[[ ${#servers[@]} -gt 0 ]] || servers=(kube openbao loki)
	for s in "${servers[@]}"; do
		case $s in
		kube) start_kube && check_kube ;;
		openbao) start_openbao && check_openbao ;;
		loki) start_loki && check_loki ;;
		*) fail "unknown server '$s' (known: kube openbao loki)" ;;
		esac
	done
	if [[ -n $kube_url && -n $bao_url ]]; then check_openbao_kube_auth; fi
	echo "smoke: all checks passed"
}

main "$@"
