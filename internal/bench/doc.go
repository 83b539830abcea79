// Package bench measures the performance of a running Nubo server.
//
// It contains three independent building blocks and one suite that
// combines them:
//
//   - a closed-loop HTTP load generator (Run): C workers each send their
//     next request as soon as the previous one has returned, over
//     HTTP/1.1 keep-alive connections from one shared http.Transport. A
//     warm-up period is run but not recorded; afterwards every latency of
//     the measured window is kept, and every response whose status is not
//     the expected one counts as an error and is reported;
//   - statistics over the kept latencies (Percentile, Summarize);
//   - process measurement of the server through /proc (ReadCPUTime,
//     ReadRSS, RSSSampler) and of the benchmark process itself through
//     getrusage(2) (SelfCPUTime), used to derive CPU-ms per request, cores
//     used, idle RSS and maximum RSS under load.
//
// The Identity suite (RunIdentitySuite) drives the Keystone v3 compatible
// API of Nubo (token issue with the password and the token method, token
// validation, project listing) at several concurrency levels, measures the
// bcrypt floor (the CPU cost of one bcrypt.CompareHashAndPassword at the
// server's cost), and renders a markdown report that compares the results
// with the figures of a real Keystone deployment and with Nubo's targets.
//
// StartNubo launches `nubo up` on a temporary data directory and a free
// loopback port so that the benchmark knows the server's PID. The command
// cmd/nubo-bench is a thin flag-parsing wrapper around this package.
//
// Everything here is Linux specific (/proc, getrusage) and is meant for
// benchmarking only; it is not used by the server.
package bench
