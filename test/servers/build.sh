#!/usr/bin/env bash
# Builds the real servers that Lookout's integration tests run on loopback
# (kube-apiserver + etcd, OpenBao, Loki, kube-state-metrics) from the Go modules
# beside this script.
#
#   test/servers/build.sh                 # every server
#   test/servers/build.sh kube openbao    # a subset
#
# Each server's binaries land in .cache/<server>-<key>/, where <key> hashes that
# module's go.mod and go.sum, its settings below and the Go toolchain. A directory
# that already exists is reused, so a warm run builds nothing. .cache/current/<binary>
# is a symlink to the binary of the last run; stdout gets one "<binary>=<path>" line
# per binary, progress goes to stderr.
#
# Needs only Go (GOTOOLCHAIN=local: the toolchain on PATH is used, never downloaded)
# and the Go module proxy. GOMODCACHE and GOCACHE are the usual persistent ones.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cache=${LOOKOUT_SERVERS_CACHE:-$here/.cache}

export GOTOOLCHAIN=local CGO_ENABLED=0
# Never edit go.mod/go.sum during a build (that would change the key after the
# fact); missing modules are still downloaded. -buildvcs=false: the module
# directories sit inside Lookout's git tree, which says nothing about the servers.
export GOFLAGS="-mod=readonly -buildvcs=false"

all_servers=(kube openbao loki kube-state-metrics)

# --- settings: bump here, then `go mod tidy` in the module, to change a version ---

kube_version=v1.36.3                  # k8s.io/kubernetes in kube/go.mod
kube_build_date=2026-07-22T18:07:38Z  # that release's date, fixed so builds stay reproducible
openbao_version=2.4.0                 # the release at the commit pinned in openbao/go.mod
openbao_commit=f9407a27fbee45f62ba521bba2bf1e2360c61031
openbao_build_date=2025-08-28T20:23:15Z
loki_version=3.7.8                    # github.com/grafana/loki/v3 in loki/go.mod
loki_build_date=2026-09-17T13:31:36Z
ksm_version=2.19.1                    # k8s.io/kube-state-metrics/v2 in kube-state-metrics/go.mod (kube-prometheus' pin)
ksm_commit=45e1513e95beaaa2f2df92af9958cd9837bb66ab
ksm_build_date=2026-06-11T18:22:59Z

# Prints "<binary> <package> <ldflags>" lines for one server.
binaries() {
	case $1 in
	kube)
		local v=k8s.io/component-base/version cv=k8s.io/client-go/pkg/version
		local major=${kube_version#v} minor
		minor=${major#*.}; minor=${minor%%.*}; major=${major%%.*}
		local x=""
		for pkg in $v $cv; do
			x+=" -X $pkg.gitVersion=$kube_version -X $pkg.gitMajor=$major -X $pkg.gitMinor=$minor"
			x+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=$kube_build_date"
		done
		echo "kube-apiserver k8s.io/kubernetes/cmd/kube-apiserver$x"
		# From the same modules, so `kubectl kustomize` and server-side dry runs of manifests/
		# (test/integration/manifests.test.ts) use this Kubernetes release's kustomize and schemas.
		echo "kubectl k8s.io/kubernetes/cmd/kubectl$x"
		# etcd's version is a constant in go.etcd.io/etcd/api/v3/version.
		echo "etcd go.etcd.io/etcd/server/v3"
		;;
	openbao)
		local v=github.com/openbao/openbao/version
		# As OpenBao's release config does, minus the web UI (-tags ui).
		echo "bao github.com/openbao/openbao -X $v.fullVersion=$openbao_version -X $v.GitCommit=$openbao_commit -X $v.BuildDate=$openbao_build_date"
		;;
	loki)
		local v=github.com/grafana/loki/v3/pkg/util/build
		echo "loki github.com/grafana/loki/v3/cmd/loki -X $v.Version=$loki_version -X $v.Branch=release-${loki_version%.*}.x -X $v.BuildDate=$loki_build_date"
		;;
	kube-state-metrics)
		local v=github.com/prometheus/common/version
		# As kube-state-metrics' Makefile stamps it.
		echo "kube-state-metrics k8s.io/kube-state-metrics/v2 -X $v.Version=v$ksm_version -X $v.Revision=$ksm_commit -X $v.Branch=release-${ksm_version%.*} -X $v.BuildDate=$ksm_build_date"
		;;
	*)
		echo "build.sh: unknown server '$1' (known: ${all_servers[*]})" >&2
		return 2
		;;
	esac
}

key_of() {
	local server=$1
	{
		cat "$here/$server/go.mod" "$here/$server/go.sum"
		binaries "$server"
		go env GOVERSION GOOS GOARCH
		echo "CGO_ENABLED=$CGO_ENABLED GOFLAGS=$GOFLAGS -trimpath -s -w"
	} | sha256sum | cut -c1-16
}

build_server() {
	local server=$1 key dir tmp bin pkg x start
	key=$(key_of "$server")
	dir=$cache/$server-$key
	mkdir -p "$cache/current"
	# One builder per server at a time; a second caller waits, then finds the result.
	exec {lock}>"$cache/.lock-$server"
	flock "$lock"
	# Left by a build that was killed (we hold the lock: no other build of it is running).
	rm -rf "$cache/.tmp-$server-"*
	if [[ -d $dir ]]; then
		echo "build.sh: $server is up to date ($dir)" >&2
	else
		start=$SECONDS
		tmp=$(mktemp -d "$cache/.tmp-$server-XXXXXX")
		chmod 755 "$tmp"
		while read -r bin pkg x; do
			echo "build.sh: building $bin ($pkg) ..." >&2
			if ! (cd "$here/$server" && go build -trimpath -ldflags "-s -w $x" -o "$tmp/$bin" "$pkg"); then
				rm -rf "$tmp"
				echo "build.sh: building $bin failed; see the go output above" >&2
				return 1
			fi
		done < <(binaries "$server")
		mv "$tmp" "$dir"
		echo "build.sh: built $server in $((SECONDS - start)) s ($dir)" >&2
	fi
	while read -r bin _; do
		ln -sfn "../$server-$key/$bin" "$cache/current/$bin"
		echo "$bin=$dir/$bin"
	done < <(binaries "$server")
	exec {lock}>&-
}

# Downloads the modules a server's binaries import, if it is not built yet. Run in the background
# while another server compiles: with cold caches the downloads then overlap the compile (network
# beside CPU) instead of following it. Failures are ignored here: the server's own build reports them.
prefetch() {
	local server=$1 pkg
	[[ -d $cache/$server-$(key_of "$server") ]] && return 0
	while read -r _ pkg _; do
		(cd "$here/$server" && go list -deps "$pkg" >/dev/null 2>&1) || true
	done < <(binaries "$server")
}

main() {
	if ! command -v go >/dev/null && [[ -x /usr/local/go/bin/go ]]; then PATH=/usr/local/go/bin:$PATH; fi
	command -v go >/dev/null || { echo "build.sh: go not found on PATH; Go 1.26.5 or newer is needed" >&2; exit 1; }
	local servers=("$@") s
	[[ ${#servers[@]} -gt 0 ]] || servers=("${all_servers[@]}")
	for s in "${servers[@]}"; do binaries "$s" >/dev/null; done
	mkdir -p "$cache"
	local prefetching=()
	for s in "${servers[@]:1}"; do
		prefetch "$s" &
		prefetching+=($!)
	done
	for s in "${servers[@]}"; do build_server "$s"; done
	# Normally long done; never leave one running behind the script.
	[[ ${#prefetching[@]} -eq 0 ]] || wait "${prefetching[@]}"
}

main "$@"
