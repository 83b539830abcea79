// Command nubo-netbench measures port creation through the Networking API:
// N ports on one /16 subnet, created by C concurrent clients over loopback
// HTTP against an in-process cloud (SQLite store in a temp dir, or
// -store postgres://…). It prints ports/s, latency percentiles, and the mean
// and p99 latency per thousand ports, to show whether allocation slows as
// the subnet fills.
//
//	nubo-netbench [-ports 10000] [-concurrency 16] [-dir DIR]
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/nubo-cloud/nubo/internal/cloud"
	"github.com/nubo-cloud/nubo/internal/identity"
	"github.com/nubo-cloud/nubo/internal/store/sqlite"
)

func main() {
	n := flag.Int("ports", 10000, "ports to create")
	conc := flag.Int("concurrency", 16, "concurrent clients")
	dir := flag.String("dir", "", "data dir (default: a temp dir, removed at exit)")
	flag.Parse()
	if err := run(*n, *conc, *dir); err != nil {
		fmt.Fprintln(os.Stderr, "nubo-netbench:", err)
		os.Exit(1)
	}
}

type client struct {
	base, token string
	http        *http.Client
}

func (c *client) do(method, path string, body any, out any) (int, error) {
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, c.base+path, rd)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	if c.token != "" {
		req.Header.Set("X-Auth-Token", c.token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 300 {
		return resp.StatusCode, fmt.Errorf("%s %s: %d %s", method, path, resp.StatusCode, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			return resp.StatusCode, err
		}
	}
	if c.token == "" {
		c.token = resp.Header.Get("X-Subject-Token")
	}
	return resp.StatusCode, nil
}

func run(n, conc int, dir string) error {
	ctx := context.Background()
	if dir == "" {
		d, err := os.MkdirTemp("", "nubo-netbench-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(d)
		dir = d
	}
	st, err := sqlite.Open(ctx, filepath.Join(dir, "nubo.db"))
	if err != nil {
		return err
	}
	defer st.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	url := "http://" + ln.Addr().String()
	cfg := cloud.Config{PublicURL: url, AdminPassword: "netbench-admin", DataDir: dir, Identity: identity.DefaultConfig()}
	cfg.Identity.BcryptCost = 4
	c, err := cloud.New(ctx, st, cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: c.Handler()}
	go srv.Serve(ln) //nolint:errcheck // closed at exit
	defer srv.Close()

	cl := &client{base: url, http: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: conc * 2}}}
	var tok struct {
		Token struct {
			Project struct{ ID string } `json:"project"`
		} `json:"token"`
	}
	auth := map[string]any{"auth": map[string]any{"identity": map[string]any{"methods": []string{"password"}, "password": map[string]any{
		"user": map[string]any{"name": "admin", "password": "netbench-admin", "domain": map[string]string{"name": "Default"}}}},
		"scope": map[string]any{"project": map[string]any{"name": "admin", "domain": map[string]string{"name": "Default"}}}}}
	if _, err := cl.do("POST", "/identity/v3/auth/tokens", auth, &tok); err != nil {
		return err
	}
	project := tok.Token.Project.ID
	if _, err := cl.do("PUT", "/network/v2.0/quotas/"+project, map[string]any{"quota": map[string]int{"port": -1}}, nil); err != nil {
		return err
	}
	var net struct{ Network struct{ ID string } }
	if _, err := cl.do("POST", "/network/v2.0/networks", map[string]any{"network": map[string]any{"name": "bench"}}, &net); err != nil {
		return err
	}
	if _, err := cl.do("POST", "/network/v2.0/subnets", map[string]any{"subnet": map[string]any{"network_id": net.Network.ID, "cidr": "10.20.0.0/16", "ip_version": 4}}, nil); err != nil {
		return err
	}

	lat := make([]time.Duration, n)
	var next atomic.Int64
	var failed atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				t0 := time.Now()
				if _, err := cl.do("POST", "/network/v2.0/ports", map[string]any{"port": map[string]any{"network_id": net.Network.ID}}, nil); err != nil {
					failed.Add(1)
					fmt.Fprintln(os.Stderr, err)
				}
				lat[i] = time.Since(t0)
			}
		}()
	}
	wg.Wait()
	total := time.Since(start)

	w := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(w, "ports\tconcurrency\tfailed\twall\tports/s\tp50\tp90\tp99\tmax\t\n")
	s := slices.Clone(lat)
	slices.Sort(s)
	fmt.Fprintf(w, "%d\t%d\t%d\t%s\t%.0f\t%s\t%s\t%s\t%s\t\n", n, conc, failed.Load(), total.Round(time.Millisecond), float64(n)/total.Seconds(),
		pct(s, 50), pct(s, 90), pct(s, 99), s[len(s)-1].Round(time.Microsecond))
	w.Flush()
	fmt.Println()
	w = tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(w, "ports (in creation order)\tmean\tp99\t\n")
	for lo := 0; lo < n; lo += 1000 {
		hi := min(lo+1000, n)
		b := slices.Clone(lat[lo:hi])
		slices.Sort(b)
		var sum time.Duration
		for _, d := range b {
			sum += d
		}
		fmt.Fprintf(w, "%d-%d\t%s\t%s\t\n", lo+1, hi, (sum / time.Duration(len(b))).Round(time.Microsecond), pct(b, 99))
	}
	return w.Flush()
}

func pct(sorted []time.Duration, p int) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := (len(sorted)*p + 99) / 100
	return sorted[min(max(i-1, 0), len(sorted)-1)].Round(time.Microsecond)
}
