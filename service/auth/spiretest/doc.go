// Package spiretest holds the JwtSvid authenticator's end-to-end test
// against a real SPIRE server and agent (scripts/spire-tests.sh runs it):
// the daemon and parsec-tool built with -tags parsec_jwtsvid, workloads
// told apart by the agent's unix workload attestor (uid).
package spiretest
