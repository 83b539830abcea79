package consoleproxy_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/nubo-cloud/nubo/internal/consoleproxy"
)

// vncServer plays the server side of an RFB 3.8 handshake (version,
// security type None, ServerInit) on one accepted connection.
func vncServer(t *testing.T, conn net.Conn) {
	t.Helper()
	defer conn.Close()
	if _, err := conn.Write([]byte("RFB 003.008\n")); err != nil {
		t.Error(err)
		return
	}
	buf := make([]byte, 12)
	if _, err := io.ReadFull(conn, buf); err != nil || string(buf) != "RFB 003.008\n" {
		t.Errorf("client version %q, %v", buf, err)
		return
	}
	_, _ = conn.Write([]byte{1, 1}) // one security type: None
	one := make([]byte, 1)
	if _, err := io.ReadFull(conn, one); err != nil || one[0] != 1 {
		t.Errorf("chosen security type %v, %v", one, err)
		return
	}
	_, _ = conn.Write([]byte{0, 0, 0, 0}) // SecurityResult OK
	if _, err := io.ReadFull(conn, one); err != nil {
		t.Errorf("ClientInit: %v", err)
		return
	}
	name := "nubo-test"
	init := []byte{0x03, 0x20, 0x02, 0x58} // 800×600
	init = append(init, make([]byte, 16)...)
	init = append(init, 0, 0, 0, byte(len(name)))
	_, _ = conn.Write(append(init, name...))
	_, _ = io.Copy(io.Discard, conn)
}

type env struct {
	srv    *httptest.Server
	dialed chan consoleproxy.Target
}

func newEnv(t *testing.T, dialErr error) *env {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "vnc_lite.html"), []byte("<html><title>noVNC</title><script></script></html>"), 0o644); err != nil {
		t.Fatal(err)
	}
	e := &env{dialed: make(chan consoleproxy.Target, 4)}
	h := consoleproxy.Handler(consoleproxy.Options{
		Dir: consoleproxy.FindDir(dir),
		Resolve: func(_ context.Context, tok string) (consoleproxy.Target, error) {
			if tok != "good" {
				return consoleproxy.Target{}, consoleproxy.ErrInvalidToken
			}
			return consoleproxy.Target{ServerID: "s1", HostID: "h1"}, nil
		},
		Dial: func(_ context.Context, tg consoleproxy.Target) (net.Conn, error) {
			e.dialed <- tg
			if dialErr != nil {
				return nil, dialErr
			}
			a, b := net.Pipe()
			go vncServer(t, b)
			return a, nil
		},
	})
	mux := http.NewServeMux()
	mux.Handle(consoleproxy.Prefix, h)
	e.srv = httptest.NewServer(mux)
	t.Cleanup(e.srv.Close)
	return e
}

func TestServesNoVNCPage(t *testing.T) {
	e := newEnv(t, nil)
	resp, err := http.Get(e.srv.URL + "/console/vnc_lite.html?path=console%2Fwebsockify%3Ftoken%3Dgood")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !bytes.Contains(body, []byte("noVNC")) {
		t.Fatalf("page: %d %q", resp.StatusCode, body)
	}
	resp, err = http.Get(e.srv.URL + "/console/missing.html")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 404 {
		t.Fatalf("missing file: %d", resp.StatusCode)
	}
}

// TestRelaysRFB: through the WebSocket, a client goes through the RFB
// handshake of the VNC server the token opens, one server message a frame.
func TestRelaysRFB(t *testing.T) {
	e := newEnv(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ws, resp, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(e.srv.URL, "http")+"/console/websockify?token=good",
		&websocket.DialOptions{Subprotocols: []string{"binary"}})
	if err != nil {
		t.Fatal(err)
	}
	defer ws.CloseNow()
	if resp.StatusCode != http.StatusSwitchingProtocols || ws.Subprotocol() != "binary" {
		t.Fatalf("upgrade: %d subprotocol %q", resp.StatusCode, ws.Subprotocol())
	}
	if tg := <-e.dialed; tg.ServerID != "s1" || tg.HostID != "h1" {
		t.Fatalf("dialed %+v", tg)
	}
	read := func() []byte {
		t.Helper()
		typ, b, err := ws.Read(ctx)
		if err != nil || typ != websocket.MessageBinary {
			t.Fatalf("read: %v %v", typ, err)
		}
		return b
	}
	write := func(b []byte) {
		t.Helper()
		if err := ws.Write(ctx, websocket.MessageBinary, b); err != nil {
			t.Fatal(err)
		}
	}
	if v := read(); string(v) != "RFB 003.008\n" {
		t.Fatalf("version %q", v)
	}
	write([]byte("RFB 003.008\n"))
	if st := read(); !bytes.Equal(st, []byte{1, 1}) {
		t.Fatalf("security types %v", st)
	}
	write([]byte{1})
	if res := read(); !bytes.Equal(res, []byte{0, 0, 0, 0}) {
		t.Fatalf("security result %v", res)
	}
	write([]byte{1})
	si := read()
	if len(si) != 24+len("nubo-test") || string(si[24:]) != "nubo-test" || si[0] != 0x03 || si[1] != 0x20 {
		t.Fatalf("ServerInit %v", si)
	}
}

// TestRefusesWithoutData: a bad token or an unreachable console gets a
// bare 403 and a closed connection, never an upgrade.
func TestRefusesWithoutData(t *testing.T) {
	for _, c := range []struct {
		name, token string
		dialErr     error
	}{{"bad token", "bad", nil}, {"no token", "", nil}, {"unreachable", "good", errors.New("no route")}} {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t, c.dialErr)
			conn, err := net.Dial("tcp", strings.TrimPrefix(e.srv.URL, "http://"))
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			req := "GET /console/websockify?token=" + c.token + " HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
				"Sec-WebSocket-Key: x3JJHMbDL1EzLkh9GBhXDw==\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: binary\r\n\r\n"
			if _, err := conn.Write([]byte(req)); err != nil {
				t.Fatal(err)
			}
			_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
			all, err := io.ReadAll(conn) // until the server closes
			if err != nil {
				t.Fatalf("read: %v (the connection must close)", err)
			}
			head, rest, _ := bytes.Cut(all, []byte("\r\n\r\n"))
			if !bytes.HasPrefix(head, []byte("HTTP/1.1 403")) || len(rest) != 0 {
				t.Fatalf("answer %q then %q", head, rest)
			}
		})
	}
}
