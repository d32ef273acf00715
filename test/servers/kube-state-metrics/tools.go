//go:build tools

// Package tools records the command build.sh compiles, so that `go mod tidy`
// keeps its requirements. It is never compiled.
package tools

import (
	_ "k8s.io/kube-state-metrics/v2"
)
