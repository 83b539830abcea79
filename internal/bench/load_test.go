package bench

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// countingServer counts requests and new connections; every fifth request
// (if failEvery is 5) answers 500.
type countingServer struct {
	*httptest.Server
	requests  atomic.Int64
	conns     atomic.Int64
	failEvery int64
	delay     time.Duration
	mu        sync.Mutex
	bodies    map[string]int
}

func newCountingServer(t *testing.T, failEvery int64, delay time.Duration) *countingServer {
	cs := &countingServer{failEvery: failEvery, delay: delay, bodies: map[string]int{}}
	cs.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := cs.requests.Add(1)
		b, _ := io.ReadAll(r.Body)
		cs.mu.Lock()
		cs.bodies[r.Method+" "+r.Header.Get("X-Test")+" "+string(b)]++
		cs.mu.Unlock()
		time.Sleep(cs.delay)
		if cs.failEvery > 0 && n%cs.failEvery == 0 {
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		w.Header().Set("X-Subject-Token", "tok")
		w.WriteHeader(http.StatusCreated)
		io.WriteString(w, `{"ok":true}`)
	}))
	cs.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			cs.conns.Add(1)
		}
	}
	cs.Start()
	t.Cleanup(cs.Close)
	return cs
}

func TestRunCountsEveryRequest(t *testing.T) {
	const c = 4
	cs := newCountingServer(t, 0, time.Millisecond)
	var hookStart, hookEnd time.Time
	cfg := Config{
		Client:      &http.Client{Transport: NewTransport(c)},
		Concurrency: c,
		Warmup:      100 * time.Millisecond,
		Duration:    300 * time.Millisecond,
		Request: Request{
			Method: http.MethodPost, URL: cs.URL + "/x",
			Header:       http.Header{"X-Test": {"h"}},
			Body:         []byte(`{"a":1}`),
			ExpectStatus: http.StatusCreated,
		},
		WindowStart: func() { hookStart = time.Now() },
		WindowEnd:   func() { hookEnd = time.Now() },
	}
	t0 := time.Now()
	res, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if d := hookStart.Sub(t0); d < 90*time.Millisecond || d > 150*time.Millisecond {
		t.Errorf("window started %v after Run", d)
	}
	if d := hookEnd.Sub(hookStart); d < 290*time.Millisecond || d > 350*time.Millisecond {
		t.Errorf("window lasted %v", d)
	}
	if res.Errors != 0 || res.WarmupErrors != 0 {
		t.Fatalf("errors: %d/%d %v", res.Errors, res.WarmupErrors, res.ErrorKinds)
	}
	if res.OK == 0 || res.WarmupOK == 0 {
		t.Fatalf("OK = %d, warm-up OK = %d", res.OK, res.WarmupOK)
	}
	if len(res.Latencies) != res.OK {
		t.Errorf("%d latencies for %d successes", len(res.Latencies), res.OK)
	}
	for _, l := range res.Latencies {
		if l < time.Millisecond {
			t.Fatalf("latency %v below the server's 1ms delay", l)
		}
	}
	// Every request the server saw was either recorded (warm-up or
	// window) or completed after the window; each worker can have at
	// most one of the latter.
	served := cs.requests.Load()
	recorded := int64(res.OK + res.WarmupOK)
	if served < recorded || served > recorded+c {
		t.Errorf("server saw %d requests, bench recorded %d (c=%d)", served, recorded, c)
	}
	if want := float64(res.OK) / 0.3; res.Throughput() != want {
		t.Errorf("throughput %v, want %v", res.Throughput(), want)
	}
	// Keep-alive: one connection per worker, none re-dialled.
	if n := cs.conns.Load(); n != c {
		t.Errorf("%d connections for %d workers", n, c)
	}
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if len(cs.bodies) != 1 || cs.bodies[`POST h {"a":1}`] != int(served) {
		t.Errorf("server saw requests %v", cs.bodies)
	}
}

func TestRunCountsErrors(t *testing.T) {
	cs := newCountingServer(t, 5, 0)
	res, err := Run(context.Background(), Config{
		Client:      &http.Client{Transport: NewTransport(2)},
		Concurrency: 2,
		Duration:    200 * time.Millisecond,
		Request:     Request{Method: http.MethodGet, URL: cs.URL, ExpectStatus: http.StatusCreated},
	})
	if err != nil {
		t.Fatal(err)
	}
	total := res.OK + res.Errors
	if res.Errors == 0 || res.ErrorKinds["status 500 (want 201)"] != res.Errors {
		t.Fatalf("errors %d, kinds %v", res.Errors, res.ErrorKinds)
	}
	// One in five fails; allow for the requests cut at the window edges.
	if ratio := float64(res.Errors) / float64(total); ratio < 0.15 || ratio > 0.25 {
		t.Errorf("error ratio %.3f (%d/%d)", ratio, res.Errors, total)
	}
	if len(res.Latencies) != res.OK {
		t.Errorf("%d latencies for %d successes", len(res.Latencies), res.OK)
	}
	if !strings.Contains(res.ErrorSummary(), "status 500") {
		t.Errorf("summary %q", res.ErrorSummary())
	}
}

func TestRunCheckAndWrongStatus(t *testing.T) {
	cs := newCountingServer(t, 0, 0)
	client := &http.Client{Transport: NewTransport(1)}
	res, err := Run(context.Background(), Config{
		Client: client, Concurrency: 1, Duration: 100 * time.Millisecond,
		Request: Request{Method: http.MethodGet, URL: cs.URL, ExpectStatus: http.StatusCreated,
			Check: func(r *http.Response, body []byte) error {
				if string(body) != `{"ok":true}` {
					return errors.New("bad body " + string(body))
				}
				return errors.New("check failed")
			}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.OK != 0 || res.Errors == 0 || res.ErrorKinds["check failed"] != res.Errors {
		t.Errorf("OK %d errors %d kinds %v", res.OK, res.Errors, res.ErrorKinds)
	}
	res, err = Run(context.Background(), Config{
		Client: client, Concurrency: 1, Duration: 100 * time.Millisecond,
		Request: Request{Method: http.MethodGet, URL: cs.URL, ExpectStatus: http.StatusOK},
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.OK != 0 || res.ErrorKinds["status 201 (want 200)"] == 0 {
		t.Errorf("OK %d kinds %v", res.OK, res.ErrorKinds)
	}
}

func TestRunTransportErrors(t *testing.T) {
	addr, err := FreeLoopbackAddr()
	if err != nil {
		t.Fatal(err)
	}
	res, err := Run(context.Background(), Config{
		Client: &http.Client{Transport: NewTransport(2)}, Concurrency: 2, Duration: 100 * time.Millisecond,
		Request: Request{Method: http.MethodGet, URL: "http://" + addr + "/", ExpectStatus: http.StatusOK},
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.OK != 0 || res.Errors == 0 || !strings.Contains(res.ErrorSummary(), "transport:") {
		t.Errorf("OK %d errors %d: %s", res.OK, res.Errors, res.ErrorSummary())
	}
}

func TestRunCancel(t *testing.T) {
	cs := newCountingServer(t, 0, 0)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	t0 := time.Now()
	_, err := Run(ctx, Config{
		Client: &http.Client{Transport: NewTransport(1)}, Concurrency: 1, Duration: 10 * time.Second,
		Request: Request{Method: http.MethodGet, URL: cs.URL, ExpectStatus: http.StatusCreated},
	})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v", err)
	}
	if time.Since(t0) > 2*time.Second {
		t.Errorf("cancel took %v", time.Since(t0))
	}
}

func TestRunInvalidConfig(t *testing.T) {
	good := Config{Client: http.DefaultClient, Concurrency: 1, Duration: time.Second,
		Request: Request{Method: "GET", URL: "http://127.0.0.1/", ExpectStatus: 200}}
	for name, mut := range map[string]func(*Config){
		"nil client":  func(c *Config) { c.Client = nil },
		"concurrency": func(c *Config) { c.Concurrency = 0 },
		"duration":    func(c *Config) { c.Duration = 0 },
		"status":      func(c *Config) { c.Request.ExpectStatus = 0 },
		"method":      func(c *Config) { c.Request.Method = "BAD METHOD" },
	} {
		c := good
		mut(&c)
		if _, err := Run(context.Background(), c); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestFormat(t *testing.T) {
	for in, want := range map[float64]string{0: "0.0", 6.94: "6.9", 999.96: "1,000.0", 12345.67: "12,345.7", 1234567: "1,234,567.0"} {
		if got := fmtRate(in); got != want {
			t.Errorf("fmtRate(%v) = %q, want %q", in, got, want)
		}
	}
	for in, want := range map[time.Duration]string{
		123456 * time.Nanosecond: "0.123", 12345678 * time.Nanosecond: "12.35", 264 * time.Millisecond: "264.0",
	} {
		if got := fmtMS(in); got != want {
			t.Errorf("fmtMS(%v) = %q, want %q", in, got, want)
		}
	}
}
