package qmp

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"net"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// fakeQEMU speaks QMP on one accepted connection: it greets, requires
// qmp_capabilities first, answers "query-status", "echo" (returns its
// arguments), "slow" (after 200 ms, out of order), "fail" (an error) and
// "device_del" (replies, then emits DEVICE_DELETED), and "quit" (emits
// SHUTDOWN and hangs up).
func fakeQEMU(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "qmp.sock")
	l, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			nc, err := l.Accept()
			if err != nil {
				return
			}
			go serveFake(nc)
		}
	}()
	return path
}

func serveFake(nc net.Conn) {
	defer nc.Close()
	var wmu sync.Mutex
	send := func(v any) {
		b, _ := json.Marshal(v)
		wmu.Lock()
		nc.Write(append(b, '\n'))
		wmu.Unlock()
	}
	send(map[string]any{"QMP": map[string]any{
		"version":      map[string]any{"qemu": map[string]int{"major": 7, "minor": 2, "micro": 22}, "package": "test"},
		"capabilities": []string{"oob"},
	}})
	sc := bufio.NewScanner(nc)
	negotiated := false
	for sc.Scan() {
		var req struct {
			Execute   string          `json:"execute"`
			Arguments json.RawMessage `json:"arguments"`
			ID        any             `json:"id"`
		}
		if err := json.Unmarshal(sc.Bytes(), &req); err != nil {
			send(map[string]any{"error": map[string]string{"class": "GenericError", "desc": "bad json"}})
			continue
		}
		ret := func(v any) { send(map[string]any{"return": v, "id": req.ID}) }
		fail := func(class, desc string) {
			send(map[string]any{"error": map[string]string{"class": class, "desc": desc}, "id": req.ID})
		}
		if !negotiated && req.Execute != "qmp_capabilities" {
			fail("CommandNotFound", "Expecting capabilities negotiation with 'qmp_capabilities'")
			continue
		}
		event := func(name string, data any) {
			send(map[string]any{"event": name, "data": data,
				"timestamp": map[string]int64{"seconds": time.Now().Unix(), "microseconds": 1}})
		}
		switch req.Execute {
		case "qmp_capabilities":
			negotiated = true
			ret(map[string]any{})
		case "query-status":
			ret(map[string]any{"status": "running", "running": true})
		case "echo":
			ret(req.Arguments)
		case "slow":
			go func() { time.Sleep(200 * time.Millisecond); ret("slow") }()
		case "fail":
			fail("DeviceNotFound", "Device 'x' not found")
		case "device_del":
			var a struct{ ID string }
			json.Unmarshal(req.Arguments, &a)
			ret(map[string]any{})
			go func() {
				time.Sleep(20 * time.Millisecond)
				event("DEVICE_DELETED", map[string]string{"path": "/machine/peripheral/" + a.ID + "/virtio-backend"})
				event("DEVICE_DELETED", map[string]string{"device": a.ID, "path": "/machine/peripheral/" + a.ID})
			}()
		case "quit":
			ret(map[string]any{})
			event("SHUTDOWN", map[string]any{"guest": false, "reason": "host-qmp-quit"})
			return
		default:
			fail("CommandNotFound", "The command "+req.Execute+" has not been found")
		}
	}
}

func dial(t *testing.T) *Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	c, err := Dial(ctx, fakeQEMU(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func TestHandshakeAndExecute(t *testing.T) {
	c := dial(t)
	if got := c.Greeting().Version(); got != "7.2.22" {
		t.Errorf("version %q", got)
	}
	var st struct {
		Status  string `json:"status"`
		Running bool   `json:"running"`
	}
	if err := c.Execute(t.Context(), "query-status", nil, &st); err != nil {
		t.Fatal(err)
	}
	if st.Status != "running" || !st.Running {
		t.Errorf("status %+v", st)
	}
	var echo map[string]string
	if err := c.Execute(t.Context(), "echo", map[string]string{"a": "b"}, &echo); err != nil || echo["a"] != "b" {
		t.Errorf("echo %v %v", echo, err)
	}
}

func TestErrorReply(t *testing.T) {
	c := dial(t)
	err := c.Execute(t.Context(), "fail", nil, nil)
	var qe *Error
	if !errors.As(err, &qe) || qe.Class != "DeviceNotFound" || !IsClass(err, "DeviceNotFound") {
		t.Fatalf("err = %v", err)
	}
}

func TestConcurrentOutOfOrder(t *testing.T) {
	c := dial(t)
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	wg.Add(1)
	go func() {
		defer wg.Done()
		var s string
		if err := c.Execute(t.Context(), "slow", nil, &s); err != nil || s != "slow" {
			errs <- errors.New("slow: " + s)
		}
	}()
	for i := range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var out map[string]int
			if err := c.Execute(t.Context(), "echo", map[string]int{"i": i}, &out); err != nil || out["i"] != i {
				errs <- errors.New("echo mismatch")
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestContextTimeout(t *testing.T) {
	c := dial(t)
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Millisecond)
	defer cancel()
	if err := c.Execute(ctx, "slow", nil, nil); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v", err)
	}
	// The late reply must not confuse the next command.
	time.Sleep(250 * time.Millisecond)
	if err := c.Execute(t.Context(), "query-status", nil, nil); err != nil {
		t.Fatal(err)
	}
}

func TestEventsToWaiters(t *testing.T) {
	c := dial(t)
	sub := c.Subscribe(func(ev Event) bool {
		var d struct{ Device string }
		json.Unmarshal(ev.Data, &d)
		return d.Device == "disk1"
	}, "DEVICE_DELETED")
	defer sub.Close()
	all := c.Subscribe(nil)
	defer all.Close()
	if err := c.Execute(t.Context(), "device_del", map[string]string{"id": "disk1"}, nil); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
	defer cancel()
	ev, err := sub.Next(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if ev.Name != "DEVICE_DELETED" || ev.Time.IsZero() {
		t.Errorf("event %+v", ev)
	}
	// The unfiltered subscriber saw both events (backend and device).
	for range 2 {
		if _, err := all.Next(ctx); err != nil {
			t.Fatal(err)
		}
	}
}

func TestConnectionLoss(t *testing.T) {
	c := dial(t)
	sub := c.Subscribe(nil, "SHUTDOWN")
	if err := c.Execute(t.Context(), "quit", nil, nil); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
	defer cancel()
	if ev, err := sub.Next(ctx); err != nil || ev.Name != "SHUTDOWN" {
		t.Fatalf("ev %v err %v", ev, err)
	}
	select {
	case <-c.Done():
	case <-ctx.Done():
		t.Fatal("Done not closed after hang-up")
	}
	if err := c.Execute(t.Context(), "query-status", nil, nil); !errors.Is(err, ErrClosed) {
		t.Fatalf("after hang-up: %v", err)
	}
	if _, err := sub.Next(ctx); !errors.Is(err, ErrClosed) {
		t.Fatalf("sub after hang-up: %v", err)
	}
}

func TestDialTimeoutWithoutGreeting(t *testing.T) {
	path := filepath.Join(t.TempDir(), "mute.sock")
	l, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		nc, err := l.Accept()
		if err == nil {
			time.Sleep(time.Second)
			nc.Close()
		}
	}()
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	if _, err := Dial(ctx, path); err == nil {
		t.Fatal("Dial succeeded without a greeting")
	}
	if d := time.Since(start); d > 500*time.Millisecond {
		t.Errorf("Dial took %v", d)
	}
}
